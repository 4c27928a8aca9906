import { timingSafeEqual } from "node:crypto";
import http from "node:http";

/** The setting holding the key that `function` and `admin` level routes require locally. */
export const LOCAL_KEY_SETTING = "RELAY_LOCAL_KEY";

export function sendEmpty(res: http.ServerResponse, status: number): void {
  res.statusCode = status;
  res.end();
}

/** RFC 9457 problem details, shaped like the relay's own, titled with the status's phrase. */
export function problemBody(status: number, detail: string): string {
  return JSON.stringify({ type: "about:blank", title: http.STATUS_CODES[status], status, detail });
}

export function sendProblem(
  res: http.ServerResponse,
  status: number,
  detail: string,
  headers: Record<string, string> = {},
): void {
  res.statusCode = status;
  res.setHeader("content-type", "application/problem+json");
  res.setHeader("cache-control", "no-store");
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.end(problemBody(status, detail));
}

function keysEqual(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Whether the request carries the local key, as `x-functions-key` or `?code=`. */
export function hasLocalKey(
  req: http.IncomingMessage,
  url: URL,
  localKey: string | undefined,
): boolean {
  if (!localKey) return false;
  const headerKey = req.headers["x-functions-key"];
  const given =
    (typeof headerKey === "string" ? headerKey : undefined) ?? url.searchParams.get("code");
  return given !== null && given !== undefined && keysEqual(given, localKey);
}
