import { app } from "@azure/functions";
import { httpHandler } from "../shared/runtime";

app.http("redrive", {
  route: "stores/{storeId}/requests/{requestId}/redrive",
  methods: ["POST"],
  authLevel: "admin",
  handler: httpHandler(async (request, { deps, log, useCases, routeIds, json }) => {
    const ids = routeIds(request.params, ["storeId", "requestId"]);
    return json(
      202,
      await useCases.redriveRequest(deps, ids.storeId, ids.requestId, { log: log.with(ids) }),
    );
  }),
});
