import { app } from "@azure/functions";
import { adminRoute } from "../shared/runtime";

/** The workflow's flow as a definition (JSON) or, with `?format=solution`, a solution zip. */
app.http(
  "flowTemplate",
  adminRoute({
    route: "stores/{storeId}/workflows/{workflowId}/flow-template",
    methods: ["GET"],
    handler: async (request, { deps, useCases, routeIds, json }) => {
      const { storeId, workflowId } = routeIds(request.params, ["storeId", "workflowId"]);
      const answer = await useCases.getFlowTemplate(deps, storeId, workflowId, request.query);
      if (answer.format === "definition") return json(200, answer.template);
      return {
        status: 200,
        body: answer.zip,
        headers: {
          "content-type": "application/zip",
          "content-disposition": `attachment; filename="${answer.fileName}"`,
          "cache-control": "no-store",
        },
      };
    },
  }),
);
