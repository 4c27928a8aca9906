/**
 * The child side of the cold-start benchmark: loads one bundled app entry the way the Azure
 * Functions Node.js worker does (with `@azure/functions-core` provided, so every `app.*` call really
 * registers) and prints what it measured as one JSON line.
 *
 * Usage: node load-entry.js <entry.js>
 */
import Module, { createRequire } from "node:module";
import path from "node:path";
import { performance } from "node:perf_hooks";

export interface LoadMeasurement {
  /** Time spent in `require(entry)`: parsing, compiling and running the app's module code. */
  requireMs: number;
  /** Time from the process's start until the entry was loaded (Node's own start-up included). */
  readyMs: number;
  /** Functions the entry registered. */
  functions: number;
}

type LoadFunction = (request: string, parent: unknown, isMain: boolean) => unknown;

const registeredFunctions: string[] = [];
let programmingModel: unknown;

/** The few members of the worker's core module that `@azure/functions` calls while an app loads. */
const functionsCoreStandIn = {
  version: "bench",
  hostVersion: "4.0.0-bench",
  registerFunction(metadata: { name: string }) {
    registeredFunctions.push(metadata.name);
    return { dispose: () => undefined };
  },
  registerHook: () => ({ dispose: () => undefined }),
  setProgrammingModel(model: unknown) {
    programmingModel = model;
  },
  getProgrammingModel: () => programmingModel,
  log: () => undefined,
};

const moduleInternals = Module as unknown as { _load: LoadFunction };
const originalLoad = moduleInternals._load;
moduleInternals._load = function loadWithFunctionsCore(request, parent, isMain) {
  if (request === "@azure/functions-core") return functionsCoreStandIn;
  return originalLoad.call(this, request, parent, isMain);
};

const entry = path.resolve(process.argv[2] ?? "");
const started = performance.now();
createRequire(entry)(entry);
const loaded = performance.now();

const measurement: LoadMeasurement = {
  requireMs: loaded - started,
  readyMs: loaded,
  functions: registeredFunctions.length,
};
process.stdout.write(`${JSON.stringify(measurement)}\n`);
