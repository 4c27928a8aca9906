import { app } from "@azure/functions";
import { httpHandler } from "../shared/runtime";

app.http("linkWorkflow", {
  route: "stores/{storeId}/workflows/{workflowId}/flow",
  methods: ["PUT"],
  authLevel: "admin",
  handler: httpHandler(async (request, { deps, useCases, routeIds, json }) => {
    const { storeId, workflowId } = routeIds(request.params, ["storeId", "workflowId"]);
    return json(200, await useCases.linkWorkflow(deps, storeId, workflowId, await request.text()));
  }),
});
