import path from "node:path";
import { httpFunctionRoutes, LOCAL_KEY_SETTING, startHttpServer } from "./http-server";
import { loadFunctionApp, type LoadedApp } from "./load-app";
import { describeError, logHost } from "./log";
import { serviceBusTriggers, startServiceBusListeners } from "./servicebus-listener";
import { applyLocalSettings, readHostOptions } from "./settings";

export const DEFAULT_ENTRY = path.join("functions", "index.ts");
export const DEFAULT_PORT = 7071;
/** How long shutdown waits for running invocations before disconnecting anyway. */
export const SHUTDOWN_TIMEOUT_MS = 10_000;

export interface StartHostOptions {
  /** Folder with host.json and local.settings(.sample).json. */
  appRoot: string;
  /** The app's entry, relative to appRoot unless absolute; default functions/index.ts. */
  entry?: string;
  /** Default: setting RELAY_PORT, else 7071. 0 picks a free port. */
  port?: number;
}

export interface RunningHost {
  port: number;
  functionNames: string[];
  /** Stops HTTP and Service Bus intake, lets running invocations finish (bounded), disconnects. */
  close(): Promise<void>;
}

/** Puts the settings into process.env and loads the app, as the worker does before indexing. */
export function loadApp(options: Pick<StartHostOptions, "appRoot" | "entry">): LoadedApp {
  applyLocalSettings(options.appRoot);
  return loadFunctionApp(path.resolve(options.appRoot, options.entry ?? DEFAULT_ENTRY));
}

/**
 * Hosts the app in this process: HTTP triggers on 127.0.0.1 and Service Bus triggers on their
 * queues. One host per process, because `@azure/functions` keeps its registrations globally.
 */
export async function startHost(options: StartHostOptions): Promise<RunningHost> {
  const hostOptions = readHostOptions(options.appRoot);
  const app = loadApp(options);
  // Both are resolved before anything starts, so a bad route or a missing setting stops startup.
  const routes = httpFunctionRoutes(app);
  const triggers = serviceBusTriggers(app, hostOptions.serviceBus);

  const hookData: Record<string, unknown> = {};
  for (const hook of app.hooks.appStart) {
    await hook({ hookData, functionAppDirectory: path.resolve(options.appRoot) });
  }

  const httpServer = await startHttpServer({
    app,
    routes,
    routePrefix: hostOptions.routePrefix,
    port: options.port ?? Number(process.env.RELAY_PORT || DEFAULT_PORT),
    localKey: process.env[LOCAL_KEY_SETTING] || undefined,
  });
  const listeners = startServiceBusListeners(app, triggers, hostOptions.serviceBus);

  return {
    port: httpServer.port,
    functionNames: app.functions.map((f) => f.metadata.name),
    async close() {
      await Promise.all([
        httpServer.close(SHUTDOWN_TIMEOUT_MS),
        listeners.close(SHUTDOWN_TIMEOUT_MS),
      ]);
      for (const hook of app.hooks.appTerminate) {
        try {
          await hook({ hookData });
        } catch (error) {
          logHost("error", `appTerminate hook failed: ${describeError(error)}`);
        }
      }
    },
  };
}
