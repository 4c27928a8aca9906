import { app } from "@azure/functions";
import { httpHandler } from "../shared/runtime";

app.http("getLink", {
  route: "stores/{storeId}/workflows/{workflowId}/flow",
  methods: ["GET"],
  authLevel: "admin",
  handler: httpHandler(async (request, { deps, useCases, routeIds, json }) => {
    const { storeId, workflowId } = routeIds(request.params, ["storeId", "workflowId"]);
    return json(200, await useCases.getLink(deps, storeId, workflowId));
  }),
});
