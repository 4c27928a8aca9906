import { readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { parseIsoDuration } from "./duration";

/** Settings of one queue, in the units the emulator works with. */
export interface QueueSettings {
  name: string;
  lockDurationMs: number;
  maxDeliveryCount: number;
  /** How long a messageId is remembered; `undefined` when duplicate detection is off. */
  duplicateDetectionWindowMs: number | undefined;
  /** `Infinity` when messages never expire. */
  defaultMessageTimeToLiveMs: number;
  deadLetteringOnMessageExpiration: boolean;
}

export interface EmulatorConfig {
  namespace: string;
  queues: QueueSettings[];
}

/** A config problem, with a one-line message that names the offending field. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

export const DEFAULT_CONFIG_PATH = path.join(__dirname, "config.json");

const MAX_LOCK_DURATION = { ms: 5 * 60_000, text: "PT5M" }; // Azure's upper bound

function isoDuration(max?: { ms: number; text: string }) {
  return z.string().transform((text, ctx) => {
    try {
      const ms = parseIsoDuration(text);
      if (ms <= 0) {
        ctx.addIssue({ code: "custom", message: `duration "${text}" must be greater than zero` });
      } else if (max && ms > max.ms) {
        ctx.addIssue({
          code: "custom",
          message: `duration "${text}" exceeds the maximum ${max.text}`,
        });
      }
      return ms;
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  });
}

function unsupportedForwarding(field: string) {
  return z
    .string()
    .refine((target) => target === "", {
      error: `${field} (auto-forwarding) is not supported by this emulator; use ""`,
    })
    .optional();
}

// Defaults are Azure's, so a queue declared with few properties behaves like one created in Azure.
const queuePropertiesSchema = z.strictObject({
  LockDuration: isoDuration(MAX_LOCK_DURATION).default(60_000),
  MaxDeliveryCount: z.number().int().min(1).default(10),
  RequiresDuplicateDetection: z.boolean().default(false),
  DuplicateDetectionHistoryTimeWindow: isoDuration().default(10 * 60_000),
  DefaultMessageTimeToLive: isoDuration().default(Number.POSITIVE_INFINITY),
  DeadLetteringOnMessageExpiration: z.boolean().default(false),
  RequiresSession: z
    .boolean()
    .refine((requiresSession) => !requiresSession, {
      error: "sessions are not supported by this emulator; use false",
    })
    .default(false),
  ForwardTo: unsupportedForwarding("ForwardTo"),
  ForwardDeadLetteredMessagesTo: unsupportedForwarding("ForwardDeadLetteredMessagesTo"),
});

const queueSchema = z.strictObject({
  Name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,259}$/, {
    error: "queue names use letters, digits, '.', '-' and '_' (no '/' or '$')",
  }),
  Properties: queuePropertiesSchema.default(queuePropertiesSchema.parse({})),
});

const configSchema = z.object({
  UserConfig: z.object({
    Namespaces: z
      .array(
        z.object({
          Name: z.string().min(1),
          Queues: z.array(queueSchema),
          Topics: z
            .array(z.unknown())
            .max(0, { error: "topics and subscriptions are not supported by this emulator" })
            .default([]),
        }),
      )
      .length(1, { error: "exactly one namespace is supported" }),
    Logging: z.object({ Type: z.enum(["File", "Console"]) }).optional(),
  }),
});

function formatPath(segments: ReadonlyArray<PropertyKey>): string {
  return segments
    .map((segment, index) =>
      typeof segment === "number" ? `[${segment}]` : `${index === 0 ? "" : "."}${String(segment)}`,
    )
    .join("");
}

/**
 * Validates a config in the format of Microsoft's Service Bus emulator
 * (`{"UserConfig":{"Namespaces":[{"Name":..,"Queues":[..],"Topics":[]}]}}`).
 */
export function parseEmulatorConfig(raw: unknown, source = "config"): EmulatorConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const location = issue.path.length > 0 ? formatPath(issue.path) : "(root)";
    throw new ConfigError(
      `Invalid Service Bus emulator config (${source}): ${location}: ${issue.message}`,
    );
  }
  const [namespace] = result.data.UserConfig.Namespaces;
  const seen = new Set<string>();
  const queues = namespace.Queues.map((queue, index): QueueSettings => {
    const key = queue.Name.toLowerCase();
    if (seen.has(key)) {
      throw new ConfigError(
        `Invalid Service Bus emulator config (${source}): UserConfig.Namespaces[0].Queues[${index}].Name: duplicate queue name "${queue.Name}"`,
      );
    }
    seen.add(key);
    const properties = queue.Properties;
    return {
      name: queue.Name,
      lockDurationMs: properties.LockDuration,
      maxDeliveryCount: properties.MaxDeliveryCount,
      duplicateDetectionWindowMs: properties.RequiresDuplicateDetection
        ? properties.DuplicateDetectionHistoryTimeWindow
        : undefined,
      defaultMessageTimeToLiveMs: properties.DefaultMessageTimeToLive,
      deadLetteringOnMessageExpiration: properties.DeadLetteringOnMessageExpiration,
    };
  });
  return { namespace: namespace.Name, queues };
}

/** Reads and validates a config file. */
export function loadEmulatorConfig(configPath: string): EmulatorConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(configPath, "utf8"));
  } catch (error) {
    throw new ConfigError(
      `Cannot read Service Bus emulator config ${configPath}: ${(error as Error).message.split("\n")[0]}`,
    );
  }
  return parseEmulatorConfig(raw, configPath);
}
