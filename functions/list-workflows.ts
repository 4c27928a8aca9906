import { app } from "@azure/functions";
import { adminRoute } from "../shared/runtime";

/** The store's workflow links, each as `GET .../flow` shows it: without secrets. */
app.http(
  "listWorkflows",
  adminRoute({
    route: "stores/{storeId}/workflows",
    methods: ["GET"],
    handler: async (request, { deps, useCases, routeIds, json }) => {
      const { storeId } = routeIds(request.params, ["storeId"]);
      return json(200, await useCases.listLinks(deps, storeId));
    },
  }),
);
