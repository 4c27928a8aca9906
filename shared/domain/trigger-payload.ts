import { createHash } from "node:crypto";
import { requestIdSchema } from "./ids";
import type { Parsed } from "./decision";

export const MAX_TRIGGER_BYTES = 256 * 1024;

/** Where DM's request id is looked for, in order (CONTRACT section 3). */
export const DEFAULT_REQUEST_ID_POINTERS = [
  "/workflowRequestId",
  "/WorkflowRequestId",
  "/workflowRequestID",
  "/WorkflowRequestID",
  "/requestId",
  "/RequestId",
  "/RequestID",
  "/request/id",
  "/id",
];

export const jsonPointerPattern = /^(\/([^~/]|~[01])*)+$/;

/** RFC 6901: the value at `pointer` in `document`, or undefined. */
export function readJsonPointer(document: unknown, pointer: string): unknown {
  let current: unknown = document;
  for (const token of pointer.slice(1).split("/")) {
    const key = token.replace(/~1/g, "/").replace(/~0/g, "~");
    if (current === null || typeof current !== "object") return undefined;
    if (!Object.prototype.hasOwnProperty.call(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/**
 * The request id DM's document carries, or one derived from the workflow and the document's
 * content so that an identical retry maps to the same request.
 */
export function resolveRequestId(
  document: Record<string, unknown>,
  workflowId: string,
  pointer?: string,
): Parsed<{ requestId: string; derived: boolean }> {
  for (const candidate of pointer ? [pointer] : DEFAULT_REQUEST_ID_POINTERS) {
    const value = readJsonPointer(document, candidate);
    if (typeof value !== "string" && (typeof value !== "number" || !Number.isFinite(value)))
      continue;
    const requestId = String(value);
    if (!requestIdSchema.safeParse(requestId).success)
      return {
        ok: false,
        errors: [{ path: candidate, message: "is not a valid request id (CONTRACT identifiers)" }],
      };
    return { ok: true, value: { requestId, derived: false } };
  }
  const digest = createHash("sha256")
    .update(workflowId)
    .update("\n")
    .update(canonicalJson(document))
    .digest("hex");
  return { ok: true, value: { requestId: `sha256-${digest.slice(0, 40)}`, derived: true } };
}

/**
 * JSON with object keys sorted, so key order and whitespace do not change the hash. Iterative, with
 * its own stack: a trigger document may nest 10,000 levels deep, far past the call stack.
 */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  // Work still to do, last first: a value to write, or text to emit as it is.
  const pending: ({ value: unknown } | string)[] = [{ value }];
  while (pending.length > 0) {
    const next = pending.pop() as { value: unknown } | string;
    if (typeof next === "string") {
      parts.push(next);
      continue;
    }
    const current = next.value;
    if (Array.isArray(current)) {
      parts.push("[");
      pending.push("]");
      for (let index = current.length - 1; index >= 0; index--) {
        pending.push({ value: current[index] });
        if (index > 0) pending.push(",");
      }
    } else if (current !== null && typeof current === "object") {
      const keys = Object.keys(current).sort();
      parts.push("{");
      pending.push("}");
      for (let index = keys.length - 1; index >= 0; index--) {
        const key = keys[index] as string;
        pending.push({ value: (current as Record<string, unknown>)[key] });
        pending.push(`${index > 0 ? "," : ""}${JSON.stringify(key)}:`);
      }
    } else parts.push(JSON.stringify(current));
  }
  return parts.join("");
}

/** Ids the relay derived itself (above) are unknown to DM, so DM is never asked about them. */
export function isDerivedRequestId(requestId: string): boolean {
  return /^sha256-[0-9a-f]{40}$/.test(requestId);
}
