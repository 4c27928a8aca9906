import { app } from "@azure/functions";
import { listRequests } from "../shared/app/requests";
import { httpHandler } from "../shared/http/handler";
import { json } from "../shared/http/responses";
import { routeIds } from "../shared/http/route-ids";

app.http("listRequests", {
  route: "stores/{storeId}/requests",
  methods: ["GET"],
  authLevel: "admin",
  handler: httpHandler(async (request, deps) => {
    const { storeId } = routeIds(request.params, ["storeId"]);
    return json(200, await listRequests(deps, storeId, request.query.get("state")));
  }),
});
