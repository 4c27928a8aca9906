import { app } from "@azure/functions";
import { httpHandler } from "../shared/runtime";

app.http("registerStore", {
  route: "stores/{storeId}/power-automate",
  methods: ["PUT"],
  authLevel: "admin",
  handler: httpHandler(async (request, { deps, useCases, routeIds, json }) => {
    const { storeId } = routeIds(request.params, ["storeId"]);
    return json(200, await useCases.registerStore(deps, storeId, await request.text()));
  }),
});
