/**
 * Reading DM Data service answers. DM wraps them in an envelope (`status`, `message`, `errorCode`,
 * `data`, `details`) whose exact values are not published, so the rules here are deliberately
 * tolerant (property names in any letter case) and say "no verdict" rather than guess.
 */
import type { DmRequestStatus } from "../ports";
import { propertyOf, sanitizedSnippet } from "./http-outcome";

export type EnvelopeVerdict = "success" | "failure" | "contradictory" | "none";

export interface DmEnvelope {
  verdict: EnvelopeVerdict;
  /** DM's own words, sanitised, when it gave any. */
  message?: string;
}

const SUCCESS_WORDS = new Set(["success", "succeeded", "successful", "ok"]);
const FAILURE_WORDS = new Set(["failure", "failed", "fail", "error"]);

/**
 * The verdict of an envelope's `status`:
 * - success: true, "Success"/"Succeeded"/"Successful"/"OK" (any case), 0, or a 2xx number;
 * - failure: false, "Failure"/"Failed"/"Fail"/"Error", or a 4xx/5xx number;
 * numbers may come as digit strings; anything else gives no verdict.
 */
function statusVerdict(status: unknown): "success" | "failure" | "none" {
  if (typeof status === "boolean") return status ? "success" : "failure";
  let code: number | undefined;
  if (typeof status === "number") code = status;
  else if (typeof status === "string") {
    const word = status.trim().toLowerCase();
    if (SUCCESS_WORDS.has(word)) return "success";
    if (FAILURE_WORDS.has(word)) return "failure";
    if (/^\d+$/.test(word)) code = Number(word);
  }
  if (code === undefined) return "none";
  if (code === 0 || (code >= 200 && code < 300)) return "success";
  if (code >= 400 && code < 600) return "failure";
  return "none";
}

/** A non-empty, non-zero `errorCode` reports a failure whatever `status` says. */
function reportsError(errorCode: unknown): boolean {
  if (typeof errorCode === "number") return errorCode !== 0;
  if (typeof errorCode === "string") return errorCode.trim() !== "" && errorCode.trim() !== "0";
  return errorCode !== undefined && errorCode !== null && errorCode !== false;
}

/**
 * The envelope of a parsed body. A successful `status` next to an error code is "contradictory",
 * which callers treat like no verdict: the request's status in DM is checked rather than guessed.
 */
export function readEnvelope(body: unknown): DmEnvelope {
  const status = statusVerdict(propertyOf(body, "status"));
  const errorCode = propertyOf(body, "errorCode");
  const failed = reportsError(errorCode);
  const verdict: EnvelopeVerdict =
    status === "success" && failed
      ? "contradictory"
      : status === "failure" || failed
        ? "failure"
        : status;
  const message = envelopeMessage(body, failed ? errorCode : undefined);
  return message === undefined ? { verdict } : { verdict, message };
}

function envelopeMessage(body: unknown, errorCode: unknown): string | undefined {
  const message = propertyOf(body, "message");
  const text =
    typeof message === "string" && message.trim() !== ""
      ? message
      : errorCode !== undefined
        ? `error code ${String(errorCode)}`
        : undefined;
  return text === undefined ? undefined : sanitizedSnippet(text, 300);
}

/** Looked up ignoring case, so `workflowRequestID` and `workflowRequestId` both match. */
const REQUEST_ID_PROPERTIES = ["workflowRequestId", "id"];
const KNOWN_STATUSES: readonly DmRequestStatus[] = ["Pending", "Approved", "Denied"];

/**
 * The status of `requestId` in the check call's answer. The items are the envelope's `data` (an
 * array or a single object), or the body itself when it is an array or has no `data`. The item is
 * the one whose id matches, or the only item when it carries no id and only one request was asked
 * for (`asked`). Its status is `workflowStatusDTO.description`, else `statusId` when that is a
 * status name; otherwise Unknown.
 */
export function readRequestStatus(body: unknown, requestId: string, asked = 1): DmRequestStatus {
  const data = propertyOf(body, "data") ?? body;
  const items: unknown[] = Array.isArray(data) ? data : data === undefined ? [] : [data];
  const item =
    items.find((candidate) => idOf(candidate) === requestId) ??
    (asked === 1 && items.length === 1 && idOf(items[0]) === undefined ? items[0] : undefined);
  if (item === undefined) return "Unknown";
  return (
    statusName(propertyOf(propertyOf(item, "workflowStatusDTO"), "description")) ??
    statusName(propertyOf(item, "statusId")) ??
    "Unknown"
  );
}

function idOf(item: unknown): string | undefined {
  for (const name of REQUEST_ID_PROPERTIES) {
    const id = propertyOf(item, name);
    if (typeof id === "string" || typeof id === "number") return String(id);
  }
  return undefined;
}

function statusName(value: unknown): DmRequestStatus | undefined {
  if (typeof value !== "string") return undefined;
  const wanted = value.trim().toLowerCase();
  return KNOWN_STATUSES.find((status) => status.toLowerCase() === wanted);
}
