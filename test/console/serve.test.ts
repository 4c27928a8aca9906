/**
 * What the console function answers in `entra` mode, from the settings as the app loads them: the
 * sign-in the browser needs (no secrets), and a page that may talk only to the relay and the
 * authority. Key mode and the files themselves are covered through the host (console.test.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { DUMMY_RELAY_SETTINGS } from "../../bench/dummy-settings";
import { serveConsole } from "../../console/serve";
import { loadConfig } from "../../shared/config";

const TENANT = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
const CONSOLE_APP = "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d";

const ENTRA_SETTINGS = {
  ...DUMMY_RELAY_SETTINGS,
  RELAY_ADMIN_AUTH: "entra",
  RELAY_ADMIN_TENANT_ID: TENANT,
  RELAY_ADMIN_AUDIENCE: "api://dm-flow-relay, 1c3f6a2e-0000-4000-8000-00000000a11d",
  RELAY_CONSOLE_CLIENT_ID: CONSOLE_APP,
  RELAY_STUCK_AFTER_MINUTES: "30",
};
const entraConfig = () => loadConfig(ENTRA_SETTINGS);

let assets: string;
beforeAll(() => {
  assets = mkdtempSync(path.join(os.tmpdir(), "console-serve-"));
  writeFileSync(path.join(assets, "index.html.gz"), gzipSync("<!doctype html><p>console</p>"));
});
afterAll(() => rmSync(assets, { recursive: true, force: true }));

const get = (file: string | undefined, config = entraConfig()) =>
  serveConsole(
    { path: file, urlPath: `/api/console/${file ?? ""}`, acceptEncoding: "gzip, br" },
    config,
    assets,
  );

it("gives the browser the tenant's authority, the console's app and the API's scope", async () => {
  const answer = await get("config.json");
  expect(answer.status).toBe(200);
  expect(JSON.parse(String(answer.body))).toEqual({
    auth: "entra",
    tenantId: TENANT,
    authority: `https://login.microsoftonline.com/${TENANT}`,
    clientId: CONSOLE_APP,
    apiScope: "api://dm-flow-relay/.default",
    stuckAfterMinutes: 30,
  });
  expect(String(answer.body)).not.toContain(DUMMY_RELAY_SETTINGS.RELAY_SIGNING_KEY);
});

it("follows a sovereign or test authority, and leaves out a console app that is not set", async () => {
  const { RELAY_CONSOLE_CLIENT_ID: _, ...withoutConsoleApp } = ENTRA_SETTINGS;
  const config = loadConfig({
    ...withoutConsoleApp,
    RELAY_ADMIN_AUTHORITY: "https://login.microsoftonline.us/",
  });
  const settings = JSON.parse(String((await get("config.json", config)).body));
  expect(settings.authority).toBe(`https://login.microsoftonline.us/${TENANT}`);
  expect(settings).not.toHaveProperty("clientId");
});

it("lets the page call only the relay and the authority", async () => {
  const page = await get(undefined);
  expect(page.status).toBe(200);
  expect(page.headers["content-encoding"]).toBe("gzip");
  const policy = page.headers["content-security-policy"];
  expect(policy).toContain("script-src 'self'");
  expect(policy).toContain("connect-src 'self' https://login.microsoftonline.com");
  expect(policy).toContain("frame-ancestors 'none'");
});

it("answers 503 naming the build when the console was not built", async () => {
  const empty = mkdtempSync(path.join(os.tmpdir(), "console-empty-"));
  try {
    const answer = await serveConsole(
      { path: undefined, urlPath: "/api/console/", acceptEncoding: null },
      entraConfig(),
      empty,
    );
    expect(answer.status).toBe(503);
    expect(answer.headers["content-type"]).toBe("application/problem+json");
    expect(JSON.parse(String(answer.body)).detail).toContain("npm run build");
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});
