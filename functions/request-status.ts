import { app } from "@azure/functions";
import { getRequestStatus } from "../shared/app/requests";
import { httpHandler } from "../shared/http/handler";
import { json } from "../shared/http/responses";
import { routeIds } from "../shared/http/route-ids";

app.http("requestStatus", {
  route: "stores/{storeId}/requests/{requestId}",
  methods: ["GET"],
  authLevel: "admin",
  handler: httpHandler(async (request, deps) => {
    const { storeId, requestId } = routeIds(request.params, ["storeId", "requestId"]);
    return json(200, await getRequestStatus(deps, storeId, requestId));
  }),
});
