import { app } from "@azure/functions";
import { adminRoute } from "../shared/runtime";

app.http(
  "linkWorkflow",
  adminRoute({
    route: "stores/{storeId}/workflows/{workflowId}/flow",
    methods: ["PUT"],
    handler: async (request, { deps, useCases, routeIds, json, audit }) => {
      const { storeId, workflowId } = routeIds(request.params, ["storeId", "workflowId"]);
      const body = await request.text();
      const link = await useCases.linkWorkflow(deps, storeId, workflowId, body);
      // linkWorkflow accepted the body, so it is a JSON object; a rotation is its own change.
      if ((JSON.parse(body) as { rotateTriggerKey?: unknown }).rotateTriggerKey === true)
        audit({ rotateTriggerKey: true });
      return json(200, link);
    },
  }),
);
