/**
 * What a reader sees: the console's controls follow `/api/me`'s `canChange` alone. A real HTTP
 * server serves the real console (its build, through console/serve.ts as the function does) and
 * plays `/api/me` and the admin API; the same pages are shown to an admin and to a reader.
 */
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { DUMMY_RELAY_SETTINGS } from "../../bench/dummy-settings";
import { serveConsole } from "../../console/serve";
import { buildConsole } from "../../dev/build";
import { loadConfig } from "../../shared/config";
import { describeInBrowser, openBrowser, type Browser } from "./browser";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const HOUR_MS = 3_600_000;

const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

function request(requestId: string, state: string, change: Record<string, unknown> = {}) {
  return {
    storeId: "contoso",
    workflowId: "group-join",
    requestId,
    state,
    attempts: { flow: 1, apply: 0 },
    redrives: 0,
    history: [{ at: ago(2 * HOUR_MS), state: "queued", detail: "accepted from Directory Manager" }],
    createdAt: ago(2 * HOUR_MS),
    updatedAt: ago(HOUR_MS),
    ...change,
  };
}

const PORTAL_URL =
  "https://make.powerautomate.com/environments/Default-3f2504e0-4f89-11d3-9a0c-0305e82c3301/flows/c0ffee00-0000-4000-8000-000000000001/runs/08584000000000000001CU00";

const REQUESTS = [
  request("3001", "flow-failed", {
    lastError: "the flow refused the call: the flow answered HTTP 404",
    history: [
      { at: ago(2 * HOUR_MS), state: "queued", detail: "accepted from Directory Manager" },
      { at: ago(HOUR_MS), state: "flow-failed", detail: "the flow answered HTTP 404" },
    ],
  }),
  // Unchanged for an hour, no retry pending: stuck (the relay's threshold is 15 minutes).
  request("3002", "queued", { attempts: { flow: 0, apply: 0 } }),
  // A retry is pending: not stuck, whatever its age.
  request("3003", "queued", { nextAttemptAt: new Date(Date.now() + HOUR_MS).toISOString() }),
  request("3004", "flow-triggered", {
    flowRun: {
      runId: "08584000000000000001CU00",
      flowName: "c0ffee00-0000-4000-8000-000000000001",
      environmentName: "Default-3f2504e0-4f89-11d3-9a0c-0305e82c3301",
      claimedAt: ago(HOUR_MS),
      portalUrl: PORTAL_URL,
    },
  }),
];

const STORE = {
  storeId: "contoso",
  organizationCode: "contoso",
  region: "crm4",
  dataServiceUrl: "https://dm.contoso.com/GroupIDDataService",
  identityStoreId: 1,
  tenantId: "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
  clientId: "7d9c0a51-2b1e-4c3a-9f00-1a2b3c4d5e6f",
  updatedAt: ago(HOUR_MS),
};

const LINK = {
  storeId: "contoso",
  workflowId: "group-join",
  workflowName: "Group join approval",
  approvers: ["alice@contoso.com"],
  flowAuth: "sas",
  flow: {
    host: "contoso.environment.api.powerplatform.com",
    redactedUrl: "https://contoso.environment.api.powerplatform.com/flow?sig=REDACTED",
  },
  updatedAt: ago(HOUR_MS),
};

let assetsDir: string;
let server: http.Server;
let baseUrl: string;
let canChange = true;
/** Every call that is not a GET: a reader's console must make none. */
const changes: string[] = [];

function api(method: string, route: string): { status: number; body?: unknown } {
  if (method !== "GET") {
    changes.push(`${method} ${route}`);
    return { status: 403 };
  }
  if (route === "me")
    return {
      status: 200,
      body: {
        mode: "entra",
        actor: { id: "5c1f0c5e-oid", name: canChange ? "Ada Admin" : "Rita Reader" },
        roles: [canChange ? "Relay.Admin" : "Relay.Reader"],
        canChange,
      },
    };
  if (route === "stores") return { status: 200, body: { stores: [STORE] } };
  if (route === "stores/contoso/workflows")
    return { status: 200, body: { storeId: "contoso", workflows: [LINK] } };
  if (route === "stores/contoso/requests")
    return { status: 200, body: { storeId: "contoso", requests: REQUESTS } };
  const found = REQUESTS.find((item) => route === `stores/contoso/requests/${item.requestId}`);
  if (found) return { status: 200, body: found };
  if (route === "health")
    return {
      status: 200,
      body: { status: "healthy", checks: { tables: "ok", "service-bus": "ok" } },
    };
  return { status: 404 };
}

describeInBrowser("the console for admins and readers", () => {
  beforeAll(async () => {
    assetsDir = mkdtempSync(path.join(os.tmpdir(), "console-assets-"));
    await buildConsole(REPO_ROOT, assetsDir);
    const config = loadConfig({ ...DUMMY_RELAY_SETTINGS, RELAY_ADMIN_AUTH: "key" });
    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const consolePath = /^\/api\/console(?:\/(.*))?$/.exec(url.pathname);
      const answer = consolePath
        ? serveConsole(
            {
              path: consolePath[1] || undefined,
              urlPath: url.pathname,
              acceptEncoding: req.headers["accept-encoding"] ?? null,
            },
            config,
            assetsDir,
          )
        : Promise.resolve(api(req.method ?? "GET", url.pathname.replace(/^\/api\//, ""))).then(
            ({ status, body }) => ({
              status,
              headers: { "content-type": "application/json" },
              body: body === undefined ? undefined : JSON.stringify(body),
            }),
          );
      void answer.then(
        ({ status, headers, body }) => {
          res.writeHead(status, headers);
          res.end(body);
        },
        (error: unknown) => {
          res.writeHead(500);
          res.end(String(error));
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    rmSync(assetsDir, { recursive: true, force: true });
  });

  let browser: Browser;
  beforeAll(async () => {
    browser = await openBrowser();
  }, 60_000);
  afterAll(() => browser?.close());

  const redriveButtons = () => browser.page.getByRole("button", { name: "Redrive" });

  async function openRequest(requestId: string): Promise<void> {
    await browser.page.goto(`${baseUrl}/api/console/#/requests/contoso/${requestId}`);
    await browser.page.getByRole("heading", { name: `Request ${requestId}` }).waitFor();
    await browser.page.getByRole("region", { name: "Timeline" }).waitFor();
  }

  async function openLinkActions(): Promise<string[]> {
    const { page } = browser;
    await page.goto(`${baseUrl}/api/console/#/stores/contoso`);
    await page.getByRole("button", { name: "Actions for group-join" }).click();
    await page.getByRole("menu").waitFor();
    return page.getByRole("menuitem").allInnerTexts();
  }

  it("offers an admin the redrive of a failed or stuck request, and the link's changes", async () => {
    const { page } = browser;
    await page.goto(`${baseUrl}/api/console`);
    await page.getByLabel("Admin key").fill("any key: the server plays /api/me");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    expect(await page.getByTestId("role").innerText()).toBe("Admin");

    await openRequest("3001");
    expect(await redriveButtons().count()).toBe(1);
    await openRequest("3002");
    expect(await redriveButtons().count()).toBe(1);
    await openRequest("3003");
    expect(await redriveButtons().count()).toBe(0);
    expect(await openLinkActions()).toEqual([
      "Copy trigger URL…",
      "Rotate trigger key…",
      "Download flow template",
      "Download solution",
      "Create the flow in Power Automate…",
    ]);
    await page.keyboard.press("Escape");
  });

  it("shows a reader the same pages without any control that changes something", async () => {
    const { page } = browser;
    canChange = false;
    await page.goto(`${baseUrl}/api/console/#/`);
    await page.reload();
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    expect(await page.getByTestId("role").innerText()).toBe("Reader");
    expect(await page.getByTestId("actor").innerText()).toBe("Rita Reader");

    await openRequest("3001");
    expect(await page.getByRole("region", { name: "Essentials" }).innerText()).toContain(
      "Flow failed",
    );
    expect(await page.getByRole("button", { name: "Refresh" }).count()).toBe(1);
    expect(await redriveButtons().count()).toBe(0);
    await browser.screenshot("reader-request-failed");
    await openRequest("3002");
    expect(await redriveButtons().count()).toBe(0);
    await openRequest("3004");
    const run = page.getByRole("link", { name: "Open the run in Power Automate" });
    expect(await run.getAttribute("href")).toBe(PORTAL_URL);
    await browser.screenshot("reader-request-claimed");

    expect(await openLinkActions()).toEqual(["Download flow template", "Download solution"]);
    await browser.screenshot("reader-link-actions");
    await page.keyboard.press("Escape");
    expect(changes).toEqual([]);
  });
});
