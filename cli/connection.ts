/**
 * Where the CLI sends its calls and how it proves who calls. Locally it follows the same settings
 * the local host runs with (RELAY_PORT, RELAY_LOCAL_KEY, RELAY_ADMIN_AUTH: environment variables
 * first, then `Values` of the nearest local.settings.json), so a moved port or a changed key needs
 * no CLI option.
 */
import fs from "node:fs";
import path from "node:path";
import { localFailure, type RelayConnection } from "./relay-api";
import { bearerCredentials } from "./sign-in";

export const DEFAULT_PORT = 7071;
const LOCAL_SETTINGS_FILE = "local.settings.json";

/** The global options, as commander gives them (an option's environment variable included). */
export interface ConnectionOptions {
  url?: string;
  key?: string;
  auth?: "key" | "entra";
  scope?: string;
  tenant?: string;
}

/** A setting as the local host sees it: the environment wins over local.settings.json. */
type LocalSetting = (name: string) => string | undefined;

/** `Values` of the local.settings.json nearest to `from` (that folder or one above it). */
export function findLocalSettings(from: string): Record<string, string> {
  for (let folder = path.resolve(from); ; folder = path.dirname(folder)) {
    const file = path.join(folder, LOCAL_SETTINGS_FILE);
    if (fs.existsSync(file)) return readValues(file);
    if (path.dirname(folder) === folder) return {};
  }
}

function readValues(file: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    throw localFailure(
      "Bad local settings",
      `${file} could not be read as JSON: ${(error as Error).message.split("\n", 1)[0]}`,
    );
  }
  const values = (parsed as { Values?: unknown } | null)?.Values;
  if (typeof values !== "object" || values === null) return {};
  return Object.fromEntries(
    Object.entries(values).filter(
      (entry): entry is [string, string] => typeof entry[1] === "string",
    ),
  );
}

function localSettings(env: NodeJS.ProcessEnv, cwd: string): LocalSetting {
  let values: Record<string, string> | undefined;
  return (name) => env[name] || (values ??= findLocalSettings(cwd))[name] || undefined;
}

/** The local host's base URL: http://localhost:<RELAY_PORT, else 7071>. */
function localUrl(setting: LocalSetting): string {
  const text = setting("RELAY_PORT");
  if (text === undefined) return `http://localhost:${DEFAULT_PORT}`;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65_535)
    throw localFailure(
      "Bad setting",
      `RELAY_PORT must be a port number from 1 to 65535, not "${text}"`,
    );
  return `http://localhost:${port}`;
}

/** Loopback only: the local key and local settings never go to a relay elsewhere. */
function isLoopback(url: string): boolean {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (!parsed || !/^https?:$/.test(parsed.protocol))
    throw localFailure("Bad option", `--url (RELAY_URL) must be an http(s) URL, not "${url}"`);
  const host = parsed.hostname;
  return host === "localhost" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * Chooses how to call the relay. `--auth` decides when given; else an admin key (`--key`,
 * RELAY_ADMIN_KEY) means key mode and an API scope (`--scope`, RELAY_API_SCOPE) Entra sign-in;
 * else, for the local host, its settings decide (RELAY_ADMIN_AUTH, RELAY_LOCAL_KEY).
 */
export function resolveConnection(
  options: ConnectionOptions,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): RelayConnection {
  const setting = localSettings(env, cwd);
  const url = options.url ?? localUrl(setting);
  const local = isLoopback(url) ? setting : () => undefined;
  if (chooseMode(options, local) === "key") {
    const key = options.key ?? local("RELAY_LOCAL_KEY");
    if (!key)
      throw localFailure(
        "No admin key",
        "no admin key: pass --key or set RELAY_ADMIN_KEY (or sign in with Entra ID: --scope or RELAY_API_SCOPE)",
      );
    return {
      url,
      credentials: async () => ({ "x-functions-key": key }),
      unauthorizedHint: "the admin key is missing or wrong",
    };
  }

  // The local host in entra mode names its own API: RELAY_ADMIN_AUDIENCE and RELAY_ADMIN_TENANT_ID.
  const audience = local("RELAY_ADMIN_AUDIENCE")?.split(",")[0]?.trim();
  const scope = options.scope ?? (audience ? `${audience}/.default` : undefined);
  if (!scope)
    throw localFailure(
      "No API scope",
      "no API scope to sign in for: pass --scope or set RELAY_API_SCOPE (e.g. api://dm-flow-relay/.default)",
    );
  return {
    url,
    credentials: bearerCredentials(scope, options.tenant ?? local("RELAY_ADMIN_TENANT_ID")),
    unauthorizedHint: `the token for ${scope} was refused`,
  };
}

function chooseMode(options: ConnectionOptions, local: LocalSetting): "key" | "entra" {
  if (options.auth) return options.auth;
  if (options.key) return "key";
  if (options.scope) return "entra";
  return local("RELAY_ADMIN_AUTH") === "entra" ? "entra" : "key";
}
