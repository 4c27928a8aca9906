/**
 * Command line for the local Functions host (stands in for `func start`):
 *   npx tsx dev/host/main.ts [--app-root <dir>] [--entry <file>] [--port <n>] [--print-metadata]
 */
import { Command, InvalidArgumentError } from "commander";
import { parsePort } from "../local-ports";
import { loadApp, startHost, type RunningHost } from "./host";
import { registrationMetadata } from "./load-app";
import { oneLineMessage } from "./startup-error";

interface CliOptions {
  appRoot: string;
  entry?: string;
  port?: number;
  printMetadata?: boolean;
}

function portOption(text: string): number {
  const port = parsePort(text);
  if (port === undefined) throw new InvalidArgumentError("must be a port number (0-65535).");
  return port;
}

/** Any startup failure ends the process with exactly one stderr line, no stack trace. */
function failStartup(error: unknown): never {
  process.stderr.write(`${oneLineMessage(error)}\n`);
  process.exit(1);
}

function stopOnSignals(host: RunningHost): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return; // a second Ctrl-C while draining must not cut the drain short
    stopping = true;
    process.stdout.write(`Received ${signal}, stopping the Functions host\n`);
    host.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`Error while stopping: ${oneLineMessage(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

async function main(): Promise<void> {
  const options = new Command()
    .name("functions-host")
    .description("Runs an @azure/functions v4 app locally, like `func start`.")
    .option("--app-root <dir>", "folder with host.json and local.settings.json", process.cwd())
    .option(
      "--entry <file>",
      "the app's entry, relative to the app root (default functions/index.ts)",
    )
    .option("--port <port>", "HTTP port (default: setting RELAY_PORT, else 7071)", portOption)
    .option(
      "--print-metadata",
      "print the function metadata Azure would receive, as JSON, and exit",
    )
    .parse()
    .opts<CliOptions>();

  if (options.printMetadata) {
    const app = loadApp(options);
    process.stdout.write(`${JSON.stringify(registrationMetadata(app), null, 2)}\n`);
    // The app may have opened clients while loading; they must not keep this run alive.
    process.exit(0);
  }

  const host = await startHost(options);
  stopOnSignals(host);
  const names = host.functionNames.join(", ");
  process.stdout.write(
    `Functions host listening on http://127.0.0.1:${host.port} (${host.functionNames.length} functions: ${names})\n`,
  );
}

main().catch(failStartup);
