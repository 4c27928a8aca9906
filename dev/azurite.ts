import { ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { freePort } from "./free-port";

/** Azurite's fixed development account; its key is public and documented by Microsoft. */
export const AZURITE_ACCOUNT = "devstoreaccount1";
const AZURITE_ACCOUNT_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface AzuriteTables {
  port: number;
  /** The emulator's process, e.g. to read its CPU time. */
  pid: number | undefined;
  connectionString: string;
  stop(): Promise<void>;
}

export interface AzuriteOptions {
  /** Omitted or 0 picks a free port. */
  port?: number;
  /** Folder for Azurite's data; omitted means in-memory (tests). */
  location?: string;
}

export function azuriteConnectionString(port: number): string {
  return (
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_ACCOUNT_KEY};` +
    `TableEndpoint=http://127.0.0.1:${port}/${AZURITE_ACCOUNT};`
  );
}

/** Starts the real Azurite Table emulator as a child process on 127.0.0.1. */
export async function startAzuriteTables(options: AzuriteOptions = {}): Promise<AzuriteTables> {
  // Azurite does not report the port it got for port 0, so a free one is picked first.
  const port = options.port || (await freePort());
  const bin = path.join(__dirname, "..", "node_modules", ".bin", "azurite-table");
  const args = [
    "--tableHost",
    "127.0.0.1",
    "--tablePort",
    String(port),
    "--skipApiVersionCheck",
    "--disableTelemetry",
  ];
  if (options.location) args.push("--location", options.location);
  else args.push("--inMemoryPersistence");

  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let output = "";
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes("successfully started")) {
        child.stdout?.off("data", onData);
        child.stdout?.resume();
        resolve({
          port,
          pid: child.pid,
          connectionString: azuriteConnectionString(port),
          stop: () => stop(child),
        });
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) =>
      reject(new Error(`Azurite exited with code ${code} before listening: ${output.trim()}`)),
    );
    child.once("error", reject);
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}
