import { randomUUID } from "node:crypto";
import { serve, type ReceivedRequest, type Reply, type RunningServer } from "./http-util";

/** How the simulated approver answers, in the output shape of "Start and wait for an approval". */
export interface ApproverAnswer {
  outcome: "Approve" | "Reject";
  email?: string;
  comments?: string;
  delayMs?: number;
}

export interface FlowSimulatorOptions {
  port?: number;
  /** The flow's HTTP answer to each trigger call (default 202 with a run id). */
  respond?: (call: ReceivedRequest, callNumber: number) => Reply | "hang";
  /** What the approver decides after a successful trigger; undefined means nobody answers. */
  approver?: (call: ReceivedRequest) => ApproverAnswer | undefined;
  log?: (line: string) => void;
}

export interface FlowSimulator extends RunningServer {
  /** The URL to link a workflow to. */
  flowUrl: string;
  calls: ReceivedRequest[];
  /** Callback answers, in order: the relay's status code for each decision the flow posted. */
  callbacks: { status: number; body: string }[];
  /** Resolves when `count` decision callbacks have been answered. */
  waitForCallbacks(count: number, timeoutMs?: number): Promise<void>;
}

/**
 * Plays a Power Automate flow built from the relay's template: answers the trigger with 202 and
 * a run id, then posts the approval's outcome to the relay's callback URL with its token, as
 * the flow's HTTP action does (retrying on 5xx or 429 like its default retry policy).
 */
export async function startFlowSimulator(
  options: FlowSimulatorOptions = {},
): Promise<FlowSimulator> {
  const calls: ReceivedRequest[] = [];
  const callbacks: FlowSimulator["callbacks"] = [];
  const waiters: (() => void)[] = [];
  const log = options.log ?? (() => undefined);

  const server = await serve(options.port ?? 0, (call) => {
    if (call.method !== "POST" || call.path !== "/flow") return { status: 404 };
    calls.push(call);
    const reply = options.respond?.(call, calls.length) ?? {
      status: 202,
      headers: { "x-ms-workflow-run-id": `08585${randomUUID().replace(/-/g, "").slice(0, 20)}` },
    };
    if (reply !== "hang" && reply.status >= 200 && reply.status < 300) {
      const answer = options.approver?.(call);
      if (answer)
        setTimeout(() => {
          void postDecision(call, answer).then((result) => {
            callbacks.push(result);
            log(`flow: relay answered the decision with ${result.status}`);
            waiters.splice(0).forEach((wake) => wake());
          });
        }, answer.delayMs ?? 0);
    }
    log(`flow: trigger call ${calls.length} for request ${call.headers["x-relay-request-id"]}`);
    return reply;
  });

  return {
    ...server,
    flowUrl: `${server.url}/flow`,
    calls,
    callbacks,
    waitForCallbacks: (count, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const deadline = setTimeout(
          () => reject(new Error(`only ${callbacks.length} of ${count} callbacks`)),
          timeoutMs,
        );
        const check = (): void => {
          if (callbacks.length >= count) {
            clearTimeout(deadline);
            resolve();
          } else waiters.push(check);
        };
        check();
      }),
  };
}

async function postDecision(
  call: ReceivedRequest,
  answer: ApproverAnswer,
): Promise<{ status: number; body: string }> {
  const email = answer.email ?? "approver@contoso.com";
  const output = {
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
  const url = String(call.headers["x-relay-callback-url"]);
  const token = String(call.headers["x-relay-callback-token"]);
  // The template's HTTP action retries 429 and 5xx (exponential policy); a short version of it.
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify(output),
    }).catch(() => undefined);
    const status = response?.status ?? 0;
    if ((status === 0 || status === 429 || status >= 500) && attempt < 4) {
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      continue;
    }
    return { status, body: (await response?.text()) ?? "" };
  }
}
