import path from "node:path";
import { followLocalPorts, portSetting } from "../local-ports";
import { LOCAL_KEY_SETTING } from "./http-answers";
import { httpFunctionRoutes, listenHttp } from "./http-server";
import { loadFunctionApp, type LoadedApp } from "./load-app";
import { describeError, logHost } from "./log";
import {
  runServiceBusFunctionNow,
  serviceBusTriggers,
  startServiceBusListeners,
} from "./servicebus-listener";
import { applyLocalSettings, readHostOptions } from "./settings";
import { StartupError } from "./startup-error";
import { startTimers, timerTriggers } from "./timer-triggers";

export const DEFAULT_ENTRY = path.join("functions", "index.ts");
/** How long shutdown waits for running invocations before disconnecting anyway. */
export const SHUTDOWN_TIMEOUT_MS = 10_000;
/** The triggers the local host runs; a function with any other trigger stops start-up. */
const SUPPORTED_TRIGGERS = ["httptrigger", "servicebustrigger", "timertrigger"];

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
  /** Stops HTTP, Service Bus and timer intake, lets running invocations finish (bounded). */
  close(): Promise<void>;
}

/** The port to listen on and what chose it, for the busy-port line. */
function hostPort(options: StartHostOptions): { port: number; chosenBy: string } {
  if (options.port !== undefined) return { port: options.port, chosenBy: "--port" };
  return { port: portSetting("RELAY_PORT"), chosenBy: "RELAY_PORT" };
}

/**
 * Puts the settings into process.env, the local ones following the port the host serves on, and
 * loads the app, as the worker does before indexing.
 */
function loadAppOn(options: StartHostOptions, port: number, takenFromFile: Set<string>): LoadedApp {
  followLocalPorts(process.env, takenFromFile, port);
  return loadFunctionApp(path.resolve(options.appRoot, options.entry ?? DEFAULT_ENTRY));
}

/** Loads the app with the settings it would have when hosted (for --print-metadata). */
export function loadApp(options: StartHostOptions): LoadedApp {
  const takenFromFile = applyLocalSettings(options.appRoot);
  return loadAppOn(options, hostPort(options).port, takenFromFile);
}

function checkSupportedTriggers(app: LoadedApp): void {
  for (const fn of app.functions) {
    const trigger = Object.values(fn.metadata.bindings).find((b) => /trigger$/i.test(b.type ?? ""));
    if (!SUPPORTED_TRIGGERS.includes(trigger?.type?.toLowerCase() ?? "")) {
      throw new StartupError(
        `Function "${fn.metadata.name}": trigger type "${trigger?.type}" is not supported by the local host.`,
      );
    }
  }
}

/**
 * Hosts the app in this process: HTTP triggers on 127.0.0.1, Service Bus triggers on their
 * queues, timer triggers on their schedules, and the admin API that runs a non-HTTP function
 * now. One host per process, because `@azure/functions` keeps its registrations globally.
 */
export async function startHost(options: StartHostOptions): Promise<RunningHost> {
  const hostOptions = readHostOptions(options.appRoot);
  const takenFromFile = applyLocalSettings(options.appRoot);
  const { port, chosenBy } = hostPort(options);
  // Bound first: a busy port stops start-up at once, and the app learns the port it serves on.
  const httpHost = await listenHttp(port, chosenBy);
  try {
    const app = loadAppOn(options, httpHost.port, takenFromFile);
    // All resolved before anything starts, so a bad route, schedule or setting stops start-up.
    checkSupportedTriggers(app);
    const routes = httpFunctionRoutes(app);
    const queueTriggers = serviceBusTriggers(app, hostOptions.serviceBus);
    const schedules = timerTriggers(app);

    const hookData: Record<string, unknown> = {};
    for (const hook of app.hooks.appStart) {
      await hook({ hookData, functionAppDirectory: path.resolve(options.appRoot) });
    }

    const listeners = startServiceBusListeners(app, queueTriggers, hostOptions.serviceBus);
    const timers = startTimers(app, schedules);
    httpHost.serve({
      app,
      routes,
      routePrefix: hostOptions.routePrefix,
      localKey: process.env[LOCAL_KEY_SETTING] || undefined,
      runFunctionNow(name, input) {
        // Function names are case-insensitive in Azure.
        const queue = queueTriggers.find(
          (t) => t.fn.metadata.name.toLowerCase() === name.toLowerCase(),
        );
        return timers.runNow(name) ?? (queue && runServiceBusFunctionNow(app, queue, input));
      },
    });

    return {
      port: httpHost.port,
      functionNames: app.functions.map((f) => f.metadata.name),
      async close() {
        await Promise.all([
          httpHost.close(SHUTDOWN_TIMEOUT_MS),
          listeners.close(SHUTDOWN_TIMEOUT_MS),
          timers.close(SHUTDOWN_TIMEOUT_MS),
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
  } catch (error) {
    await httpHost.close(0);
    throw error;
  }
}
