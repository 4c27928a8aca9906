/**
 * The body of a claim (CONTRACT section 4b): who the flow run is, as Power Automate names it in
 * `workflow()`. The claim use case parses with it, and the OpenAPI document shows it.
 */
import { z } from "zod";

const runPart = (what: string) =>
  z
    .string({ message: `must be the ${what}` })
    .regex(/^[A-Za-z0-9._-]{1,128}$/, {
      message: "must be 1-128 letters, digits, '.', '_' or '-'",
    })
    .meta({ description: `the ${what}` });

export const claimBodySchema = z.object({
  runId: runPart("run's name, workflow()['run']['name']"),
  flowName: runPart("flow's name, workflow()['name']"),
  environmentName: runPart("environment's name, workflow()['tags']['environmentName']"),
});

export type ClaimBody = z.infer<typeof claimBodySchema>;
