import { FINAL_STATES, transition } from "./lifecycle";
import type { RelayRequest, RequestState } from "./model";

/** What a run of the flow tells about itself when it claims a request (CONTRACT 4b). */
export interface RunClaim {
  runId: string;
  flowName: string;
  environmentName: string;
}

export type ClaimVerdict =
  /** The first claim: the request to store, with the run recorded. */
  | { kind: "proceed"; request: RelayRequest }
  /** The same run claimed before (Power Automate retried its call): nothing changes. */
  | { kind: "again" }
  /** Another run of the same request claimed first: this one must end without an approval. */
  | { kind: "taken"; claimedBy: string }
  /** The request is decided or final: no run may start an approval any more. */
  | { kind: "closed"; state: RequestState };

/**
 * Whether a run may go on to create the approval: only the first run to claim an undecided,
 * open request may, and a retry of that same run's claim gets the same answer.
 */
export function decideClaim(request: RelayRequest, claim: RunClaim, at: Date): ClaimVerdict {
  if (request.decision || FINAL_STATES.has(request.state))
    return { kind: "closed", state: request.state };
  if (request.flowRun)
    return request.flowRun.runId === claim.runId
      ? { kind: "again" }
      : { kind: "taken", claimedBy: request.flowRun.runId };
  const next = transition(
    request,
    { type: "claimed", run: { ...claim, claimedAt: at.toISOString() } },
    at,
  );
  return next.ok
    ? { kind: "proceed", request: next.request }
    : { kind: "closed", state: request.state };
}

/** Where an administrator sees the run in the Power Automate portal. */
export function flowRunPortalUrl(run: RunClaim): string {
  return (
    `https://make.powerautomate.com/environments/${encodeURIComponent(run.environmentName)}` +
    `/flows/${encodeURIComponent(run.flowName)}/runs/${encodeURIComponent(run.runId)}`
  );
}
