import { app } from "@azure/functions";
import { httpHandler } from "../shared/runtime";

app.http("unlinkWorkflow", {
  route: "stores/{storeId}/workflows/{workflowId}/flow",
  methods: ["DELETE"],
  authLevel: "admin",
  handler: httpHandler(async (request, { deps, useCases, routeIds }) => {
    const { storeId, workflowId } = routeIds(request.params, ["storeId", "workflowId"]);
    await useCases.unlinkWorkflow(deps, storeId, workflowId);
    return { status: 204 };
  }),
});
