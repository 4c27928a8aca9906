/**
 * Local development entry point (`npm start`): Azurite tables, the Service Bus emulator and the
 * Functions host, wired together and stopped together on Ctrl-C.
 *   --emulators-only  only the two emulators
 *   --host-only       only the host, with the settings as they are (local.settings.json / env)
 *   --port <port>     the host's HTTP port (default: RELAY_PORT, else 7071)
 *   --reset           start the Service Bus emulator empty (it keeps messages in .servicebus/)
 * Before the host starts, the web console is built into `console-assets/` (git-ignored), which the
 * host serves on /api/console/: a fresh build every start, so it never serves stale sources.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { CONSOLE_ASSETS_FOLDER } from "../console/serve";
import { startAzuriteTables } from "./azurite";
import { oneLineMessage } from "./host/startup-error";
import { assertPortFree, parsePort, portSetting } from "./local-ports";
import { buildConsole } from "./build";
import { startServiceBusEmulator } from "./servicebus-emulator";

const REPO_ROOT = path.resolve(__dirname, "..");
const HOST_MAIN = path.join(__dirname, "host", "main.ts");

interface StartOptions {
  emulatorsOnly?: boolean;
  hostOnly?: boolean;
  port?: number;
  reset?: boolean;
}

interface Stoppable {
  name: string;
  stop(): Promise<void>;
}

function portOption(text: string): number {
  const port = parsePort(text);
  if (port === undefined) throw new InvalidArgumentError("must be a port number (0-65535).");
  return port;
}

async function startEmulators(
  reset: boolean | undefined,
): Promise<{ stoppables: Stoppable[]; hostEnv: NodeJS.ProcessEnv }> {
  const stoppables: Stoppable[] = [];
  const tablePort = portSetting("AZURITE_TABLE_PORT");
  const serviceBusPort = portSetting("SERVICEBUS_EMULATOR_PORT");
  try {
    // Checked first because neither emulator's own error names the setting.
    await assertPortFree(tablePort, "AZURITE_TABLE_PORT");
    const azurite = await startAzuriteTables({
      port: tablePort,
      location: path.join(REPO_ROOT, ".azurite"),
    });
    stoppables.push({ name: "Azurite", stop: () => azurite.stop() });
    process.stdout.write(`Azurite tables listening on http://127.0.0.1:${azurite.port}\n`);

    await assertPortFree(serviceBusPort, "SERVICEBUS_EMULATOR_PORT");
    const serviceBus = await startServiceBusEmulator({
      port: serviceBusPort,
      dataDir: path.join(REPO_ROOT, ".servicebus"),
      reset,
    });
    stoppables.push({ name: "Service Bus emulator", stop: () => serviceBus.close() });
    process.stdout.write(
      `Service Bus emulator listening on amqp://127.0.0.1:${serviceBus.port} (queues: ${serviceBus.queues.join(", ")})\n`,
    );
    return {
      stoppables,
      hostEnv: {
        AzureWebJobsStorage: azurite.connectionString,
        ServiceBusConnection: serviceBus.connectionString,
      },
    };
  } catch (error) {
    await stopAll(stoppables);
    throw error;
  }
}

/** The host runs as a child process, as `func start` runs its worker, so it can be killed alone. */
function startHostProcess(env: NodeJS.ProcessEnv, port: number | undefined): ChildProcess {
  const args = ["--import", "tsx", HOST_MAIN, "--app-root", REPO_ROOT];
  if (port !== undefined) args.push("--port", String(port));
  return spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: "inherit",
  });
}

function waitForExit(child: ChildProcess): Promise<number> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code ?? 1)));
}

async function stopAll(stoppables: Stoppable[]): Promise<void> {
  for (const stoppable of [...stoppables].reverse()) {
    try {
      await stoppable.stop();
    } catch (error) {
      process.stderr.write(`Could not stop ${stoppable.name}: ${(error as Error).message}\n`);
    }
  }
}

function onStopSignal(handler: () => void): void {
  let stopping = false;
  const once = (): void => {
    if (stopping) return;
    stopping = true;
    handler();
  };
  process.on("SIGINT", once);
  process.on("SIGTERM", once);
}

async function main(): Promise<void> {
  const options = new Command()
    .name("start")
    .description("Runs the emulators and the Functions host for local development.")
    .option("--emulators-only", "start only Azurite tables and the Service Bus emulator")
    .option("--host-only", "start only the Functions host, with the settings as they are")
    .option("--port <port>", "the host's HTTP port (default: RELAY_PORT, else 7071)", portOption)
    .option("--reset", "start the Service Bus emulator with no messages")
    .parse()
    .opts<StartOptions>();
  if (options.emulatorsOnly && options.hostOnly) {
    throw new Error("--emulators-only and --host-only cannot be combined.");
  }
  // The host checks it too (it may come from local.settings.json); checked here so a bad value
  // stops `npm start` before the emulators start.
  if (!options.emulatorsOnly && options.port === undefined) portSetting("RELAY_PORT");

  const { stoppables, hostEnv } = options.hostOnly
    ? { stoppables: [], hostEnv: {} }
    : await startEmulators(options.reset);

  if (options.emulatorsOnly) {
    onStopSignal(() => void stopAll(stoppables).then(() => process.exit(0)));
    return;
  }

  try {
    await buildConsole(REPO_ROOT, path.join(REPO_ROOT, CONSOLE_ASSETS_FOLDER));
  } catch (error) {
    await stopAll(stoppables);
    throw error;
  }
  process.stdout.write(
    `Web console built into ${CONSOLE_ASSETS_FOLDER}/, served on /api/console/\n`,
  );
  const host = startHostProcess(hostEnv, options.port);
  // Ctrl-C reaches the host too (same process group); SIGTERM covers a `kill` of this process.
  onStopSignal(() => {
    if (host.exitCode === null) host.kill("SIGTERM");
  });
  const hostExitCode = await waitForExit(host);
  await stopAll(stoppables);
  process.exit(hostExitCode);
}

main().catch((error: unknown) => {
  process.stderr.write(`${oneLineMessage(error)}\n`);
  process.exit(1);
});
