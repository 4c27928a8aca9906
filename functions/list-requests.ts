import { app } from "@azure/functions";
import { adminRoute } from "../shared/runtime";

app.http(
  "listRequests",
  adminRoute({
    route: "stores/{storeId}/requests",
    methods: ["GET"],
    handler: async (request, { deps, useCases, routeIds, json }) => {
      const { storeId } = routeIds(request.params, ["storeId"]);
      return json(200, await useCases.listRequests(deps, storeId, request.query.get("state")));
    },
  }),
);
