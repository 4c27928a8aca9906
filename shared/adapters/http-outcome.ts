/**
 * What the HTTP adapters share: one way to call out with axios, and one way to turn what came back
 * (or did not) into the ports' transient/permanent outcomes with short, secret-free reasons.
 */
import axios, { type AxiosInstance, type AxiosResponse } from "axios";
import type { CallOutcome } from "../ports";

export type FailureOutcome = Exclude<CallOutcome, { kind: "ok" }>;
export type TransientOutcome = Extract<FailureOutcome, { kind: "transient" }>;

export const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * An axios instance for calls whose every answer the caller classifies itself: no throw on status,
 * no redirects (a POST must not be replayed to another host), bodies sent and received as they are
 * (axios would otherwise trim a string body and parse JSON behind our back).
 */
export function createHttpClient(): AxiosInstance {
  return axios.create({
    maxRedirects: 0,
    validateStatus: () => true,
    responseType: "text",
    transformRequest: [(data: unknown) => data],
    transformResponse: [(data: unknown) => data],
  });
}

/**
 * Per-call options bounding the whole exchange: axios's `timeout` alone is a socket-idle timer,
 * so a server trickling a response could hold the call for ever without the abort signal.
 */
export function deadline(timeoutMs: number): { timeout: number; signal: AbortSignal } {
  return { timeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs) };
}

/** 408, 429 and 5xx are worth retrying; every other non-2xx status is not. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export function isSuccessStatus(status: number): boolean {
  return status >= 200 && status < 300;
}

/** A header's single value (axios may hand back arrays or numbers). */
export function headerValue(response: AxiosResponse, name: string): string | undefined {
  const value: unknown = response.headers[name.toLowerCase()];
  if (Array.isArray(value)) return value.length > 0 ? String(value[0]) : undefined;
  return value === undefined || value === null ? undefined : String(value);
}

/** `Retry-After` as milliseconds from now: delta-seconds or an HTTP-date (past dates mean 0). */
export function parseRetryAfter(value: string | undefined, nowMs = Date.now()): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP-date names its day and month; this keeps Date.parse from reading "-5" as a year.
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** A transient outcome for a retryable answer, carrying its `Retry-After` when there is one. */
export function transientAnswer(response: AxiosResponse, reason: string): TransientOutcome {
  const retryAfterMs = parseRetryAfter(headerValue(response, "retry-after"));
  return retryAfterMs === undefined
    ? { kind: "transient", reason }
    : { kind: "transient", reason, retryAfterMs };
}

/** axios codes meaning the request could not even be built: retrying cannot help. */
const REQUEST_SETUP_ERRORS = new Set([
  "ERR_INVALID_URL",
  "ERR_BAD_OPTION",
  "ERR_BAD_OPTION_VALUE",
  "ERR_NOT_SUPPORTED",
  "ERR_BAD_REQUEST",
]);

/**
 * A call that got no answer. Timeouts (including our own deadline's abort) and connection errors
 * are transient; anything that is not an axios error is a bug and is thrown on.
 */
export function classifyTransportError(
  error: unknown,
  service: string,
  timeoutMs: number,
): FailureOutcome {
  if (!axios.isAxiosError(error)) throw error;
  const code = error.code ?? "network error";
  if (code === "ECONNABORTED" || code === "ETIMEDOUT" || code === "ERR_CANCELED") {
    return { kind: "transient", reason: `${service} did not answer within ${timeoutMs} ms` };
  }
  if (REQUEST_SETUP_ERRORS.has(code)) {
    return { kind: "permanent", reason: `${service} could not be called (${code})` };
  }
  return { kind: "transient", reason: `${service} could not be reached (${code})` };
}

const MAX_SNIPPET_LENGTH = 160;

/**
 * Text from elsewhere (a response body, an error message) made fit for a reason that is stored and
 * shown: URL query strings, `key=value` secrets, bearer tokens and JWTs are masked, control
 * characters and runs of whitespace collapsed, and the result cut short.
 */
export function sanitizedSnippet(text: string, maxLength = MAX_SNIPPET_LENGTH): string {
  const masked = text
    .replace(/eyJ[\w-]+\.[\w-]+\.[\w-]*/g, "[jwt]")
    .replace(/\bbearer\s+[^\s"',;]+/gi, "Bearer [redacted]")
    .replace(/(\bhttps?:\/\/[^\s?#"'<>]*)\?[^\s#"'<>]*/gi, "$1?[query]")
    .replace(
      /\b(sig|code|key|token|access_token|refresh_token|client_secret|password|secret)=[^&\s"'<>]+/gi,
      "$1=[redacted]",
    )
    .replace(
      /("(?:sig|token|access_token|refresh_token|id_token|client_secret|password|secret)"\s*:\s*)"[^"]*"/gi,
      '$1"[redacted]"',
    )
    .replace(/[\p{Cc}\s]+/gu, " ")
    .trim();
  return masked.length > maxLength ? `${masked.slice(0, maxLength - 1)}…` : masked;
}

/** Property lookup ignoring case: .NET services answer in camelCase or PascalCase. */
export function propertyOf(value: unknown, name: string): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const wanted = name.toLowerCase();
  const key = Object.keys(value).find((candidate) => candidate.toLowerCase() === wanted);
  return key === undefined ? undefined : (value as Record<string, unknown>)[key];
}

export function parseJson(text: unknown): unknown {
  if (typeof text !== "string" || text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function firstString(...values: unknown[]): string | undefined {
  return values.find((value): value is string => typeof value === "string" && value.trim() !== "");
}

/**
 * A short account of an error body: the code and message of the usual JSON error shapes (Power
 * Automate's `{error: {code, message}}`, OAuth's `error`/`error_description`, problem+json), else
 * the start of the text.
 */
export function summarizeBody(body: unknown): string {
  if (typeof body !== "string" || body.trim() === "") return "";
  const json = parseJson(body);
  if (json === undefined) return sanitizedSnippet(body);
  const nested = propertyOf(json, "error");
  const code = firstString(propertyOf(nested, "code"), nested, propertyOf(json, "code"));
  const message = firstString(
    propertyOf(nested, "message"),
    propertyOf(json, "message"),
    propertyOf(json, "error_description"),
    propertyOf(json, "detail"),
    propertyOf(json, "title"),
  );
  const summary = [code, message].filter((part) => part !== undefined).join(": ");
  return sanitizedSnippet(summary || body);
}

/** "HTTP 404", with a summary of the body when there is one. */
export function describeAnswer(response: AxiosResponse): string {
  const summary = summarizeBody(response.data);
  return summary ? `HTTP ${response.status} (${summary})` : `HTTP ${response.status}`;
}

/** An error's name and sanitised message, for reasons (never its stack or cause chain). */
export function describeError(error: unknown): string {
  if (error instanceof Error) return sanitizedSnippet(`${error.name}: ${error.message}`, 240);
  return "unknown error";
}

/** `base` + `path` with exactly one slash between them. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}
