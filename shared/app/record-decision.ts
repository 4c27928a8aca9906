import { normaliseDecision } from "../domain/decision";
import { FINAL_STATES, transition } from "../domain/lifecycle";
import type { Decision, Outcome, RelayRequest } from "../domain/model";
import type { Invocation, RelayDeps } from "./deps";
import { requireCallbackToken } from "./callback-auth";
import { conflict, invalid, notFound, unavailable } from "./errors";
import { sendStep, updateRequest } from "./request-records";

export interface DecisionInput {
  storeId: string;
  requestId: string;
  authorization: string | null;
  /** `x-relay-run-id`: the run that sends the decision, when the flow names it. */
  runId: string | null;
  body: string;
}

export interface DecisionAnswer {
  /** true for the first recording (202), false for a repeat of the same decision (200). */
  recorded: boolean;
  body: { requestId: string; decision: Outcome; status: string };
}

/**
 * The flow's answer. The first decision wins through an ETag-conditional write; the same
 * decision again changes nothing; a different one, or one after DM decided, is a conflict.
 */
export async function recordDecision(
  deps: RelayDeps,
  input: DecisionInput,
  { log }: Invocation,
): Promise<DecisionAnswer> {
  requireCallbackToken(deps, input);
  const decision = parseDecision(input.body, deps.clock.now());
  const runId = input.runId?.trim() || undefined;
  let otherRun: string | undefined;
  const decide = (current: RelayRequest) => {
    // Only the run that claimed the request may decide it (CONTRACT 4b).
    otherRun = runId && current.flowRun && current.flowRun.runId !== runId ? runId : undefined;
    if (otherRun || current.decision || FINAL_STATES.has(current.state)) return undefined;
    const next = transition(current, { type: "decided", decision }, deps.clock.now());
    return next.ok ? next.request : undefined;
  };
  // The claim's record is usually the version to decide, if this instance wrote it.
  const guess = deps.requests.lastWritten(input.storeId, input.requestId);
  const result = await updateRequest(deps, input.storeId, input.requestId, decide, { guess });
  if (!result) throw notFound(`request ${input.requestId} is not known to the relay`);

  const request = result.request;
  if (otherRun)
    throw conflict(
      `run ${otherRun} did not claim this request: run ${request.flowRun?.runId} did`,
      { requestId: request.requestId, state: request.state, claimedBy: request.flowRun?.runId },
    );
  const requestLog = log.with({ workflowId: request.workflowId });
  if (result.changed) {
    await queueApply(deps, request, requestLog);
    requestLog.info(`decision recorded: ${decision.outcome}`);
    return { recorded: true, body: answerBody(request, decision.outcome) };
  }
  if (
    request.state === "superseded" ||
    request.state === "expired" ||
    request.decision?.outcome !== decision.outcome
  )
    throw standingConflict(request);
  // A repeat while the first apply message may not have gone out: send it again (same id).
  if (request.state === "decided" && request.attempts.apply === 0)
    await queueApply(deps, request, requestLog);
  requestLog.info("repeated decision: nothing changes");
  return { recorded: false, body: answerBody(request, decision.outcome) };
}

function parseDecision(body: string, now: Date): Decision {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw invalid("the decision body is not JSON", [{ path: "/", message: "must be valid JSON" }]);
  }
  const parsed = normaliseDecision(json, now);
  if (!parsed.ok) throw invalid("the decision body is not valid", parsed.errors);
  return parsed.value;
}

async function queueApply(
  deps: RelayDeps,
  request: RelayRequest,
  log: Invocation["log"],
): Promise<void> {
  try {
    await sendStep(deps, "apply", request, 1);
  } catch (error) {
    log.error("decision recorded but could not be queued", { error: String(error) });
    throw unavailable("the decision is recorded but could not be queued; send it again");
  }
}

function answerBody(request: RelayRequest, outcome: Outcome): DecisionAnswer["body"] {
  return { requestId: request.requestId, decision: outcome, status: "decided" };
}

function standingConflict(request: RelayRequest) {
  if (request.state === "expired")
    return conflict("the request expired before a decision arrived", {
      requestId: request.requestId,
      state: request.state,
    });
  const decision = request.decision;
  const decidedBy =
    request.state === "superseded"
      ? "Directory Manager"
      : (decision?.approver?.email ??
        decision?.approver?.displayName ??
        "an approver in Power Automate");
  const detail =
    request.state === "superseded"
      ? "Directory Manager had already decided this request"
      : `the request was already ${decision?.outcome} by ${decidedBy}`;
  return conflict(detail, {
    requestId: request.requestId,
    state: request.state,
    decision: request.state === "superseded" ? request.dmOutcome : decision?.outcome,
    decidedBy,
    ...(decision?.approver && { approver: decision.approver }),
  });
}
