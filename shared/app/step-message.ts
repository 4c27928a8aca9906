import { z } from "zod";
import { requestIdSchema, storeIdSchema, workflowIdSchema } from "../domain/ids";
import type { StepMessage } from "../ports";

const stepMessageSchema = z.object({
  storeId: storeIdSchema,
  workflowId: workflowIdSchema,
  requestId: requestIdSchema,
  attempt: z.number().int().min(1),
  redrives: z.number().int().min(0),
  deferrals: z.number().int().min(0).optional(),
});

/** A queue message's body; a malformed one throws so Service Bus dead-letters it for a look. */
export function parseStepMessage(body: unknown): StepMessage {
  const parsed = stepMessageSchema.safeParse(typeof body === "string" ? safeJson(body) : body);
  if (!parsed.success)
    throw new Error(
      `malformed queue message: ${parsed.error.issues[0]?.path.join(".")} ${parsed.error.issues[0]?.message}`,
    );
  return parsed.data;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
