/**
 * What the functions load with the app: the settings check and the wrappers of their handlers.
 * It stays light on purpose: everything else (use cases, adapters, the Azure SDKs) is in
 * `./relay-kit`, loaded on the first invocation, so the app starts about as fast as an empty one.
 */
import type {
  HttpHandler,
  HttpRequest,
  HttpResponseInit,
  InvocationContext,
  ServiceBusQueueHandler,
  TimerHandler,
} from "@azure/functions";
import type { Invocation, RelayDeps } from "./app/deps";
import { loadConfig, type RelayConfig } from "./config";
import { createLogger, type Logger } from "./logging";
import type { StepMessage } from "./ports";
import type * as RelayKit from "./relay-kit";

let config: RelayConfig | undefined;
let kit: Promise<typeof RelayKit> | undefined;

/** The app settings, validated on first use; throws a one-line ConfigError when one is bad. */
export function relayConfig(): RelayConfig {
  config ??= loadConfig(process.env);
  return config;
}

/** The relay kit, loaded once, on the first invocation (a failed load is retried next call). */
function relayKit(): Promise<typeof RelayKit> {
  kit ??= import("./relay-kit").catch((error: unknown) => {
    kit = undefined;
    throw error;
  });
  return kit;
}

function contextLogger(context: InvocationContext): Logger {
  return createLogger({
    info: (line) => context.info(line),
    warn: (line) => context.warn(line),
    error: (line) => context.error(line),
  });
}

/** What an HTTP function's handler gets besides the request. */
export interface HttpKit {
  deps: RelayDeps;
  log: Logger;
  useCases: RelayKit.UseCases;
  routeIds: typeof RelayKit.routeIds;
  json: typeof RelayKit.json;
}

export type RelayHttpHandler = (request: HttpRequest, kit: HttpKit) => Promise<HttpResponseInit>;

/** Builds the dependencies once, and turns every refusal or failure into problem+json. */
export function httpHandler(handle: RelayHttpHandler): HttpHandler {
  return async (request, context) => {
    const log = contextLogger(context);
    const { getRelay, useCases, routeIds, json, errorResponse } = await relayKit();
    try {
      const deps = await getRelay(relayConfig());
      return await handle(request, { deps, log, useCases, routeIds, json });
    } catch (error) {
      return errorResponse(error, log);
    }
  };
}

export type StepUseCase = (
  deps: RelayDeps,
  message: StepMessage,
  invocation: Invocation,
) => Promise<void>;

/**
 * A Service Bus trigger running the use case `pick` names: a throw leaves the message to be
 * abandoned and redelivered (and dead-lettered after MaxDeliveryCount), which is what a failed
 * Table or queue write needs.
 */
export function queueHandler(
  pick: (useCases: RelayKit.UseCases) => StepUseCase,
): ServiceBusQueueHandler {
  return async (body: unknown, context: InvocationContext) => {
    const { getRelay, useCases, parseStepMessage } = await relayKit();
    const message = parseStepMessage(body);
    const log = contextLogger(context).with({
      storeId: message.storeId,
      workflowId: message.workflowId,
      requestId: message.requestId,
      deliveryCount: context.triggerMetadata?.deliveryCount as number | undefined,
    });
    try {
      await pick(useCases)(await getRelay(relayConfig()), message, { log });
    } catch (error) {
      log.error("step failed; Service Bus will deliver the message again", {
        error: error instanceof Error ? error.message : String(error),
      });
      throw error;
    }
  };
}

/**
 * A timer trigger running a use case over the whole relay. A throw is logged and ends the run;
 * the schedule stays, so the next run tries again.
 */
export function timerHandler(
  pick: (
    useCases: RelayKit.UseCases,
  ) => (deps: RelayDeps, invocation: Invocation) => Promise<unknown>,
): TimerHandler {
  return async (_timer, context) => {
    const { getRelay, useCases } = await relayKit();
    const log = contextLogger(context);
    try {
      await pick(useCases)(await getRelay(relayConfig()), { log });
    } catch (error) {
      log.error("timer run failed; the next run tries again", {
        error: error instanceof Error ? error.message : String(error),
      });
      throw error;
    }
  };
}
