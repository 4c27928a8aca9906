import { app } from "@azure/functions";
import { httpHandler } from "../shared/runtime";

app.http("getStore", {
  route: "stores/{storeId}/power-automate",
  methods: ["GET"],
  authLevel: "admin",
  handler: httpHandler(async (request, { deps, useCases, routeIds, json }) => {
    const { storeId } = routeIds(request.params, ["storeId"]);
    return json(200, await useCases.getStore(deps, storeId));
  }),
});
