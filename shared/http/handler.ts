import type {
  HttpHandler,
  HttpRequest,
  HttpResponseInit,
  InvocationContext,
} from "@azure/functions";
import type { RelayDeps } from "../app/deps";
import { getRelay } from "../composition";
import { createLogger, type Logger } from "../logging";
import { errorResponse } from "./responses";

export type RelayHttpHandler = (
  request: HttpRequest,
  deps: RelayDeps,
  log: Logger,
) => Promise<HttpResponseInit>;

export function contextLogger(context: InvocationContext): Logger {
  return createLogger({
    info: (line) => context.info(line),
    warn: (line) => context.warn(line),
    error: (line) => context.error(line),
  });
}

/** Builds the dependencies once, and turns every refusal or failure into problem+json. */
export function httpHandler(handle: RelayHttpHandler): HttpHandler {
  return async (request, context) => {
    const log = contextLogger(context);
    try {
      return await handle(request, await getRelay(), log);
    } catch (error) {
      return errorResponse(error, log);
    }
  };
}
