/**
 * The Functions host's `POST /admin/functions/<name>`: runs a non-HTTP function once, now, with
 * the body's `input` as its trigger value. Azure answers 202 as soon as the run is queued; the
 * local host answers once the run has finished (or after ADMIN_RUN_WAIT_MS), so a caller that
 * looks right after the answer sees what the run did.
 */
import type http from "node:http";
import { z } from "zod";
import { hasLocalKey, sendEmpty, sendProblem } from "./http-answers";
import { waitAtMost } from "./wait";

export const ADMIN_RUN_WAIT_MS = 60_000;
/** Far above any trigger value (a Service Bus message is at most 256 KiB). */
const MAX_BODY_BYTES = 1024 * 1024;

const invocationSchema = z.object({ input: z.string().nullish() });

export interface AdminApiOptions {
  localKey: string | undefined;
  /** Starts the named non-HTTP function with `input`; undefined when there is none of that name. */
  runFunctionNow(name: string, input: string): Promise<void> | undefined;
}

/** Reads at most `limit` bytes; undefined when the body is larger. */
function readBoundedBody(req: http.IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        resolve(undefined);
        req.pause();
      } else chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** The input a body names, or the problem's detail when the body is malformed. */
function parseInvocation(body: Buffer): { input: string } | { problem: string } {
  const text = body.toString("utf8");
  if (text.trim() === "") return { input: "" }; // Azure accepts an empty body as no input
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { problem: 'the body must be JSON: {"input": "<string>"}' };
  }
  const result = invocationSchema.safeParse(parsed);
  if (!result.success) {
    return { problem: 'the body must be a JSON object whose "input" is a string' };
  }
  return { input: result.data.input ?? "" };
}

/** Answers a request whose path starts with `/admin/` (`segments` are its decoded segments). */
export async function handleAdminRequest(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
  segments: string[],
  options: AdminApiOptions,
): Promise<void> {
  if (!hasLocalKey(req, url, options.localKey)) {
    return sendProblem(res, 401, "the admin key is missing or wrong");
  }
  const [, collection, name, ...rest] = segments;
  if (collection?.toLowerCase() !== "functions" || !name || rest.length > 0) {
    return sendEmpty(res, 404);
  }
  if (req.method !== "POST") {
    return sendProblem(res, 405, "only POST runs a function", {
      allow: "POST",
    });
  }
  const body = await readBoundedBody(req, MAX_BODY_BYTES);
  if (!body) {
    return sendProblem(res, 413, `the body exceeds ${MAX_BODY_BYTES} bytes`);
  }
  const invocation = parseInvocation(body);
  if ("problem" in invocation) return sendProblem(res, 400, invocation.problem);

  const run = options.runFunctionNow(name, invocation.input);
  if (!run) {
    return sendProblem(
      res,
      404,
      "no function of that name runs without HTTP (HTTP functions are called on their route)",
    );
  }
  await waitAtMost(run, ADMIN_RUN_WAIT_MS);
  sendEmpty(res, 202);
}
