import { app } from "@azure/functions";
import { adminRoute } from "../shared/runtime";

app.http(
  "redrive",
  adminRoute({
    route: "stores/{storeId}/requests/{requestId}/redrive",
    methods: ["POST"],
    handler: async (request, { deps, log, actor, useCases, routeIds, json }) => {
      const ids = routeIds(request.params, ["storeId", "requestId"]);
      return json(
        202,
        await useCases.redriveRequest(deps, ids.storeId, ids.requestId, {
          log: log.with(ids),
          actor,
        }),
      );
    },
  }),
);
