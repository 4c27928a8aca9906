/**
 * `npm run simulate-flow`: plays Power Automate and Directory Manager locally for the README's
 * walk-through. The flow answers 202, claims the request as the relay's template does (only the
 * run that claimed starts an approval) and, after a short wait, posts the approver's decision to
 * the relay's callback URL; DM's Data service records what the relay writes.
 */
import { Command } from "commander";
import { startDmSimulator } from "./simulators/dm-simulator";
import { startFlowSimulator } from "./simulators/flow-simulator";

const options = new Command()
  .name("simulate-flow")
  .option("--flow-port <port>", "port of the simulated flow", "7072")
  .option("--dm-port <port>", "port of the simulated Data and Security services", "7073")
  .option("--outcome <outcome>", "what the approver answers: Approve or Reject", "Approve")
  .option("--delay <ms>", "how long the approver takes", "2000")
  .option("--no-claim", "play a hand-made flow that starts its approval without claiming")
  .parse()
  .opts<{ flowPort: string; dmPort: string; outcome: string; delay: string; claim: boolean }>();

async function main(): Promise<void> {
  if (options.outcome !== "Approve" && options.outcome !== "Reject")
    throw new Error("--outcome must be Approve or Reject");
  const log = (line: string): void => console.log(line);
  const flow = await startFlowSimulator({
    port: Number(options.flowPort),
    approver: () => ({
      outcome: options.outcome as "Approve" | "Reject",
      email: "alice@contoso.com",
      delayMs: Number(options.delay),
    }),
    ...(!options.claim && { claim: () => "skip" as const }),
    log,
  });
  const dm = await startDmSimulator({ port: Number(options.dmPort), log });
  console.log(`Flow simulator listening on ${flow.flowUrl} (approver answers ${options.outcome})`);
  console.log(`Flow runs, claims and approvals started: GET ${flow.statsUrl}`);
  console.log(`Data service simulator listening on ${dm.dataServiceUrl} (DATA_SERVICE_AUTH=none)`);
  const stop = (): void => {
    void Promise.all([flow.close(), dm.close()]).then(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
