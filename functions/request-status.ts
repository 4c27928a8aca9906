import { app } from "@azure/functions";
import { httpHandler } from "../shared/runtime";

app.http("requestStatus", {
  route: "stores/{storeId}/requests/{requestId}",
  methods: ["GET"],
  authLevel: "admin",
  handler: httpHandler(async (request, { deps, useCases, routeIds, json }) => {
    const { storeId, requestId } = routeIds(request.params, ["storeId", "requestId"]);
    return json(200, await useCases.getRequestStatus(deps, storeId, requestId));
  }),
});
