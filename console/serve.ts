/**
 * How the function app serves the web console (functions/console.ts): the files `npm run build`
 * wrote to `console-assets/` beside `functions/` (dev/build.ts), and `config.json`, what the
 * browser needs to sign in. Node built-ins only: this is part of the entry bundle, which every cold
 * start loads.
 *
 * Every built file is stored gzipped (`<name>.gz`), which keeps the package small; it is sent as
 * it is with `content-encoding: gzip`, or inflated for a client that does not accept gzip.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import type { AdminAuthConfig, RelayConfig } from "../shared/config";

/** The folder of the built console, beside `functions/` (in `dist/` and, for `npm start`, the repo). */
export const CONSOLE_ASSETS_FOLDER = "console-assets";
export const GZIP_SUFFIX = ".gz";
export const CONSOLE_PAGE = "index.html";
const CONFIG_FILE = "config.json";

/** What the browser reads from `config.json`: no secrets, only where and how to sign in. */
export interface ConsoleSettings {
  auth: AdminAuthConfig["mode"];
  tenantId?: string;
  authority?: string;
  clientId?: string;
  apiScope?: string;
  /** When a queued or decided request counts as stuck, so the console offers a redrive. */
  stuckAfterMinutes: number;
}

export function consoleSettings(config: RelayConfig): ConsoleSettings {
  const stuckAfterMinutes = config.reconcile.stuckAfterMs / 60_000;
  const auth = config.adminAuth;
  if (auth.mode === "key") return { auth: "key", stuckAfterMinutes };
  return {
    auth: "entra",
    tenantId: auth.tenantId,
    authority: `${auth.authority}/${auth.tenantId}`,
    ...(auth.consoleClientId && { clientId: auth.consoleClientId }),
    ...(auth.audiences[0] && { apiScope: `${auth.audiences[0]}/.default` }),
    stuckAfterMinutes,
  };
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".woff2": "font/woff2",
};

/** Relative file paths the build writes: plain names, no dot files, no `..`, nothing else. */
const ASSET_PATH = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

export interface ConsoleRequest {
  /** What follows `console/` in the route, or undefined for the console itself. */
  path: string | undefined;
  /** The request URL's path, to tell `/api/console` from `/api/console/`. */
  urlPath: string;
  acceptEncoding: string | null;
}

export interface ConsoleResponse {
  status: number;
  headers: Record<string, string>;
  body?: Buffer | string;
}

/**
 * The answer to a GET under `console/`. The page is served at `console/`, so that its relative
 * asset URLs resolve under it; `console` without the slash redirects there.
 */
export async function serveConsole(
  request: ConsoleRequest,
  config: RelayConfig,
  assetsDir: string,
): Promise<ConsoleResponse> {
  const file = request.path ?? "";
  if (file === "" && !request.urlPath.endsWith("/"))
    // Relative to `.../console`, this names `.../console/`, whatever host or proxy is in front.
    return { status: 302, headers: { location: "console/", "cache-control": "no-store" } };
  if (file === CONFIG_FILE)
    return {
      status: 200,
      headers: { "content-type": CONTENT_TYPES[".json"] as string, "cache-control": "no-store" },
      body: JSON.stringify(consoleSettings(config)),
    };
  const name = file === "" ? CONSOLE_PAGE : file;
  if (!ASSET_PATH.test(name))
    return problem(400, "Invalid path", "not a file of the console", [
      { path: "/path/path", message: "must be a file path of the console" },
    ]);
  const contentType = CONTENT_TYPES[path.extname(name).toLowerCase()];
  const gzipped = contentType && (await readIfExists(path.join(assetsDir, name + GZIP_SUFFIX)));
  if (!contentType || !gzipped)
    return name === CONSOLE_PAGE
      ? problem(
          503,
          "Console not built",
          "the console's files are missing: run npm run build (npm start builds them for local work)",
        )
      : problem(404, "Not Found", `the console has no file ${name}`);
  const headers: Record<string, string> = {
    "content-type": contentType,
    "x-content-type-options": "nosniff",
    // The page names its scripts by content hash, so only the page itself is ever re-read.
    "cache-control": name === CONSOLE_PAGE ? "no-cache" : "public, max-age=31536000, immutable",
    vary: "accept-encoding",
    ...(name === CONSOLE_PAGE && {
      "content-security-policy": contentSecurityPolicy(config.adminAuth),
      "referrer-policy": "no-referrer",
    }),
  };
  if (acceptsGzip(request.acceptEncoding))
    return { status: 200, headers: { ...headers, "content-encoding": "gzip" }, body: gzipped };
  return { status: 200, headers, body: gunzipSync(gzipped) };
}

/**
 * Scripts and requests only to the relay itself, and in `entra` mode to the sign-in authority
 * (MSAL's token calls, and its hidden frame for silent renewal). Fluent UI writes its styles at run
 * time, hence inline styles.
 */
function contentSecurityPolicy(auth: AdminAuthConfig): string {
  const authority = auth.mode === "entra" ? ` ${new URL(auth.authority).origin}` : "";
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    `connect-src 'self'${authority}`,
    `frame-src 'self'${authority}`,
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "form-action 'self'",
  ].join("; ");
}

function acceptsGzip(acceptEncoding: string | null): boolean {
  return (acceptEncoding ?? "")
    .split(",")
    .map((part) => part.trim().toLowerCase().split(";"))
    .some(
      ([coding, ...params]) =>
        coding === "gzip" && !params.some((p) => /^q=0(\.0*)?$/.test(p.trim())),
    );
}

async function readIfExists(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw error;
  }
}

function problem(
  status: number,
  title: string,
  detail: string,
  errors?: { path: string; message: string }[],
): ConsoleResponse {
  return {
    status,
    headers: { "content-type": "application/problem+json", "cache-control": "no-store" },
    body: JSON.stringify({ type: "about:blank", title, status, detail, ...(errors && { errors }) }),
  };
}
