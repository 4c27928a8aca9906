import { app } from "@azure/functions";
import { createFlow } from "../shared/app/flow-setup";
import { httpHandler } from "../shared/http/handler";
import { json } from "../shared/http/responses";
import { routeIds } from "../shared/http/route-ids";

/** Creates the workflow's flow in the store's environment, turns it on and links it. */
app.http("createFlow", {
  route: "stores/{storeId}/workflows/{workflowId}/flow/create",
  methods: ["POST"],
  authLevel: "admin",
  handler: httpHandler(async (request, deps) => {
    const { storeId, workflowId } = routeIds(request.params, ["storeId", "workflowId"]);
    return json(200, await createFlow(deps, storeId, workflowId, await request.text()));
  }),
});
