/**
 * What the functions load with the app: the settings check and the wrappers of their handlers.
 * It stays light on purpose: everything else (use cases, adapters, the Azure SDKs) is in
 * `./relay-kit`, loaded on the first invocation, so the app starts about as fast as an empty one.
 */
import type {
  HttpFunctionOptions,
  HttpHandler,
  HttpMethod,
  HttpRequest,
  HttpResponseInit,
  InvocationContext,
  ServiceBusQueueHandler,
  TimerHandler,
} from "@azure/functions";
import type { AdminActor, Invocation, RelayDeps } from "./app/deps";
import { loadConfig, type RelayConfig } from "./config";
import type { AdminAccess, AdminCaller } from "./http/admin-access";
import { createLogger, type LogFields, type Logger } from "./logging";
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

/** What an admin route's handler gets: the HTTP kit, and who is calling. */
export interface AdminHttpKit extends HttpKit {
  caller: AdminCaller;
  /** Who makes the change, for the use cases that record it (`Invocation.actor`). */
  actor: AdminActor;
  /** Adds fields to the "admin change" line logged when the change succeeds. */
  audit(fields: LogFields): void;
}

export type AdminHttpHandler = (
  request: HttpRequest,
  kit: AdminHttpKit,
) => Promise<HttpResponseInit>;

export interface AdminRouteOptions {
  route: string;
  methods: HttpMethod[];
  handler: AdminHttpHandler;
}

/**
 * An admin route (CONTRACT "HTTP API"): `app.http(name, adminRoute({ route, methods, handler }))`.
 * A GET reads (`Relay.Reader` or `Relay.Admin`); any other method changes something
 * (`Relay.Admin`), and a change that succeeds logs one "admin change" line naming who made it.
 * With RELAY_ADMIN_AUTH=key the Functions host checks the function key (authLevel admin); with
 * entra the host lets every request in and the app requires an Entra bearer token. Both halves
 * come from here, so a route can never be anonymous to the host without the app checking it.
 */
export function adminRoute(options: AdminRouteOptions): HttpFunctionOptions {
  return {
    route: options.route,
    methods: options.methods,
    authLevel: relayConfig().adminAuth.mode === "key" ? "admin" : "anonymous",
    handler: adminHttpHandler(options.handler),
  };
}

function adminHttpHandler(handle: AdminHttpHandler): HttpHandler {
  return async (request, context) => {
    const log = contextLogger(context);
    const kit = await relayKit();
    const access: AdminAccess = request.method === "GET" ? "read" : "change";
    try {
      const config = relayConfig();
      const admission = await kit.admitAdmin(
        kit.getAdminAuthenticator(config),
        request.headers.get("authorization"),
        access,
        log,
      );
      if (!admission.admitted) return admission.response;
      const { caller } = admission;
      const adminLog = log.with(kit.actorFields(caller.actor));
      const audited: LogFields = {};
      const response = await handle(request, {
        deps: await kit.getRelay(config),
        log: adminLog,
        useCases: kit.useCases,
        routeIds: kit.routeIds,
        json: kit.json,
        caller,
        actor: caller.actor,
        audit: (fields) => Object.assign(audited, fields),
      });
      if (access === "change" && (response.status ?? 200) < 400)
        adminLog.info("admin change", {
          action: context.functionName,
          method: request.method,
          ...request.params,
          ...audited,
        });
      return response;
    } catch (error) {
      return kit.errorResponse(error, log);
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

/**
 * The health route: the probes' report, and a report naming Table Storage when the relay could
 * not even be built (building it makes the tables, so that is what failed).
 */
export function healthHandler(): HttpHandler {
  return async (_request, context) => {
    const { getRelay, useCases, json } = await relayKit();
    try {
      const report = await useCases.checkHealth(await getRelay(relayConfig()));
      return json(report.status === "healthy" ? 200 : 503, report);
    } catch (error) {
      contextLogger(context).warn("health: the relay could not be built", {
        error: error instanceof Error ? error.message : String(error),
      });
      return json(503, { status: "unhealthy", checks: { tables: "failing" } });
    }
  };
}
