import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { StartupError } from "./startup-error";

export const LOCAL_SETTINGS_FILE = "local.settings.json";
export const LOCAL_SETTINGS_SAMPLE_FILE = "local.settings.sample.json";
export const HOST_JSON_FILE = "host.json";

const localSettingsSchema = z.object({
  IsEncrypted: z.literal(false).optional(),
  Values: z.record(z.string(), z.string()).default({}),
});

/** Reads a JSON file, turning any problem into a one-line error that names the file. */
function readJsonFile<T>(filePath: string, schema: z.ZodType<T>): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(filePath, "utf8"));
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n", 1)[0] : String(error);
    throw new StartupError(`${filePath} could not be read as JSON: ${reason}`);
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join(".")}` : "";
    throw new StartupError(
      `${filePath} is not valid${where}: ${issue?.message ?? "unknown problem"}`,
    );
  }
  return result.data;
}

/**
 * The app settings as `func start` sees them: `Values` from local.settings.json (created from the
 * sample on first run), with environment variables taking precedence. The result is also written
 * to `process.env`, because the app reads its settings from there while it loads. Returns the
 * names whose value came from the file.
 */
export function applyLocalSettings(
  appRoot: string,
  env: NodeJS.ProcessEnv = process.env,
): Set<string> {
  const settingsPath = path.join(appRoot, LOCAL_SETTINGS_FILE);
  const samplePath = path.join(appRoot, LOCAL_SETTINGS_SAMPLE_FILE);
  if (!fs.existsSync(settingsPath) && fs.existsSync(samplePath)) {
    fs.copyFileSync(samplePath, settingsPath, fs.constants.COPYFILE_EXCL);
    process.stdout.write(`Created ${settingsPath} from ${LOCAL_SETTINGS_SAMPLE_FILE}\n`);
  }
  const takenFromFile = new Set<string>();
  if (!fs.existsSync(settingsPath)) return takenFromFile;

  const { Values } = readJsonFile(settingsPath, localSettingsSchema);
  for (const [name, value] of Object.entries(Values)) {
    if (env[name] !== undefined) continue;
    env[name] = value;
    takenFromFile.add(name);
  }
  return takenFromFile;
}

/** TimeSpan text as host.json uses it: "hh:mm:ss" or "d.hh:mm:ss" (fractional seconds allowed). */
export function parseTimeSpan(text: string): number {
  const match = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$/.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a TimeSpan like "00:05:00"`);
  const [, days = "0", hours = "0", minutes = "0", seconds = "0"] = match;
  return (
    ((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60_000 + Number(seconds) * 1000
  );
}

const timeSpanSchema = z.string().transform((text, ctx) => {
  try {
    return parseTimeSpan(text);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message });
    return z.NEVER;
  }
});

const hostJsonSchema = z.object({
  extensions: z
    .object({
      http: z.object({ routePrefix: z.string().optional() }).optional(),
      serviceBus: z
        .object({
          prefetchCount: z.number().int().min(0).optional(),
          autoCompleteMessages: z.boolean().optional(),
          maxConcurrentCalls: z.number().int().min(1).optional(),
          maxAutoLockRenewalDuration: timeSpanSchema.optional(),
        })
        .optional(),
    })
    .optional(),
});

export interface ServiceBusHostOptions {
  prefetchCount: number;
  autoCompleteMessages: boolean;
  maxConcurrentCalls: number;
  maxAutoLockRenewalDurationMs: number;
}

export interface HostOptions {
  routePrefix: string;
  serviceBus: ServiceBusHostOptions;
}

/** The host.json settings the local host honours, with the Functions host's defaults. */
export function readHostOptions(appRoot: string): HostOptions {
  const hostJsonPath = path.join(appRoot, HOST_JSON_FILE);
  const hostJson = fs.existsSync(hostJsonPath) ? readJsonFile(hostJsonPath, hostJsonSchema) : {};
  const serviceBus = hostJson.extensions?.serviceBus ?? {};
  return {
    routePrefix: hostJson.extensions?.http?.routePrefix ?? "api",
    serviceBus: {
      prefetchCount: serviceBus.prefetchCount ?? 0,
      autoCompleteMessages: serviceBus.autoCompleteMessages ?? true,
      // Service Bus extension 5.x default: 16 per processor.
      maxConcurrentCalls: serviceBus.maxConcurrentCalls ?? 16 * os.availableParallelism(),
      maxAutoLockRenewalDurationMs: serviceBus.maxAutoLockRenewalDuration ?? 5 * 60_000,
    },
  };
}
