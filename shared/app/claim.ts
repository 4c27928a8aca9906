import { decideClaim, type ClaimVerdict } from "../domain/claim";
import type { RelayRequest } from "../domain/model";
import { requireCallbackToken } from "./callback-auth";
import { claimBodySchema } from "./claim-schema";
import type { Invocation, RelayDeps } from "./deps";
import { conflict, notFound } from "./errors";
import { updateRequest } from "./request-records";
import { parseBody } from "./validation";

export interface ClaimInput {
  storeId: string;
  requestId: string;
  authorization: string | null;
  body: string;
}

export interface ClaimAnswer {
  requestId: string;
  proceed: true;
  runId: string;
}

/**
 * A flow run asks whether it may create the approval (CONTRACT 4b). The first run to claim wins
 * through an ETag-conditional write; the same run again gets the same answer; any other run, or
 * any run once the request is decided or final, is told to end (409, `proceed: false`).
 */
export async function claimRequest(
  deps: RelayDeps,
  input: ClaimInput,
  { log }: Invocation,
): Promise<ClaimAnswer> {
  requireCallbackToken(deps, input);
  const claim = parseBody(claimBodySchema, input.body);

  let verdict: ClaimVerdict | undefined;
  const decide = (current: RelayRequest) => {
    verdict = decideClaim(current, claim, deps.clock.now());
    return verdict.kind === "proceed" ? verdict.request : undefined;
  };
  // The dispatcher's record of the call is usually the version to claim, if this instance wrote it.
  const guess = deps.requests.lastWritten(input.storeId, input.requestId);
  const result = await updateRequest(deps, input.storeId, input.requestId, decide, { guess });
  if (!result || !verdict) throw notFound(`request ${input.requestId} is not known to the relay`);

  const request = result.request;
  const requestLog = log.with({ workflowId: request.workflowId, runId: claim.runId });
  const answer: ClaimAnswer = { requestId: request.requestId, proceed: true, runId: claim.runId };
  switch (verdict.kind) {
    case "proceed": {
      requestLog.info("claimed by a flow run: it may start the approval");
      // Seen to claim: reconciliation may now call this flow again when a run never claims.
      const link = await deps.links.get(request.storeId, request.workflowId);
      if (link && !link.claims) await deps.links.markClaiming(request.storeId, request.workflowId);
      return answer;
    }
    case "again":
      requestLog.info("the same run claimed again: same answer");
      return answer;
    case "taken":
      requestLog.warn("a second run of the request was refused: it ends without an approval", {
        claimedBy: verdict.claimedBy,
      });
      throw conflict(`run ${verdict.claimedBy} claimed this request first`, {
        requestId: request.requestId,
        proceed: false,
        claimedBy: verdict.claimedBy,
        state: request.state,
      });
    case "closed":
      requestLog.info("a claim after the request was decided or closed was refused", {
        state: verdict.state,
      });
      throw conflict(`the request is ${verdict.state}: no approval may start for it`, {
        requestId: request.requestId,
        proceed: false,
        state: verdict.state,
      });
  }
}
