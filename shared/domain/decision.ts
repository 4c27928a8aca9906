import { z } from "zod";
import type { Approver, Decision, Outcome } from "./model";

/** A validation failure: which field, and what is wrong with it (becomes problem+json `errors`). */
export interface FieldError {
  path: string;
  message: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

const OUTCOMES = new Map<string, Outcome>([
  ["approve", "approved"],
  ["approved", "approved"],
  ["reject", "denied"],
  ["rejected", "denied"],
  ["deny", "denied"],
  ["denied", "denied"],
]);
const outcomeOf = (spelling: string): Outcome | undefined => OUTCOMES.get(spelling.toLowerCase());

const text = z.string({ message: "must be text" }).max(4000).optional();
const approverSchema = z.object({ email: text, displayName: text }).partial();
/** Comments of any length are accepted (refusing would lose the decision) and cut to this. */
export const MAX_COMMENTS_LENGTH = 4000;
export const COMMENTS_CUT_NOTE =
  " [...] (cut by the relay; the whole comment is in Power Automate)";
const comments = z
  .string({ message: "must be text" })
  .nullable()
  .optional()
  .meta({ description: `longer than ${MAX_COMMENTS_LENGTH} characters: cut, with a note` });

/** The relay's own shape, and the output body of "Start and wait for an approval". */
export const decisionBodySchema = z.object({
  outcome: z
    .string({ message: "is required" })
    .refine((value) => outcomeOf(value) !== undefined, {
      message: "must be Approve, Approved, Reject, Rejected, Deny or Denied",
    })
    .meta({ description: "Approve, Approved, Reject, Rejected, Deny or Denied, in any case" }),
  approver: approverSchema.optional(),
  comments,
  respondedAt: text,
  responses: z
    .array(
      z.object({
        responder: approverSchema.optional(),
        comments,
        responseDate: text,
        approverResponse: text,
      }),
    )
    .optional(),
});

/** The comment as stored and sent to DM: at most MAX_COMMENTS_LENGTH characters. */
export function cutComments(text: string): string {
  if (text.length <= MAX_COMMENTS_LENGTH) return text;
  let kept = text.slice(0, MAX_COMMENTS_LENGTH - COMMENTS_CUT_NOTE.length);
  // Never end on half of a surrogate pair.
  if (/[\uD800-\uDBFF]$/.test(kept)) kept = kept.slice(0, -1);
  return kept + COMMENTS_CUT_NOTE;
}

/** Turns a decision callback body (either shape) into a Decision, or names what is wrong. */
export function normaliseDecision(body: unknown, recordedAt: Date): Parsed<Decision> {
  const parsed = decisionBodySchema.safeParse(body);
  if (!parsed.success)
    return {
      ok: false,
      errors: parsed.error.issues.map((issue) => ({
        path: "/" + issue.path.join("/"),
        message: issue.message,
      })),
    };
  const input = parsed.data;
  const outcome = outcomeOf(input.outcome) as Outcome;
  // With several approvers, the response that matches the outcome is the deciding one.
  const response =
    input.responses?.find(
      (candidate) =>
        candidate.approverResponse !== undefined &&
        outcomeOf(candidate.approverResponse) === outcome,
    ) ?? input.responses?.[0];
  const approver = pickApprover(input.approver ?? response?.responder);
  const given = input.comments ?? response?.comments ?? undefined;
  const comments = given === undefined ? undefined : cutComments(given);
  const respondedAt = input.respondedAt ?? response?.responseDate;
  return {
    ok: true,
    value: {
      outcome,
      ...(approver && { approver }),
      ...(comments && { comments }),
      ...(respondedAt && { respondedAt }),
      recordedAt: recordedAt.toISOString(),
    },
  };
}

function pickApprover(source: Approver | undefined): Approver | undefined {
  if (!source) return undefined;
  const approver: Approver = {};
  if (source.email) approver.email = source.email;
  if (source.displayName) approver.displayName = source.displayName;
  return Object.keys(approver).length > 0 ? approver : undefined;
}

/** The reason DM records for a denial: the approver's words, else who denied it. */
export function denialReason(decision: Decision): string {
  if (decision.comments?.trim()) return decision.comments.trim();
  const who = decision.approver?.email ?? decision.approver?.displayName ?? "the approver";
  return `Denied in Power Automate by ${who}`;
}
