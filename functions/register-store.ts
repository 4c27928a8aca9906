import { app } from "@azure/functions";
import { adminRoute } from "../shared/runtime";

app.http(
  "registerStore",
  adminRoute({
    route: "stores/{storeId}/power-automate",
    methods: ["PUT"],
    handler: async (request, { deps, useCases, routeIds, json }) => {
      const { storeId } = routeIds(request.params, ["storeId"]);
      return json(200, await useCases.registerStore(deps, storeId, await request.text()));
    },
  }),
);
