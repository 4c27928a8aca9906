import { app } from "@azure/functions";
import { httpHandler } from "../shared/runtime";

app.http("listRequests", {
  route: "stores/{storeId}/requests",
  methods: ["GET"],
  authLevel: "admin",
  handler: httpHandler(async (request, { deps, useCases, routeIds, json }) => {
    const { storeId } = routeIds(request.params, ["storeId"]);
    return json(200, await useCases.listRequests(deps, storeId, request.query.get("state")));
  }),
});
