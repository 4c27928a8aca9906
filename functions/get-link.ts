import { app } from "@azure/functions";
import { getLink } from "../shared/app/links";
import { httpHandler } from "../shared/http/handler";
import { json } from "../shared/http/responses";
import { routeIds } from "../shared/http/route-ids";

app.http("getLink", {
  route: "stores/{storeId}/workflows/{workflowId}/flow",
  methods: ["GET"],
  authLevel: "admin",
  handler: httpHandler(async (request, deps) => {
    const { storeId, workflowId } = routeIds(request.params, ["storeId", "workflowId"]);
    return json(200, await getLink(deps, storeId, workflowId));
  }),
});
