/**
 * The slice of `@azure/functions-core` that `@azure/functions` uses. In Azure that module is built
 * into the Node.js language worker; the worker's package does not ship these types, so the shapes
 * the local host relies on are declared here.
 */

export type RpcLogLevel =
  "trace" | "debug" | "information" | "warning" | "error" | "critical" | "none";
export type RpcLogCategory = "user" | "system" | "customMetric";

export interface RpcHttpCookie {
  name?: string | null;
  value?: string | null;
  domain?: { value?: string | null } | null;
  path?: { value?: string | null } | null;
  expires?: { value?: { seconds?: number | null } | null } | null;
  secure?: { value?: boolean | null } | null;
  httpOnly?: { value?: boolean | null } | null;
  sameSite?: "none" | "lax" | "strict" | "explicitNone" | null;
  maxAge?: { value?: number | null } | null;
}

export interface RpcHttpData {
  method?: string | null;
  url?: string | null;
  headers?: Record<string, string> | null;
  body?: RpcTypedData | null;
  params?: Record<string, string> | null;
  statusCode?: string | null;
  query?: Record<string, string> | null;
  cookies?: RpcHttpCookie[] | null;
}

export interface RpcTypedData {
  string?: string | null;
  json?: string | null;
  bytes?: Uint8Array | null;
  http?: RpcHttpData | null;
  int?: number | null;
  double?: number | null;
}

export interface RpcParameterBinding {
  name?: string | null;
  data?: RpcTypedData | null;
}

/** Binding info as `@azure/functions` produces it: the core fields plus the trigger's own options. */
export interface RpcBindingInfo {
  type?: string | null;
  direction?: "in" | "out" | "inout" | null;
  dataType?: "undefined" | "string" | "binary" | "stream" | null;
  [option: string]: unknown;
}

export interface FunctionMetadata {
  name: string;
  functionId?: string;
  bindings: Record<string, RpcBindingInfo>;
  retryOptions?: unknown;
}

export interface RpcInvocationRequest {
  invocationId?: string | null;
  functionId?: string | null;
  inputData?: RpcParameterBinding[] | null;
  triggerMetadata?: Record<string, RpcTypedData> | null;
}

export interface RpcInvocationResponse {
  invocationId?: string | null;
  outputData?: RpcParameterBinding[] | null;
  returnValue?: RpcTypedData | null;
}

export type InvocationState = "preInvocationHooks" | "postInvocationHooks" | "invocation";

export interface CoreInvocationContext {
  invocationId: string;
  request: RpcInvocationRequest;
  metadata: FunctionMetadata;
  state?: InvocationState;
  log(level: RpcLogLevel, category: RpcLogCategory, message: string): void;
}

export type FunctionCallback = (...args: unknown[]) => unknown;

export interface InvocationModel {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
  invokeFunction(context: unknown, inputs: unknown[], callback: FunctionCallback): Promise<unknown>;
  getResponse(context: unknown, result: unknown): Promise<RpcInvocationResponse>;
}

export interface ProgrammingModel {
  name: string;
  version: string;
  getInvocationModel(coreContext: CoreInvocationContext): InvocationModel;
}

export type HookName = "appStart" | "appTerminate" | "preInvocation" | "postInvocation";
export type HookCallback = (context: Record<string, unknown>) => void | Promise<void>;

export interface Disposable {
  dispose(): void;
}

/** The module object that `require("@azure/functions-core")` returns inside the local host. */
export interface CoreApi {
  version: string;
  hostVersion: string;
  registerFunction(metadata: FunctionMetadata, callback: FunctionCallback): Disposable;
  registerHook(hookName: string, callback: HookCallback): Disposable;
  setProgrammingModel(model: ProgrammingModel): void;
  getProgrammingModel(): ProgrammingModel | undefined;
  log(level: RpcLogLevel, category: RpcLogCategory, message: string): void;
}
