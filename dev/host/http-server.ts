import { timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { RpcHttpCookie, RpcHttpData, RpcInvocationResponse, RpcTypedData } from "./core-api";
import type { RegisteredFunction } from "./core-module";
import { invokeFunction } from "./invoke";
import type { LoadedApp } from "./load-app";
import { logHost } from "./log";
import { StartupError, oneLineMessage } from "./startup-error";
import { compareRouteSpecificity, compileRoute, splitPath, type CompiledRoute } from "./routes";

/** The setting holding the key that `function` and `admin` level routes require locally. */
export const LOCAL_KEY_SETTING = "RELAY_LOCAL_KEY";

type AuthLevel = "anonymous" | "function" | "admin";

export interface HttpFunctionRoute {
  fn: RegisteredFunction;
  route: CompiledRoute;
  methods: Set<string>;
  authLevel: AuthLevel;
}

/** The HTTP-triggered functions of the app with their compiled routes, most specific first. */
export function httpFunctionRoutes(app: LoadedApp): HttpFunctionRoute[] {
  const routes: HttpFunctionRoute[] = [];
  for (const fn of app.functions) {
    const trigger = Object.values(fn.metadata.bindings).find(
      (b) => b.type?.toLowerCase() === "httptrigger",
    );
    if (!trigger) continue;
    const template = typeof trigger.route === "string" ? trigger.route : fn.metadata.name;
    const methods = Array.isArray(trigger.methods) ? trigger.methods : ["GET", "POST"];
    let route: CompiledRoute;
    try {
      route = compileRoute(template);
    } catch (error) {
      throw new StartupError(`Function "${fn.metadata.name}": ${oneLineMessage(error)}`);
    }
    routes.push({
      fn,
      route,
      methods: new Set(methods.map((m) => String(m).toUpperCase())),
      authLevel: (trigger.authLevel as AuthLevel | undefined) ?? "anonymous",
    });
  }
  return routes.sort((a, b) => compareRouteSpecificity(a.route, b.route));
}

export interface HttpServerOptions {
  app: LoadedApp;
  routes: HttpFunctionRoute[];
  routePrefix: string;
  port: number;
  /** Expected key for non-anonymous routes; when unset those routes always answer 401. */
  localKey: string | undefined;
}

export interface RunningHttpServer {
  port: number;
  /** Stops accepting requests and waits (bounded) for the ones in progress. */
  close(timeoutMs: number): Promise<void>;
}

function keysEqual(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function isAuthorized(
  route: HttpFunctionRoute,
  req: http.IncomingMessage,
  url: URL,
  localKey: string | undefined,
): boolean {
  if (route.authLevel === "anonymous") return true;
  if (!localKey) return false;
  const headerKey = req.headers["x-functions-key"];
  const given =
    (typeof headerKey === "string" ? headerKey : undefined) ?? url.searchParams.get("code");
  return given !== null && given !== undefined && keysEqual(given, localKey);
}

/** Path segments after the route prefix, URL-decoded; null when the path is outside the prefix. */
function functionPathSegments(pathname: string, routePrefix: string): string[] | null {
  const segments = splitPath(pathname);
  const prefix = splitPath(routePrefix);
  if (prefix.some((p, i) => segments[i]?.toLowerCase() !== p.toLowerCase())) return null;
  try {
    return segments.slice(prefix.length).map((s) => decodeURIComponent(s));
  } catch {
    return null; // malformed percent-encoding cannot name any route
  }
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** Request headers and query as the Functions host passes them: one string per name. */
function flattenHeaders(req: http.IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}

function flattenQuery(url: URL): Record<string, string> {
  const query: Record<string, string> = {};
  for (const name of new Set(url.searchParams.keys())) {
    query[name] = url.searchParams.getAll(name).join(",");
  }
  return query;
}

function typedDataBytes(data: RpcTypedData | null | undefined): Buffer {
  if (!data) return Buffer.alloc(0);
  if (data.bytes) return Buffer.from(data.bytes);
  if (typeof data.string === "string") return Buffer.from(data.string);
  if (typeof data.json === "string") return Buffer.from(data.json);
  return Buffer.alloc(0);
}

function serializeCookie(cookie: RpcHttpCookie): string {
  const parts = [`${cookie.name ?? ""}=${cookie.value ?? ""}`];
  if (cookie.domain?.value) parts.push(`Domain=${cookie.domain.value}`);
  if (cookie.path?.value) parts.push(`Path=${cookie.path.value}`);
  if (typeof cookie.expires?.value?.seconds === "number") {
    parts.push(`Expires=${new Date(cookie.expires.value.seconds * 1000).toUTCString()}`);
  }
  if (typeof cookie.maxAge?.value === "number") parts.push(`Max-Age=${cookie.maxAge.value}`);
  if (cookie.secure?.value) parts.push("Secure");
  if (cookie.httpOnly?.value) parts.push("HttpOnly");
  if (cookie.sameSite && cookie.sameSite !== "none") {
    parts.push(
      `SameSite=${cookie.sameSite === "explicitNone" ? "None" : cookie.sameSite[0]?.toUpperCase() + cookie.sameSite.slice(1)}`,
    );
  }
  return parts.join("; ");
}

/** The HTTP output of an invocation: the `$return` value or a named `http` output binding. */
function httpOutput(
  fn: RegisteredFunction,
  response: RpcInvocationResponse,
): RpcHttpData | undefined {
  const [name] =
    Object.entries(fn.metadata.bindings).find(
      ([, b]) => b.direction === "out" && b.type?.toLowerCase() === "http",
    ) ?? [];
  const data =
    name === "$return"
      ? response.returnValue
      : response.outputData?.find((binding) => binding.name === name)?.data;
  return data?.http ?? undefined;
}

function sendEmpty(res: http.ServerResponse, status: number): void {
  res.statusCode = status;
  res.end();
}

function sendFunctionResponse(res: http.ServerResponse, output: RpcHttpData | undefined): void {
  // The Functions host answers 204 No Content when an HTTP function returns nothing.
  if (!output) return sendEmpty(res, 204);
  res.statusCode = output.statusCode ? Number.parseInt(output.statusCode, 10) : 200;
  for (const [name, value] of Object.entries(output.headers ?? {})) res.setHeader(name, value);
  const cookies = (output.cookies ?? []).map(serializeCookie);
  if (cookies.length > 0) res.setHeader("set-cookie", cookies);
  res.end(typedDataBytes(output.body));
}

export function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const { app, routes, routePrefix, localKey } = options;

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", `http://${req.headers.host ?? "127.0.0.1"}`);
    const method = (req.method ?? "GET").toUpperCase();
    const segments = functionPathSegments(url.pathname, routePrefix);
    // Azure answers 404 both for unknown paths and for known paths with a method not allowed.
    let matched: { route: HttpFunctionRoute; params: Record<string, string> } | undefined;
    for (const route of segments ? routes : []) {
      const params = route.methods.has(method) ? route.route.match(segments ?? []) : null;
      if (params) {
        matched = { route, params };
        break;
      }
    }
    if (!matched) return sendEmpty(res, 404);
    if (!isAuthorized(matched.route, req, url, localKey)) return sendEmpty(res, 401);

    const body = await readBody(req);
    const request: RpcHttpData = {
      method,
      url: url.toString(),
      headers: flattenHeaders(req),
      query: flattenQuery(url),
      params: matched.params,
      body: body.length > 0 ? { bytes: body } : null,
    };
    const { fn } = matched.route;
    const response = await invokeFunction(app, fn, {
      reason: `${method} ${url.pathname}`,
      triggerData: { http: request },
    });
    sendFunctionResponse(res, httpOutput(fn, response));
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // The details stay in the host's log (invokeFunction logs handler errors with their stack);
      // the caller only learns that the request failed.
      // The query is left out of the log line because it may carry the key (?code=).
      const path = (req.url ?? "/").split("?", 1)[0];
      logHost(
        "error",
        `${req.method} ${path} failed: ${error instanceof Error ? error.message : String(error)}`,
      );
      if (res.headersSent) return void res.destroy();
      res.statusCode = 500;
      res.setHeader("content-type", "text/plain; charset=utf-8");
      res.end("Internal Server Error");
    });
  });

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, "127.0.0.1", () => {
      server.off("error", reject);
      server.on("error", (error) => logHost("error", `HTTP server error: ${error.message}`));
      resolve({
        port: (server.address() as AddressInfo).port,
        close: (timeoutMs) =>
          new Promise<void>((done) => {
            const forceClose = setTimeout(() => server.closeAllConnections(), timeoutMs);
            server.close(() => {
              clearTimeout(forceClose);
              done();
            });
            server.closeIdleConnections();
          }),
      });
    });
  });
}
