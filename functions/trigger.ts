import { app } from "@azure/functions";
import { httpHandler } from "../shared/runtime";

/** Called by Directory Manager in place of the flow's URL; `?sig=` is the link's trigger key. */
app.http("trigger", {
  route: "stores/{storeId}/workflows/{workflowId}/trigger",
  methods: ["POST"],
  authLevel: "anonymous",
  handler: httpHandler(async (request, { deps, log, useCases, routeIds, json }) => {
    const ids = routeIds(request.params, ["storeId", "workflowId"]);
    const accepted = await useCases.acceptTrigger(
      deps,
      {
        ...ids,
        key: request.query.get("sig"),
        contentType: request.headers.get("content-type"),
        body: await request.text(),
      },
      { log: log.with(ids) },
    );
    return json(202, accepted);
  }),
});
