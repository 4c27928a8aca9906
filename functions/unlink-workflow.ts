import { app } from "@azure/functions";
import { adminRoute } from "../shared/runtime";

app.http(
  "unlinkWorkflow",
  adminRoute({
    route: "stores/{storeId}/workflows/{workflowId}/flow",
    methods: ["DELETE"],
    handler: async (request, { deps, useCases, routeIds }) => {
      const { storeId, workflowId } = routeIds(request.params, ["storeId", "workflowId"]);
      await useCases.unlinkWorkflow(deps, storeId, workflowId);
      return { status: 204 };
    },
  }),
);
