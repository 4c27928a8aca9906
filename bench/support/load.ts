/** A closed-loop HTTP load generator (node:http, keep-alive) and the statistics the bench prints. */
import http from "node:http";
import { performance } from "node:perf_hooks";

export interface Answer {
  status: number;
  body: string;
}

export interface Sent {
  url: string;
  body?: string;
  headers?: Record<string, string>;
  method?: string;
}

export function createClient(maxSockets: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  return {
    send(request: Sent): Promise<Answer> {
      return new Promise((resolve, reject) => {
        const call = http.request(
          request.url,
          {
            method: request.method ?? "POST",
            agent,
            headers: { "content-type": "application/json", ...request.headers },
            timeout: 30_000,
          },
          (response) => {
            const chunks: Buffer[] = [];
            response.on("data", (chunk: Buffer) => chunks.push(chunk));
            response.on("end", () =>
              resolve({
                status: response.statusCode ?? 0,
                body: Buffer.concat(chunks).toString("utf8"),
              }),
            );
          },
        );
        call.on("timeout", () => call.destroy(new Error("timed out")));
        call.on("error", reject);
        call.end(request.body);
      });
    },
    close: () => agent.destroy(),
  };
}

export interface LoadResult {
  /** Every answer's latency, ms. */
  latencies: number[];
  requests: number;
  /** Answers that were not the expected status (counted, not timed). */
  failures: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
}

/**
 * Sends `count` requests from `concurrency` loops, each waiting for its answer before the next;
 * `onDone(n)` runs after the n-th answer (1-based), e.g. to sample memory.
 */
export async function runLoad(options: {
  count: number;
  concurrency: number;
  request: (index: number) => Sent;
  expect: (status: number) => boolean;
  onDone?: (done: number) => void | Promise<void>;
}): Promise<LoadResult> {
  const client = createClient(options.concurrency);
  const latencies: number[] = [];
  let next = 0;
  let done = 0;
  let failures = 0;
  const started = performance.now();
  const loop = async (): Promise<void> => {
    while (next < options.count) {
      const index = next++;
      const sentAt = performance.now();
      const answer = await client.send(options.request(index)).catch(() => undefined);
      latencies.push(performance.now() - sentAt);
      if (!answer || !options.expect(answer.status)) failures += 1;
      done += 1;
      await options.onDone?.(done);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, loop));
  const seconds = (performance.now() - started) / 1000;
  client.close();
  return summarize(latencies, failures, seconds);
}

/** One result of several runs (rounds of one side of a side-by-side comparison). */
export function combine(results: LoadResult[]): LoadResult {
  const latencies = results.flatMap((result) => result.latencies);
  const failures = results.reduce((sum, result) => sum + result.failures, 0);
  const seconds = results.reduce((sum, result) => sum + result.seconds, 0);
  return summarize(latencies, failures, seconds);
}

function summarize(latencies: number[], failures: number, seconds: number): LoadResult {
  return {
    latencies,
    requests: latencies.length,
    failures,
    seconds,
    perSecond: latencies.length / seconds,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
  };
}

export function percentile(values: number[], fraction: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] as number;
}

/** Resolves once `check` is true, polling; false when `timeoutMs` passed first. */
export async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}
