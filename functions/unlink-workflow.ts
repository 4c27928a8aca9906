import { app } from "@azure/functions";
import { unlinkWorkflow } from "../shared/app/links";
import { httpHandler } from "../shared/http/handler";
import { routeIds } from "../shared/http/route-ids";

app.http("unlinkWorkflow", {
  route: "stores/{storeId}/workflows/{workflowId}/flow",
  methods: ["DELETE"],
  authLevel: "admin",
  handler: httpHandler(async (request, deps) => {
    const { storeId, workflowId } = routeIds(request.params, ["storeId", "workflowId"]);
    await unlinkWorkflow(deps, storeId, workflowId);
    return { status: 204 };
  }),
});
