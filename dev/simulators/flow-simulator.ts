import { randomInt } from "node:crypto";
import { CALLBACK_RETRY_POLICY, CLAIM_RETRY_POLICY } from "../../shared/domain/flow-template";
import { serve, type ReceivedRequest, type Reply, type RunningServer } from "./http-util";

/** How the simulated approver answers, in the output shape of "Start and wait for an approval". */
export interface ApproverAnswer {
  outcome: "Approve" | "Reject";
  email?: string;
  comments?: string;
  delayMs?: number;
}

/**
 * What a run does before its approval: `claim` as the relay's template does (CONTRACT 4b),
 * `skip` as a hand-made flow without the claim step, `stall` a run that never gets to its first
 * action (it neither claims nor starts an approval, as a run Power Automate keeps waiting).
 */
export type ClaimStep = "claim" | "skip" | "stall";

export interface FlowSimulatorOptions {
  port?: number;
  /** The flow's HTTP answer to each trigger call (default 202 with the run's id). */
  respond?: (call: ReceivedRequest, callNumber: number) => Reply | "hang";
  /** What the approver decides once a run started its approval; undefined: nobody answers. */
  approver?: (call: ReceivedRequest) => ApproverAnswer | undefined;
  /**
   * The run's first step (default: `claim` when the relay's call carries `x-relay-claim-url`,
   * else `skip`, since a relay that offers no claim has no claim route either).
   */
  claim?: (call: ReceivedRequest, callNumber: number) => ClaimStep;
  /** How long a run takes to get to its claim (Power Automate may start a run late); default 0. */
  claimDelayMs?: (call: ReceivedRequest) => number;
  /** `workflow()['name']` of the flow, which its claims name (default: a fixed GUID). */
  flowName?: string;
  /** `workflow()['tags']['environmentName']` (default: a default environment's name). */
  environmentName?: string;
  log?: (line: string) => void;
}

/** How a simulated run ended, with Power Automate's run statuses. */
export type FlowRunStatus = "Running" | "Succeeded" | "Cancelled" | "Failed";

export interface FlowRun {
  runId: string;
  requestId: string;
  /** The call that started the run (1-based over all calls). */
  callNumber: number;
  /** `x-ms-client-tracking-id` of the call: Power Automate's client tracking id of the run. */
  clientTrackingId?: string;
  claim?: { status: number; attempts: number; body: unknown };
  approvalStarted: boolean;
  decision?: { status: number; body: string };
  status: FlowRunStatus;
}

export interface RequestStats {
  calls: number;
  runs: number;
  claims: number;
  approvalsStarted: number;
  decisionsPosted: number;
}

/** What `GET /stats` answers: calls received and approvals started are counted apart. */
export interface FlowSimulatorStats {
  calls: number;
  runs: number;
  approvalsStarted: number;
  runStatuses: Record<FlowRunStatus, number>;
  byRequest: Record<string, RequestStats>;
}

export interface FlowSimulator extends RunningServer {
  /** The URL to link a workflow to. */
  flowUrl: string;
  /** Where the stats are served (`GET`). */
  statsUrl: string;
  calls: ReceivedRequest[];
  /** Every run started, in order (a run starts when the trigger answered 2xx). */
  runs: FlowRun[];
  /** Callback answers, in order: the relay's status code for each decision the flow posted. */
  callbacks: { status: number; body: string }[];
  stats(): FlowSimulatorStats;
  /** Resolves when `count` decision callbacks have been answered. */
  waitForCallbacks(count: number, timeoutMs?: number): Promise<void>;
  /** Resolves when the stats satisfy `condition`; rejects with the stats after `timeoutMs`. */
  waitFor(
    condition: (stats: FlowSimulatorStats) => boolean,
    timeoutMs?: number,
  ): Promise<FlowSimulatorStats>;
}

/** Power Automate's run names: 29 digits, `CU` and the scale unit's number. */
const newRunId = (): string =>
  `08584${Array.from({ length: 24 }, () => randomInt(10)).join("")}CU${String(randomInt(100)).padStart(2, "0")}`;
const RUN_ID_HEADER = "x-ms-workflow-run-id";
/** The template's retries, with milliseconds for its seconds, so tests stay short. */
const RETRY_STEP_MS = 100;
const RETRY_MAX_MS = 1000;

/**
 * Plays a Power Automate flow built from the relay's template. Each trigger call answered 2xx
 * starts a run with a fresh run id (the one in `x-ms-workflow-run-id`) that, like the template:
 * claims the request at `x-relay-claim-url` with the callback token and its run id, flow name
 * and environment, retrying 408, 429, 5xx and connection failures; starts the approval only
 * after a 200 with `proceed: true` (ends Cancelled on a 409, Failed otherwise); and posts the
 * approver's answer to `x-relay-callback-url` with `x-relay-run-id`, retrying the same way.
 */
export async function startFlowSimulator(
  options: FlowSimulatorOptions = {},
): Promise<FlowSimulator> {
  const calls: ReceivedRequest[] = [];
  const runs: FlowRun[] = [];
  const callbacks: FlowSimulator["callbacks"] = [];
  const byRequest = new Map<string, RequestStats>();
  const waiters = new Set<() => void>();
  const log = options.log ?? (() => undefined);
  const flowName = options.flowName ?? "5f0c3a1e-6d1b-4c55-9a8e-0f1ce0d1f0a1";
  const environmentName = options.environmentName ?? "Default-3f2504e0-4f89-11d3-9a0c-0305e82c3301";
  const changed = (): void => [...waiters].forEach((check) => check());
  const counters = (requestId: string): RequestStats => {
    let stats = byRequest.get(requestId);
    if (!stats) {
      stats = { calls: 0, runs: 0, claims: 0, approvalsStarted: 0, decisionsPosted: 0 };
      byRequest.set(requestId, stats);
    }
    return stats;
  };

  const stats = (): FlowSimulatorStats => {
    const runStatuses: Record<FlowRunStatus, number> = {
      Running: 0,
      Succeeded: 0,
      Cancelled: 0,
      Failed: 0,
    };
    for (const run of runs) runStatuses[run.status]++;
    return {
      calls: calls.length,
      runs: runs.length,
      approvalsStarted: runs.filter((run) => run.approvalStarted).length,
      runStatuses,
      byRequest: Object.fromEntries([...byRequest].map(([id, counts]) => [id, { ...counts }])),
    };
  };

  const end = (run: FlowRun, status: FlowRunStatus, why: string): void => {
    run.status = status;
    log(`flow: run ${run.runId} of request ${run.requestId} ${status.toLowerCase()}: ${why}`);
    changed();
  };

  async function execute(run: FlowRun, call: ReceivedRequest, step: ClaimStep): Promise<void> {
    const header = (name: string): string => String(call.headers[name] ?? "");
    if (step === "stall") return;
    if (step === "claim") {
      const delayMs = options.claimDelayMs?.(call) ?? 0;
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      counters(run.requestId).claims++;
      const claim = await postWithRetries(header("x-relay-claim-url"), CLAIM_RETRY_POLICY.count, {
        authorization: `Bearer ${header("x-relay-callback-token")}`,
        body: { runId: run.runId, flowName, environmentName },
      });
      let body: unknown = claim.body;
      try {
        body = JSON.parse(claim.body);
      } catch {
        // not JSON: keep the text
      }
      run.claim = { status: claim.status, attempts: claim.attempts, body };
      if (claim.status === 409) return end(run, "Cancelled", "the claim answered 409");
      if (claim.status < 200 || claim.status >= 300)
        return end(run, "Failed", `the claim could not be made (${claim.status || "no answer"})`);
      if ((body as { proceed?: unknown })?.proceed !== true)
        return end(run, "Cancelled", "the claim did not say proceed");
    }
    run.approvalStarted = true;
    counters(run.requestId).approvalsStarted++;
    log(`flow: run ${run.runId} started the approval of request ${run.requestId}`);
    changed();
    const answer = options.approver?.(call);
    if (!answer) return; // nobody answers: the run waits, as an approval does for 30 days
    await new Promise((resolve) => setTimeout(resolve, answer.delayMs ?? 0));
    const decision = await postWithRetries(
      header("x-relay-callback-url"),
      CALLBACK_RETRY_POLICY.count,
      {
        authorization: `Bearer ${header("x-relay-callback-token")}`,
        runId: run.runId,
        body: approvalOutput(answer),
      },
    );
    run.decision = { status: decision.status, body: decision.body };
    counters(run.requestId).decisionsPosted++;
    callbacks.push(run.decision);
    log(`flow: relay answered the decision with ${decision.status}`);
    const ok = decision.status >= 200 && decision.status < 300;
    end(run, ok ? "Succeeded" : "Failed", `the decision was answered ${decision.status}`);
  }

  const server = await serve(options.port ?? 0, (call) => {
    if (call.method === "GET" && call.path === "/stats") return { status: 200, body: stats() };
    if (call.method !== "POST" || call.path !== "/flow") return { status: 404 };
    calls.push(call);
    const callNumber = calls.length;
    const requestId = String(call.headers["x-relay-request-id"] ?? "");
    counters(requestId).calls++;
    log(`flow: trigger call ${callNumber} for request ${requestId}`);
    const reply = options.respond?.(call, callNumber) ?? { status: 202 };
    if (reply === "hang" || reply.status < 200 || reply.status >= 300) {
      changed();
      return reply;
    }
    // Power Automate names the run in its answer; a reply that names one keeps its own.
    const run: FlowRun = {
      runId: reply.headers?.[RUN_ID_HEADER] ?? newRunId(),
      requestId,
      callNumber,
      ...(call.headers["x-ms-client-tracking-id"] && {
        clientTrackingId: String(call.headers["x-ms-client-tracking-id"]),
      }),
      approvalStarted: false,
      status: "Running",
    };
    runs.push(run);
    counters(requestId).runs++;
    const step =
      options.claim?.(call, callNumber) ?? (call.headers["x-relay-claim-url"] ? "claim" : "skip");
    // The run goes on after the trigger has answered, as in Power Automate.
    setImmediate(() => {
      execute(run, call, step).catch((error: unknown) => end(run, "Failed", String(error)));
    });
    changed();
    return { ...reply, headers: { ...reply.headers, [RUN_ID_HEADER]: run.runId } };
  });

  const waitFor: FlowSimulator["waitFor"] = (condition, timeoutMs = 30_000) =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const current = stats();
        if (!condition(current)) return;
        clearTimeout(deadline);
        waiters.delete(check);
        resolve(current);
      };
      const deadline = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`the flow simulator never got there: ${JSON.stringify(stats())}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });

  return {
    ...server,
    flowUrl: `${server.url}/flow`,
    statsUrl: `${server.url}/stats`,
    calls,
    runs,
    callbacks,
    stats,
    waitFor,
    waitForCallbacks: (count, timeoutMs = 30_000) =>
      waitFor(() => callbacks.length >= count, timeoutMs).then(
        () => undefined,
        () => {
          throw new Error(`only ${callbacks.length} of ${count} callbacks`);
        },
      ),
  };
}

function approvalOutput(answer: ApproverAnswer): unknown {
  const email = answer.email ?? "approver@contoso.com";
  return {
    outcome: answer.outcome,
    responses: [
      {
        responder: { email, displayName: email.split("@")[0] },
        approverResponse: answer.outcome,
        comments: answer.comments ?? null,
        responseDate: new Date().toISOString(),
      },
    ],
  };
}

/**
 * A POST as the template's HTTP actions make it: retried on 408, 429, 5xx and connection
 * failures, `retries` times, waiting exponentially longer (in milliseconds here, not seconds).
 */
async function postWithRetries(
  url: string,
  retries: number,
  request: { authorization: string; runId?: string; body: unknown },
): Promise<{ status: number; body: string; attempts: number }> {
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: request.authorization,
        ...(request.runId && { "x-relay-run-id": request.runId }),
      },
      body: JSON.stringify(request.body),
    }).catch(() => undefined);
    const status = response?.status ?? 0;
    const retryable = status === 0 || status === 408 || status === 429 || status >= 500;
    if (retryable && attempt <= retries) {
      await response?.arrayBuffer();
      const wait = Math.min(RETRY_STEP_MS * 2 ** (attempt - 1), RETRY_MAX_MS);
      await new Promise((resolve) => setTimeout(resolve, wait));
      continue;
    }
    return { status, body: (await response?.text()) ?? "", attempts: attempt };
  }
}
