import path from "node:path";
import type { FunctionMetadata, HookCallback, HookName, ProgrammingModel } from "./core-api";
import { createCoreModuleStandIn, installCoreModule, type RegisteredFunction } from "./core-module";
import { StartupError, oneLineMessage } from "./startup-error";

/** An app whose entry has been loaded, with everything it registered. */
export interface LoadedApp {
  functions: RegisteredFunction[];
  programmingModel: ProgrammingModel;
  hooks: Record<HookName, HookCallback[]>;
}

/**
 * Requires the app's entry (a .ts file works because the host runs under tsx) with the
 * `@azure/functions-core` stand-in in place, and returns what it registered. Settings must already
 * be in `process.env`: the app reads and validates them while it loads.
 */
export function loadFunctionApp(entry: string): LoadedApp {
  const standIn = createCoreModuleStandIn();
  installCoreModule(standIn.api);
  try {
    // A runtime require, not an import: the entry is only known now, and must load after the
    // stand-in is installed.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(path.resolve(entry));
  } catch (error) {
    throw new StartupError(oneLineMessage(error));
  } finally {
    standIn.closeRegistration();
  }

  const { functions, programmingModel, hooks } = standIn.registrations;
  if (functions.length === 0) {
    throw new StartupError(`No functions were registered by ${entry}.`);
  }
  if (!programmingModel) {
    throw new StartupError(
      `${entry} registered functions without the @azure/functions programming model.`,
    );
  }
  return { functions, programmingModel, hooks };
}

/** The registration metadata Azure would receive from the worker, one entry per function. */
export function registrationMetadata(app: LoadedApp): FunctionMetadata[] {
  return app.functions.map((f) => f.metadata);
}
