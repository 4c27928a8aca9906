import { app } from "@azure/functions";
import { httpHandler } from "../shared/runtime";

/** Creates the workflow's flow in the store's environment, turns it on and links it. */
app.http("createFlow", {
  route: "stores/{storeId}/workflows/{workflowId}/flow/create",
  methods: ["POST"],
  authLevel: "admin",
  handler: httpHandler(async (request, { deps, useCases, routeIds, json }) => {
    const { storeId, workflowId } = routeIds(request.params, ["storeId", "workflowId"]);
    return json(200, await useCases.createFlow(deps, storeId, workflowId, await request.text()));
  }),
});
