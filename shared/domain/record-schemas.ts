import { z } from "zod";
import { REQUEST_STATES } from "./model";

/**
 * Zod shapes of parts of a request record (model.ts), written once for the Table adapter, which
 * checks what it reads back, and for the OpenAPI document, which shows them in the status.
 */
export const recordedDecisionSchema = z.object({
  outcome: z.enum(["approved", "denied"]),
  approver: z
    .object({ email: z.string().optional(), displayName: z.string().optional() })
    .optional(),
  comments: z.string().optional(),
  respondedAt: z.string().optional(),
  recordedAt: z.string(),
});

export const flowRunSchema = z.object({
  runId: z.string(),
  flowName: z.string(),
  environmentName: z.string(),
  claimedAt: z.string(),
  cancelledAt: z.string().optional(),
  cancelError: z.string().optional(),
  cancelAttempts: z.number().int().optional(),
});

export const historyEntrySchema = z.object({
  at: z.string(),
  state: z.enum(REQUEST_STATES),
  detail: z.string(),
});
