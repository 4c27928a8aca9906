import { app } from "@azure/functions";
import { getStore } from "../shared/app/stores";
import { httpHandler } from "../shared/http/handler";
import { json } from "../shared/http/responses";
import { routeIds } from "../shared/http/route-ids";

app.http("getStore", {
  route: "stores/{storeId}/power-automate",
  methods: ["GET"],
  authLevel: "admin",
  handler: httpHandler(async (request, deps) => {
    const { storeId } = routeIds(request.params, ["storeId"]);
    return json(200, await getStore(deps, storeId));
  }),
});
