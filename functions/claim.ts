import { app } from "@azure/functions";
import { httpHandler } from "../shared/runtime";

/** Called by the flow first of all: may this run create the approval? (CONTRACT 4b) */
app.http("claim", {
  route: "stores/{storeId}/requests/{requestId}/claim",
  methods: ["POST"],
  authLevel: "anonymous",
  handler: httpHandler(async (request, { deps, log, useCases, routeIds, json }) => {
    const ids = routeIds(request.params, ["storeId", "requestId"]);
    const answer = await useCases.claimRequest(
      deps,
      { ...ids, authorization: request.headers.get("authorization"), body: await request.text() },
      { log: log.with(ids) },
    );
    return json(200, answer);
  }),
});
