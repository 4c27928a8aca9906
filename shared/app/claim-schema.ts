import { z } from "zod";

/** `runId`, `flowName` and `environmentName` as Power Automate names them (CONTRACT 4b). */
const runPart = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,128}$/, "must be 1 to 128 letters, digits, '.', '_' or '-'");

/** The body a flow run posts to claim its request. */
export const claimBodySchema = z.object({
  runId: runPart,
  flowName: runPart,
  environmentName: runPart,
});
