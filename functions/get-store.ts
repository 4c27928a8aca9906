import { app } from "@azure/functions";
import { adminRoute } from "../shared/runtime";

app.http(
  "getStore",
  adminRoute({
    route: "stores/{storeId}/power-automate",
    methods: ["GET"],
    handler: async (request, { deps, useCases, routeIds, json }) => {
      const { storeId } = routeIds(request.params, ["storeId"]);
      return json(200, await useCases.getStore(deps, storeId));
    },
  }),
);
