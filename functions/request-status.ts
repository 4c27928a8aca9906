import { app } from "@azure/functions";
import { adminRoute } from "../shared/runtime";

app.http(
  "requestStatus",
  adminRoute({
    route: "stores/{storeId}/requests/{requestId}",
    methods: ["GET"],
    handler: async (request, { deps, useCases, routeIds, json }) => {
      const { storeId, requestId } = routeIds(request.params, ["storeId", "requestId"]);
      return json(200, await useCases.getRequestStatus(deps, storeId, requestId));
    },
  }),
);
