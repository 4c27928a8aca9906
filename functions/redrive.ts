import { app } from "@azure/functions";
import { redriveRequest } from "../shared/app/requests";
import { httpHandler } from "../shared/http/handler";
import { json } from "../shared/http/responses";
import { routeIds } from "../shared/http/route-ids";

app.http("redrive", {
  route: "stores/{storeId}/requests/{requestId}/redrive",
  methods: ["POST"],
  authLevel: "admin",
  handler: httpHandler(async (request, deps, log) => {
    const ids = routeIds(request.params, ["storeId", "requestId"]);
    return json(
      202,
      await redriveRequest(deps, ids.storeId, ids.requestId, { log: log.with(ids) }),
    );
  }),
});
