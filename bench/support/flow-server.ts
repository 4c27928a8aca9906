/**
 * A Power Automate flow for the benchmark, on 127.0.0.1: answers the relay's trigger call with
 * 202 and a run id and then, as the relay's template does, claims the request and (when asked)
 * posts an approval. Each path is one flow: `/flow/<name>`. A flow with a rate limit accepts that
 * many calls per second (a bucket of one second's worth) and answers 429 with Retry-After beyond.
 */
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";

export interface FlowBehaviour {
  /** Claim each request after answering the trigger call. */
  claim: boolean;
  /** Post an approval once the claim is answered. */
  approve: boolean;
  /** Calls accepted per second; undefined means no limit. */
  callsPerSecond?: number;
  retryAfterSeconds?: number;
}

export interface FlowCall {
  requestId: string;
  attempt: number;
  /** performance.now() when the call arrived. */
  at: number;
  status: number;
  /** Set on 429 answers: when the caller may call again (performance.now() scale). */
  notBefore?: number;
}

/** A run that claimed its request: what the flow needs to post the decision itself. */
export interface ClaimedRun {
  runId: string;
  callbackUrl: string;
  token: string;
}

export interface FlowServer {
  url: string;
  /** Every trigger call, per flow name, in arrival order. */
  calls: Map<string, FlowCall[]>;
  /** Runs whose claim was answered 200, by request id. */
  claimed: Map<string, ClaimedRun>;
  /** Claim and decision posts that failed for good (after retries). */
  callbackFailures: number;
  close(): Promise<void>;
}

const CALLBACK_TRIES = 5;
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

export async function startFlowServer(flows: Record<string, FlowBehaviour>): Promise<FlowServer> {
  const calls = new Map<string, FlowCall[]>(Object.keys(flows).map((name) => [name, []]));
  const claimed = new Map<string, ClaimedRun>();
  const buckets = new Map<string, { tokens: number; at: number }>();
  const state = { callbackFailures: 0 };

  /** Takes one token from the flow's bucket; false when it is empty. */
  const admit = (name: string, rate: number, now: number): boolean => {
    const bucket = buckets.get(name) ?? { tokens: rate, at: now };
    bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.at) / 1000) * rate);
    bucket.at = now;
    buckets.set(name, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  };

  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const name = /^\/flow\/([\w-]+)/.exec(req.url ?? "")?.[1] ?? "";
      const flow = flows[name];
      if (req.method !== "POST" || !flow) {
        res.writeHead(404).end();
        return;
      }
      const now = performance.now();
      const header = (key: string) => String(req.headers[key] ?? "");
      const call: FlowCall = {
        requestId: header("x-relay-request-id"),
        attempt: Number(header("x-relay-attempt")),
        at: now,
        status: 202,
      };
      calls.get(name)?.push(call);
      if (flow.callsPerSecond !== undefined && !admit(name, flow.callsPerSecond, now)) {
        const retryAfter = flow.retryAfterSeconds ?? 1;
        call.status = 429;
        call.notBefore = now + retryAfter * 1000;
        res.writeHead(429, { "retry-after": String(retryAfter) }).end();
        return;
      }
      const runId = `08585${randomUUID().replace(/-/g, "").slice(0, 20)}`;
      res.writeHead(202, { "x-ms-workflow-run-id": runId }).end();
      if (flow.claim) void playRun(flow, runId, header);
    });
  });

  async function playRun(flow: FlowBehaviour, runId: string, header: (key: string) => string) {
    const authorization = `Bearer ${header("x-relay-callback-token")}`;
    const status = await post(
      header("x-relay-claim-url"),
      { runId, flowName: "bench-flow", environmentName: "bench-env" },
      { authorization },
    );
    if (status !== 200) return;
    const run = {
      runId,
      callbackUrl: header("x-relay-callback-url"),
      token: header("x-relay-callback-token"),
    };
    claimed.set(header("x-relay-request-id"), run);
    if (!flow.approve) return;
    await post(
      header("x-relay-callback-url"),
      { outcome: "Approve", approver: { email: "alice@contoso.com" }, comments: "ok" },
      { authorization, "x-relay-run-id": runId },
    );
  }

  /** Posts like the template's HTTP actions: retried on 429, 5xx and network failures. */
  async function post(url: string, body: unknown, headers: Record<string, string>) {
    for (let attempt = 1; attempt <= CALLBACK_TRIES; attempt++) {
      const status = await postOnce(url, JSON.stringify(body), headers).catch(() => 0);
      if (status !== 0 && status !== 429 && status < 500) return status;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
    state.callbackFailures += 1;
    return 0;
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    claimed,
    get callbackFailures() {
      return state.callbackFailures;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function postOnce(url: string, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", ...headers },
        timeout: 10_000,
      },
      (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode ?? 0));
      },
    );
    request.on("timeout", () => request.destroy(new Error("timeout")));
    request.on("error", reject);
    request.end(body);
  });
}
