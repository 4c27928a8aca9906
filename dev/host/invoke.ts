import { randomUUID } from "node:crypto";
import type {
  CoreInvocationContext,
  RpcInvocationRequest,
  RpcInvocationResponse,
  RpcParameterBinding,
  RpcTypedData,
} from "./core-api";
import type { RegisteredFunction } from "./core-module";
import type { LoadedApp } from "./load-app";
import { describeError, logFunction } from "./log";

export interface InvocationInput {
  /** Why the function runs, for the "Executing" log line (e.g. the route or the queue). */
  reason: string;
  /** Data for the trigger binding, as the Functions host would send it over RPC. */
  triggerData: RpcTypedData;
  triggerMetadata?: Record<string, RpcTypedData>;
}

/** The name of the function's trigger binding (the one input whose type ends in "Trigger"). */
function triggerBindingName(fn: RegisteredFunction): string {
  const entry = Object.entries(fn.metadata.bindings).find(([, b]) =>
    /trigger$/i.test(b.type ?? ""),
  );
  if (!entry) throw new Error(`Function "${fn.metadata.name}" has no trigger binding.`);
  return entry[0];
}

/**
 * Runs one invocation the way the Node.js worker does: the library's own invocation model turns
 * RPC data into the handler's arguments and the handler's result back into RPC data, with the
 * app's pre/post invocation hooks around the call. Like the Functions host it logs the start and
 * the outcome (with the error's stack on failure); a failure is then rethrown to the caller.
 */
export async function invokeFunction(
  app: LoadedApp,
  fn: RegisteredFunction,
  input: InvocationInput,
): Promise<RpcInvocationResponse> {
  const invocationId = randomUUID();
  const functionName = fn.metadata.name;
  const started = Date.now();
  logFunction(
    functionName,
    "information",
    `Executing (Reason='${input.reason}', Id=${invocationId})`,
  );
  try {
    const response = await runInvocation(app, fn, input, invocationId);
    const duration = Date.now() - started;
    logFunction(
      functionName,
      "information",
      `Executed (Succeeded, Id=${invocationId}, Duration=${duration}ms)`,
    );
    return response;
  } catch (error) {
    const duration = Date.now() - started;
    logFunction(
      functionName,
      "error",
      `Executed (Failed, Id=${invocationId}, Duration=${duration}ms) ${describeError(error)}`,
    );
    throw error;
  }
}

async function runInvocation(
  app: LoadedApp,
  fn: RegisteredFunction,
  input: InvocationInput,
  invocationId: string,
): Promise<RpcInvocationResponse> {
  const functionName = fn.metadata.name;
  const inputData: RpcParameterBinding[] = [
    { name: triggerBindingName(fn), data: input.triggerData },
  ];
  const request: RpcInvocationRequest = {
    invocationId,
    functionId: functionName,
    inputData,
    triggerMetadata: input.triggerMetadata ?? {},
  };
  const coreContext: CoreInvocationContext = {
    invocationId,
    request,
    metadata: fn.metadata,
    log: (level, _category, message) => logFunction(functionName, level, message),
  };

  const model = app.programmingModel.getInvocationModel(coreContext);
  const { context, inputs } = await model.getArguments();

  const hookData: Record<string, unknown> = {};
  const preInvocation = {
    hookData,
    invocationContext: context,
    inputs,
    functionCallback: fn.handler,
  };
  coreContext.state = "preInvocationHooks";
  for (const hook of app.hooks.preInvocation) await hook(preInvocation);

  coreContext.state = "invocation";
  let result: unknown;
  let error: unknown;
  try {
    result = await model.invokeFunction(
      context,
      preInvocation.inputs,
      preInvocation.functionCallback,
    );
  } catch (thrown) {
    error = thrown ?? new Error("Function threw a nullish value");
  }

  const postInvocation = {
    hookData,
    invocationContext: context,
    inputs: preInvocation.inputs,
    result,
    error,
  };
  coreContext.state = "postInvocationHooks";
  for (const hook of app.hooks.postInvocation) await hook(postInvocation);
  coreContext.state = undefined;

  if (postInvocation.error) throw postInvocation.error;
  return model.getResponse(context, postInvocation.result);
}
