import { startServiceBusEmulator } from "./index";

/** CLI: `tsx dev/servicebus-emulator/main.ts` (SERVICEBUS_EMULATOR_PORT, SERVICEBUS_EMULATOR_CONFIG). */
async function main(): Promise<void> {
  const emulator = await startServiceBusEmulator();
  console.log(
    `Service Bus emulator listening on amqp://127.0.0.1:${emulator.port} (queues: ${emulator.queues.join(", ")})`,
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
