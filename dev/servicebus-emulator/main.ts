import path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { startServiceBusEmulator } from "./index";

interface CliOptions {
  port?: number;
  dataDir?: string;
  reset?: boolean;
}

function parsePort(text: string): number {
  const port = Number(text);
  if (text.trim() === "" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError("must be a port number (0-65535).");
  }
  return port;
}

/** CLI: `tsx dev/servicebus-emulator/main.ts` (SERVICEBUS_EMULATOR_PORT, SERVICEBUS_EMULATOR_CONFIG). */
async function main(): Promise<void> {
  const options = new Command()
    .name("servicebus-emulator")
    .description("A Service Bus emulator (queues only) for @azure/service-bus, on 127.0.0.1.")
    .option(
      "--port <port>",
      "AMQP port, 0 for a free one (default: SERVICEBUS_EMULATOR_PORT, else 5672)",
      parsePort,
    )
    .option("--data-dir <folder>", "keep the messages in this folder (default: in memory)")
    .option("--reset", "start with no messages, forgetting what the data folder holds")
    .parse()
    .opts<CliOptions>();
  const dataDir = options.dataDir === undefined ? undefined : path.resolve(options.dataDir);
  const emulator = await startServiceBusEmulator({
    port: options.port,
    dataDir,
    reset: options.reset,
  });
  const kept = dataDir === undefined ? "" : `; messages kept in ${dataDir}`;
  console.log(
    `Service Bus emulator listening on amqp://127.0.0.1:${emulator.port} (queues: ${emulator.queues.join(", ")}${kept})`,
  );
  const stop = () => {
    emulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
