/**
 * The local platform's ports, in one place: one set of port settings moves the host and both
 * emulators, and the settings that name those ports (the relay's public base URL, the two
 * connection strings) follow them unless they were set on purpose. Used by dev/start.ts (which
 * starts the emulators) and by the host (which connects to them).
 */
import net from "node:net";
import { azuriteConnectionString } from "./azurite";
import { StartupError } from "./host/startup-error";
import { emulatorConnectionString } from "./servicebus-emulator";

/** Each port setting with its default. */
export const PORT_SETTINGS = {
  RELAY_PORT: 7071,
  AZURITE_TABLE_PORT: 10002,
  SERVICEBUS_EMULATOR_PORT: 5672,
} as const;
export type PortSetting = keyof typeof PORT_SETTINGS;

/** The relay's address as local.settings.sample.json writes it, for a host on `port`. */
export function localPublicBaseUrl(port: number): string {
  return `http://localhost:${port}`;
}

/**
 * The values local.settings.sample.json gives the settings that name a local port: they mean
 * "the local platform at its default ports", so they follow the port settings.
 */
export const SAMPLE_LOCAL_VALUES = {
  RELAY_PUBLIC_BASE_URL: localPublicBaseUrl(PORT_SETTINGS.RELAY_PORT),
  AzureWebJobsStorage: azuriteConnectionString(PORT_SETTINGS.AZURITE_TABLE_PORT),
  ServiceBusConnection: emulatorConnectionString(PORT_SETTINGS.SERVICEBUS_EMULATOR_PORT),
} as const;

/** A TCP port number (0-65535) written in decimal, or undefined. */
export function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port <= 65535 ? port : undefined;
}

/** The port a setting names (its default when unset); a malformed value stops start-up. */
export function portSetting(name: PortSetting, env: NodeJS.ProcessEnv = process.env): number {
  const text = env[name]?.trim();
  if (!text) return PORT_SETTINGS[name];
  const port = parsePort(text);
  if (port === undefined) throw new StartupError(`Setting ${name} must be a port number (0-65535)`);
  return port;
}

/** A port the host connects to: 0 ("any free port" when starting an emulator) names none. */
function connectPort(name: PortSetting, env: NodeJS.ProcessEnv): number {
  const port = portSetting(name, env);
  if (port === 0) {
    throw new StartupError(
      `Setting ${name} is 0 (any free port), so the host cannot tell where to connect: set the port the emulator listens on`,
    );
  }
  return port;
}

/**
 * Makes the settings that name a local port follow the port settings. A value set in the
 * environment is used as is. A value local.settings.json leaves at the sample's (or, for
 * RELAY_PUBLIC_BASE_URL, leaves out) is rewritten for the ports in use: the public base URL for
 * the host's port, the connection strings for AZURITE_TABLE_PORT and SERVICEBUS_EMULATOR_PORT.
 */
export function followLocalPorts(
  env: NodeJS.ProcessEnv,
  takenFromFile: ReadonlySet<string>,
  hostPort: number,
): void {
  const atSampleValue = (name: keyof typeof SAMPLE_LOCAL_VALUES): boolean =>
    takenFromFile.has(name) && env[name] === SAMPLE_LOCAL_VALUES[name];
  if (!env.RELAY_PUBLIC_BASE_URL || atSampleValue("RELAY_PUBLIC_BASE_URL")) {
    env.RELAY_PUBLIC_BASE_URL = localPublicBaseUrl(hostPort);
  }
  if (atSampleValue("AzureWebJobsStorage")) {
    env.AzureWebJobsStorage = azuriteConnectionString(connectPort("AZURITE_TABLE_PORT", env));
  }
  if (atSampleValue("ServiceBusConnection")) {
    env.ServiceBusConnection = emulatorConnectionString(
      connectPort("SERVICEBUS_EMULATOR_PORT", env),
    );
  }
}

/**
 * The one line for a port that cannot be listened on, naming what chose it (a setting or an
 * option); undefined when the error is not about the port.
 */
export function portUnavailable(
  error: unknown,
  port: number,
  chosenBy: string,
): StartupError | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "EADDRINUSE") {
    return new StartupError(
      `Port ${port} (${chosenBy}) is in use: stop what listens there or choose another port with ${chosenBy}`,
    );
  }
  if (code === "EACCES") {
    return new StartupError(
      `Port ${port} (${chosenBy}) may not be used by this user: choose a port above 1023 with ${chosenBy}`,
    );
  }
  return undefined;
}

/**
 * Fails with the one line naming the setting when 127.0.0.1:port cannot be listened on. For the
 * emulators, whose own errors name no setting; checked just before each one starts.
 */
export function assertPortFree(port: number, chosenBy: string): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", (error) => reject(portUnavailable(error, port, chosenBy) ?? error));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve()));
  });
}
