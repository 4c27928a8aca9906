import { app } from "@azure/functions";
import { adminRoute } from "../shared/runtime";

app.http(
  "getLink",
  adminRoute({
    route: "stores/{storeId}/workflows/{workflowId}/flow",
    methods: ["GET"],
    handler: async (request, { deps, useCases, routeIds, json }) => {
      const { storeId, workflowId } = routeIds(request.params, ["storeId", "workflowId"]);
      return json(200, await useCases.getLink(deps, storeId, workflowId));
    },
  }),
);
