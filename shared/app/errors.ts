import type { FieldError } from "../domain/decision";

/** The ways a use case says no; the HTTP layer turns each into its problem+json status. */
export type ProblemKind =
  | "validation"
  | "unauthorized"
  | "not-found"
  | "conflict"
  | "too-large"
  | "unsupported-media-type"
  | "unavailable"
  /** A service the relay called on the administrator's behalf (Dataverse, Power Automate) failed. */
  | "upstream";

export class RelayProblem extends Error {
  constructor(
    readonly kind: ProblemKind,
    readonly title: string,
    readonly detail: string,
    readonly errors: FieldError[] = [],
    /** Extra members of the problem body (e.g. the standing decision of a 409). */
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(`${title}: ${detail}`);
    this.name = "RelayProblem";
  }
}

export const invalid = (detail: string, errors: FieldError[]): RelayProblem =>
  new RelayProblem("validation", "Invalid request", detail, errors);
export const notFound = (detail: string): RelayProblem =>
  new RelayProblem("not-found", "Not found", detail);
export const conflict = (detail: string, extensions: Record<string, unknown> = {}): RelayProblem =>
  new RelayProblem("conflict", "Conflict", detail, [], extensions);
export const unauthorized = (detail: string): RelayProblem =>
  new RelayProblem("unauthorized", "Unauthorized", detail);
export const unavailable = (detail: string): RelayProblem =>
  new RelayProblem("unavailable", "Service unavailable", detail);
export const upstream = (detail: string, extensions: Record<string, unknown> = {}): RelayProblem =>
  new RelayProblem("upstream", "Upstream call failed", detail, [], extensions);
