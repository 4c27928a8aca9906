import { app } from "@azure/functions";
import { recordDecision } from "../shared/app/record-decision";
import { httpHandler } from "../shared/http/handler";
import { json } from "../shared/http/responses";
import { routeIds } from "../shared/http/route-ids";

/** Called by the flow with the approval's outcome and the callback token it was given. */
app.http("decision", {
  route: "stores/{storeId}/requests/{requestId}/decision",
  methods: ["POST"],
  authLevel: "anonymous",
  handler: httpHandler(async (request, deps, log) => {
    const ids = routeIds(request.params, ["storeId", "requestId"]);
    const answer = await recordDecision(
      deps,
      { ...ids, authorization: request.headers.get("authorization"), body: await request.text() },
      { log: log.with(ids) },
    );
    return json(answer.recorded ? 202 : 200, answer.body);
  }),
});
