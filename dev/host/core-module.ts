import Module from "node:module";
import type {
  CoreApi,
  FunctionCallback,
  FunctionMetadata,
  HookCallback,
  HookName,
  ProgrammingModel,
} from "./core-api";
import { logHost } from "./log";

const CORE_MODULE_ID = "@azure/functions-core";
const HOOK_NAMES: readonly HookName[] = [
  "appStart",
  "appTerminate",
  "preInvocation",
  "postInvocation",
];

export interface RegisteredFunction {
  metadata: FunctionMetadata;
  handler: FunctionCallback;
}

/** What the app registered through the stand-in while its entry was loading. */
export interface AppRegistrations {
  functions: RegisteredFunction[];
  programmingModel: ProgrammingModel | undefined;
  hooks: Record<HookName, HookCallback[]>;
}

export interface CoreModuleStandIn {
  api: CoreApi;
  registrations: AppRegistrations;
  /** Azure indexes functions only while the app loads; later registrations are refused. */
  closeRegistration(): void;
}

function isHookName(name: string): name is HookName {
  return (HOOK_NAMES as readonly string[]).includes(name);
}

/** The object the Node.js worker would expose as `@azure/functions-core`, recording registrations. */
export function createCoreModuleStandIn(): CoreModuleStandIn {
  const registrations: AppRegistrations = {
    functions: [],
    programmingModel: undefined,
    hooks: { appStart: [], appTerminate: [], preInvocation: [], postInvocation: [] },
  };
  let registrationOpen = true;

  const api: CoreApi = {
    version: "local-host",
    hostVersion: "4.0.0-local",
    registerFunction(metadata, handler) {
      if (!registrationOpen) {
        throw new Error(`Function "${metadata.name}" must be registered while the app loads.`);
      }
      if (registrations.functions.some((f) => f.metadata.name === metadata.name)) {
        throw new Error(`A function named "${metadata.name}" is already registered.`);
      }
      const registered = { metadata, handler };
      registrations.functions.push(registered);
      return {
        dispose: () => {
          registrations.functions = registrations.functions.filter((f) => f !== registered);
        },
      };
    },
    registerHook(hookName, callback) {
      if (!isHookName(hookName)) {
        throw new Error(`Hook "${hookName}" is not supported by the local host.`);
      }
      registrations.hooks[hookName].push(callback);
      return {
        dispose: () => {
          registrations.hooks[hookName] = registrations.hooks[hookName].filter(
            (c) => c !== callback,
          );
        },
      };
    },
    setProgrammingModel(model) {
      registrations.programmingModel = model;
    },
    getProgrammingModel() {
      return registrations.programmingModel;
    },
    log(level, _category, message) {
      // Library-internal ("system") messages below warning are worker chatter, not app output.
      if (level === "warning" || level === "error" || level === "critical") {
        logHost(level, message);
      }
    },
  };

  return {
    api,
    registrations,
    closeRegistration: () => {
      registrationOpen = false;
    },
  };
}

type LoadFunction = (request: string, parent: unknown, isMain: boolean) => unknown;

let coreModuleInstalled = false;

/**
 * Makes `require("@azure/functions-core")` return the stand-in. `@azure/functions` requires it lazily
 * at its first `app.*` call, so this must run before the app's entry is required. The hook is
 * process-wide and permanent, which is why one process hosts one app.
 */
export function installCoreModule(api: CoreApi): void {
  if (coreModuleInstalled)
    throw new Error("The @azure/functions-core stand-in is already installed.");
  coreModuleInstalled = true;
  const moduleInternals = Module as unknown as { _load: LoadFunction };
  const originalLoad = moduleInternals._load;
  moduleInternals._load = function loadWithCoreModule(request, parent, isMain) {
    if (request === CORE_MODULE_ID) return api;
    return originalLoad.call(this, request, parent, isMain);
  };
}
