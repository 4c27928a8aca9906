import type { HttpResponseInit } from "@azure/functions";
import { RelayProblem, type ProblemKind } from "../app/errors";
import type { Logger } from "../logging";

const STATUS_OF: Record<ProblemKind, number> = {
  validation: 400,
  unauthorized: 401,
  "not-found": 404,
  conflict: 409,
  "too-large": 413,
  "unsupported-media-type": 415,
  unavailable: 503,
  upstream: 502,
};

export function json(status: number, body: unknown): HttpResponseInit {
  return { status, jsonBody: body, headers: { "cache-control": "no-store" } };
}

/** RFC 9457 problem details. */
export function problem(
  status: number,
  title: string,
  detail: string,
  extra: Record<string, unknown> = {},
): HttpResponseInit {
  return {
    status,
    body: JSON.stringify({ type: "about:blank", title, status, detail, ...extra }),
    headers: { "content-type": "application/problem+json", "cache-control": "no-store" },
  };
}

/** A use case's refusal becomes its problem; anything else is logged and answered without detail. */
export function errorResponse(error: unknown, log: Logger): HttpResponseInit {
  if (error instanceof RelayProblem) {
    if (error.kind === "unavailable" || error.kind === "upstream") log.warn(error.message);
    return problem(STATUS_OF[error.kind], error.title, error.detail, {
      ...(error.errors.length > 0 && { errors: error.errors }),
      ...error.extensions,
    });
  }
  log.error("unexpected failure", {
    error: error instanceof Error ? error.message : String(error),
  });
  return problem(503, "Service unavailable", "the relay could not complete the request; try again");
}
