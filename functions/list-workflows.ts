import { app } from "@azure/functions";
import { httpHandler } from "../shared/runtime";

/** The store's workflow links, each as `GET .../flow` shows it: without secrets. */
app.http("listWorkflows", {
  route: "stores/{storeId}/workflows",
  methods: ["GET"],
  authLevel: "admin",
  handler: httpHandler(async (request, { deps, useCases, routeIds, json }) => {
    const { storeId } = routeIds(request.params, ["storeId"]);
    return json(200, await useCases.listLinks(deps, storeId));
  }),
});
