import { app } from "@azure/functions";
import { httpHandler } from "../shared/runtime";

/** Called by the flow with the approval's outcome and the callback token it was given. */
app.http("decision", {
  route: "stores/{storeId}/requests/{requestId}/decision",
  methods: ["POST"],
  authLevel: "anonymous",
  handler: httpHandler(async (request, { deps, log, useCases, routeIds, json }) => {
    const ids = routeIds(request.params, ["storeId", "requestId"]);
    const answer = await useCases.recordDecision(
      deps,
      {
        ...ids,
        authorization: request.headers.get("authorization"),
        runId: request.headers.get("x-relay-run-id"),
        body: await request.text(),
      },
      { log: log.with(ids) },
    );
    return json(answer.recorded ? 202 : 200, answer.body);
  }),
});
