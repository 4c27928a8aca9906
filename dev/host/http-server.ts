import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { portUnavailable } from "../local-ports";
import { handleAdminRequest } from "./admin-api";
import type { RpcHttpCookie, RpcHttpData, RpcInvocationResponse, RpcTypedData } from "./core-api";
import type { RegisteredFunction } from "./core-module";
import { hasLocalKey, problemBody, sendEmpty, sendProblem } from "./http-answers";
import { invokeFunction } from "./invoke";
import type { LoadedApp } from "./load-app";
import { logHost } from "./log";
import { StartupError, oneLineMessage } from "./startup-error";
import { compareRouteSpecificity, compileRoute, splitPath, type CompiledRoute } from "./routes";

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

/**
 * A path segment as route matching sees it: percent-decoded, or as sent when it does not decode
 * (`a%zz`, `%FF%FE`). Either way it reaches the route's parameter, so the function can refuse it
 * by name instead of the host answering a bare 404; a decoded `/` stays inside its segment.
 */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Path segments after the route prefix, decoded; null when the path is outside the prefix. */
function functionPathSegments(segments: string[], routePrefix: string): string[] | null {
  const prefix = splitPath(routePrefix);
  if (prefix.some((p, i) => segments[i]?.toLowerCase() !== p.toLowerCase())) return null;
  return segments.slice(prefix.length).map(decodeSegment);
}

/** A Host header the host accepts: a name, an IPv4 or bracketed IPv6 address, and a port. */
const HOST_HEADER = /^(?:[A-Za-z0-9_.~-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * The request's URL from its Host header and target, or the reason it has none. Only the path
 * and query of the target are used, so `//other/path` stays a path, as in ASP.NET Core.
 */
function requestUrl(req: http.IncomingMessage, fallbackHost: string): URL | string {
  const host = req.headers.host ?? fallbackHost;
  let origin: URL;
  try {
    if (!HOST_HEADER.test(host)) throw new Error("malformed");
    origin = new URL(`http://${host}`);
  } catch {
    return "the Host header is malformed";
  }
  const target = req.url ?? "/";
  try {
    if (target.startsWith("/")) return new URL(`${origin.origin}${target}`);
    const absolute = new URL(target); // absolute-form, as a proxy sends it
    if (absolute.protocol !== "http:" && absolute.protocol !== "https:") throw new Error("scheme");
    return new URL(`${origin.origin}${absolute.pathname}${absolute.search}`);
  } catch {
    return "the request target is malformed";
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

function sendFunctionResponse(res: http.ServerResponse, output: RpcHttpData | undefined): void {
  // The Functions host answers 204 No Content when an HTTP function returns nothing.
  if (!output) return sendEmpty(res, 204);
  res.statusCode = output.statusCode ? Number.parseInt(output.statusCode, 10) : 200;
  for (const [name, value] of Object.entries(output.headers ?? {})) res.setHeader(name, value);
  const cookies = (output.cookies ?? []).map(serializeCookie);
  if (cookies.length > 0) res.setHeader("set-cookie", cookies);
  res.end(typedDataBytes(output.body));
}

/** What the server answers with once the app is loaded. */
export interface ServedApp {
  app: LoadedApp;
  routes: HttpFunctionRoute[];
  routePrefix: string;
  /** Expected key for non-anonymous routes and the admin API; unset, those always answer 401. */
  localKey: string | undefined;
  /** Starts the named non-HTTP function with `input`; undefined when there is none of that name. */
  runFunctionNow(name: string, input: string): Promise<void> | undefined;
}

export interface HttpHost {
  port: number;
  /** Starts serving the app; until then every request is answered 503, as a starting host does. */
  serve(app: ServedApp): void;
  /** Stops accepting requests and waits (bounded) for the ones in progress. */
  close(timeoutMs: number): Promise<void>;
}

async function handleFunctionRequest(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
  segments: string[],
  served: ServedApp,
): Promise<void> {
  const method = (req.method ?? "GET").toUpperCase();
  const functionSegments = functionPathSegments(segments, served.routePrefix);
  // Azure answers 404 both for unknown paths and for known paths with a method not allowed.
  let matched: { route: HttpFunctionRoute; params: Record<string, string> } | undefined;
  for (const route of functionSegments ? served.routes : []) {
    const params = route.methods.has(method) ? route.route.match(functionSegments ?? []) : null;
    if (params) {
      matched = { route, params };
      break;
    }
  }
  if (!matched) return sendEmpty(res, 404);
  if (matched.route.authLevel !== "anonymous" && !hasLocalKey(req, url, served.localKey)) {
    return sendEmpty(res, 401);
  }

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
  const response = await invokeFunction(served.app, fn, {
    reason: `${method} ${url.pathname}`,
    triggerData: { http: request },
  });
  sendFunctionResponse(res, httpOutput(fn, response));
}

const CLIENT_ERRORS: Record<string, { status: number; detail: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, detail: "the request's headers are too large" },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, detail: "the request did not arrive in time" },
};

/**
 * A request the HTTP parser refuses (a malformed request line or header) is answered with
 * problem+json like every other refusal, instead of Node's bare status line.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === "ECONNRESET" || !socket.writable) return void socket.destroy();
  const { status, detail } = CLIENT_ERRORS[error.code ?? ""] ?? {
    status: 400,
    detail: "the request line or a header is malformed",
  };
  const body = problemBody(status, detail);
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/problem+json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/**
 * Listens on 127.0.0.1:port before the app loads, so a busy port stops start-up at once (with one
 * line naming `chosenBy`) and the app can be given the port actually bound.
 */
export function listenHttp(port: number, chosenBy: string): Promise<HttpHost> {
  let served: ServedApp | undefined;
  let boundPort = port;

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = requestUrl(req, `127.0.0.1:${boundPort}`);
    if (typeof url === "string") return sendProblem(res, 400, url);
    if (!served) {
      return sendProblem(res, 503, "the Functions host is starting", {
        "retry-after": "1",
      });
    }
    const segments = splitPath(url.pathname);
    if (segments[0]?.toLowerCase() === "admin") {
      return handleAdminRequest(req, res, url, segments.map(decodeSegment), served);
    }
    return handleFunctionRequest(req, res, url, segments, served);
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
  server.on("clientError", answerClientError);

  return new Promise((resolve, reject) => {
    server.once("error", (error) => reject(portUnavailable(error, port, chosenBy) ?? error));
    server.listen(port, "127.0.0.1", () => {
      server.removeAllListeners("error");
      server.on("error", (error) => logHost("error", `HTTP server error: ${error.message}`));
      boundPort = (server.address() as AddressInfo).port;
      resolve({
        port: boundPort,
        serve: (app) => (served = app),
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
