import {
  ConfigError,
  DEFAULT_CONFIG_PATH,
  loadEmulatorConfig,
  parseEmulatorConfig,
} from "./config";
import type { EmulatorConfig } from "./config";
import { MessageJournal } from "./message-journal";
import { systemClock } from "./queue-store";
import { EmulatorServer } from "./server";

export { ConfigError, parseEmulatorConfig, loadEmulatorConfig } from "./config";
export type { EmulatorConfig, QueueSettings } from "./config";
export { parseIsoDuration } from "./duration";

export const DEFAULT_PORT = 5672;
export const DEFAULT_HOST = "127.0.0.1";

export interface ServiceBusEmulatorOptions {
  /** Defaults to SERVICEBUS_EMULATOR_PORT, else 5672; 0 picks a free port. */
  port?: number;
  /** Defaults to 127.0.0.1: the emulator has no authentication and is not for other hosts. */
  host?: string;
  /** Config file; defaults to SERVICEBUS_EMULATOR_CONFIG, else dev/servicebus-emulator/config.json. */
  configPath?: string;
  /** A config object in the same format, instead of a file. */
  config?: unknown;
  /** Folder (LevelDB) that keeps the messages across restarts; omitted: in memory only. */
  dataDir?: string;
  /** Start with no messages, forgetting what `dataDir` holds. */
  reset?: boolean;
  log?: (line: string) => void;
}

export interface ServiceBusEmulator {
  port: number;
  /** For `new ServiceBusClient(connectionString)`. */
  connectionString: string;
  queues: string[];
  close(): Promise<void>;
}

function resolveConfig(options: ServiceBusEmulatorOptions): EmulatorConfig {
  if (options.config !== undefined) return parseEmulatorConfig(options.config, "options.config");
  return loadEmulatorConfig(
    options.configPath || process.env.SERVICEBUS_EMULATOR_CONFIG || DEFAULT_CONFIG_PATH,
  );
}

function resolvePort(options: ServiceBusEmulatorOptions): number {
  if (options.port !== undefined) return options.port;
  const fromEnv = process.env.SERVICEBUS_EMULATOR_PORT;
  if (fromEnv === undefined || fromEnv === "") return DEFAULT_PORT;
  const port = Number(fromEnv);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`SERVICEBUS_EMULATOR_PORT must be a port number, got "${fromEnv}"`);
  }
  return port;
}

export function emulatorConnectionString(port: number): string {
  return `Endpoint=sb://localhost:${port};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;`;
}

/** Starts a Service Bus emulator (queues only) that `@azure/service-bus` can use unchanged. */
export async function startServiceBusEmulator(
  options: ServiceBusEmulatorOptions = {},
): Promise<ServiceBusEmulator> {
  const config = resolveConfig(options);
  const port = resolvePort(options);
  const log = options.log ?? (() => undefined);
  const journal =
    options.dataDir === undefined
      ? undefined
      : await MessageJournal.open(options.dataDir, { reset: options.reset, log });
  const server = new EmulatorServer({
    host: options.host ?? DEFAULT_HOST,
    port,
    config,
    log,
    clock: systemClock,
    journal,
  });
  try {
    const boundPort = await server.listen();
    return {
      port: boundPort,
      connectionString: emulatorConnectionString(boundPort),
      queues: server.queueNames,
      close: async () => {
        await server.close();
        await journal?.close();
      },
    };
  } catch (error) {
    await journal?.close();
    throw error;
  }
}
