import { app } from "@azure/functions";
import { adminRoute } from "../shared/runtime";

/** Creates the workflow's flow in the store's environment, turns it on and links it. */
app.http(
  "createFlow",
  adminRoute({
    route: "stores/{storeId}/workflows/{workflowId}/flow/create",
    methods: ["POST"],
    handler: async (request, { deps, useCases, routeIds, json }) => {
      const { storeId, workflowId } = routeIds(request.params, ["storeId", "workflowId"]);
      return json(200, await useCases.createFlow(deps, storeId, workflowId, await request.text()));
    },
  }),
);
