import { app } from "@azure/functions";
import { acceptTrigger } from "../shared/app/accept-trigger";
import { httpHandler } from "../shared/http/handler";
import { json } from "../shared/http/responses";
import { routeIds } from "../shared/http/route-ids";

/** Called by Directory Manager in place of the flow's URL; `?sig=` is the link's trigger key. */
app.http("trigger", {
  route: "stores/{storeId}/workflows/{workflowId}/trigger",
  methods: ["POST"],
  authLevel: "anonymous",
  handler: httpHandler(async (request, deps, log) => {
    const ids = routeIds(request.params, ["storeId", "workflowId"]);
    const accepted = await acceptTrigger(
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
