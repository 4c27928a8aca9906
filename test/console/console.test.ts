/**
 * The web console against the local host (key mode), Azurite and the emulator, with the flow and
 * DM played by their simulators: its files and config over HTTP, the two list routes it needs,
 * and, in Chromium, the pages: a request the test triggered, its timeline, a redrive of a failed
 * one, the trigger URL and its rotation, health.
 */
import path from "node:path";
import type { Page } from "playwright-core";
import { gunzipSync } from "node:zlib";
import { CONSOLE_ASSETS_FOLDER } from "../../console/serve";
import { buildConsole } from "../../dev/build";
import {
  ADMIN_KEY,
  startRelayEnvironment,
  type RelayEnvironment,
} from "../support/relay-environment";
import { describeInBrowser, openBrowser, type Browser } from "./browser";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const FLOW_SIG = "flow-SIG-secret-123";

let env: RelayEnvironment;
let triggerUrl: string;
let flowUrl: string;
/** The flow refuses its first call for these requests (a permanent 400: flow-failed). */
const refuseFirstCall = new Set(["2002"]);

beforeAll(async () => {
  // The host serves the console from console-assets/ beside functions/, as `npm start` builds it.
  await buildConsole(REPO_ROOT, path.join(REPO_ROOT, CONSOLE_ASSETS_FOLDER));
  env = await startRelayEnvironment({
    flow: {
      respond: (call) => {
        const requestId = String(call.headers["x-relay-request-id"]);
        if (refuseFirstCall.delete(requestId)) return { status: 400, body: { error: "bad" } };
        return { status: 202, headers: { "x-ms-workflow-run-id": `08585run${requestId}` } };
      },
      approver: () => ({ outcome: "Approve", email: "alice@contoso.com", comments: "fine" }),
    },
  });
  await env.registerStore("contoso");
  await env.registerStore("fabrikam", 8);
  flowUrl = `${env.flow.flowUrl}?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${FLOW_SIG}`;
  triggerUrl = await env.link("contoso", "group-join", { requestUrl: flowUrl });
  await env.link("contoso", "group-leave", { workflowName: "Group leave approval" });
  for (const requestId of ["2001", "2002"]) {
    const accepted = await env.call("POST", triggerUrl, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ WorkflowRequestID: Number(requestId), requester: "bob@contoso.com" }),
    });
    expect(accepted.status).toBe(202);
  }
  await env.waitForState("contoso", "2001", "applied");
  await env.waitForState("contoso", "2002", "flow-failed");
}, 120_000);
afterAll(() => env?.stop());

describe("the console over HTTP", () => {
  it("redirects /api/console to /api/console/, which serves the page gzipped", async () => {
    const redirect = await fetch(`${env.baseUrl}/api/console`, { redirect: "manual" });
    expect(redirect.status).toBe(302);
    await redirect.body?.cancel();
    expect(new URL(redirect.headers.get("location") ?? "", redirect.url).pathname).toBe(
      "/api/console/",
    );
    const page = await fetch(`${env.baseUrl}/api/console/`, {
      headers: { "accept-encoding": "gzip" },
    });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    const html = await page.text(); // fetch inflates what it asked gzipped
    const script = /<script type="module" src="\.\/(main-[A-Z0-9]+\.js)">/.exec(html)?.[1];
    expect(script).toBeDefined();
    const code = await fetch(`${env.baseUrl}/api/console/${script}`);
    expect(code.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(code.headers.get("cache-control")).toContain("immutable");
    expect((await code.text()).length).toBeGreaterThan(100_000);
  });

  it("inflates the files for a client that does not take gzip", async () => {
    const answer = await env.call("GET", "/api/console/index.html", {
      headers: { "accept-encoding": "identity" },
    });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-encoding")).toBeNull();
    expect(answer.body).toContain('<div id="root">');
    expect(() => gunzipSync(Buffer.from(answer.body))).toThrow();
  });

  it("answers config.json with the sign-in mode and no secrets", async () => {
    const config = await env.call("GET", "/api/console/config.json");
    expect(config).toMatchObject({ status: 200, body: { auth: "key", stuckAfterMinutes: 15 } });
    expect(JSON.stringify(config.body)).not.toContain(ADMIN_KEY);
  });

  it("answers 404 for a file it does not have and 400 for a path that is no file", async () => {
    const missing = await env.call("GET", "/api/console/nothing-here.js");
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toBe("application/problem+json");
    const escape = await env.call("GET", "/api/console/..%2F..%2Fhost.json");
    expect(escape.status).toBe(400);
    expect(escape.body.errors).toEqual([{ path: "/path/path", message: expect.any(String) }]);
  });

  it("lists the stores, and a store's links without their secrets", async () => {
    const stores = await env.admin("GET", "stores");
    expect(stores.status).toBe(200);
    expect(stores.body.stores.map((store: any) => store.storeId)).toEqual(["contoso", "fabrikam"]);
    expect(stores.body.stores[1]).toMatchObject({ identityStoreId: 8, region: "crm4" });

    const links = await env.admin("GET", "stores/contoso/workflows");
    expect(links.status).toBe(200);
    expect(links.body.workflows.map((link: any) => link.workflowId)).toEqual([
      "group-join",
      "group-leave",
    ]);
    expect(links.body.workflows[1]).toMatchObject({
      workflowName: "Group leave approval",
      flowAuth: "sas",
      flow: { host: `127.0.0.1:${env.flow.port}` },
    });
    const text = JSON.stringify(links.body);
    expect(text).not.toContain(FLOW_SIG);
    expect(text).not.toContain(new URL(triggerUrl).searchParams.get("sig"));
    expect(links.body.workflows[0]).not.toHaveProperty("triggerUrl");
  });

  it("answers 404 for the links of a store that is not registered, 400 for a bad id, 401 without the key", async () => {
    expect((await env.admin("GET", "stores/nobody/workflows")).status).toBe(404);
    const bad = await env.admin("GET", "stores/-bad!/workflows");
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([{ path: "/path/storeId", message: expect.any(String) }]);
    expect((await env.call("GET", "/api/stores")).status).toBe(401);
    expect((await env.call("GET", "/api/stores/contoso/workflows")).status).toBe(401);
  });
});

/** The table row of a request on the requests page. */
const requestRow = (page: Page, requestId: string) =>
  page.locator(`tr[data-request-id="${requestId}"]`);

describeInBrowser("the console in Chromium", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await openBrowser();
  }, 60_000);
  afterAll(() => browser?.close());

  it("asks for the key, refuses a wrong one, and opens on the overview", async () => {
    const { page } = browser;
    await page.goto(`${env.baseUrl}/api/console`);
    await page.getByLabel("Admin key").fill("not-the-key");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("The relay refused this key.").waitFor();
    await page.getByLabel("Admin key").fill(ADMIN_KEY);
    await browser.screenshot("sign-in");
    await page.getByRole("button", { name: "Sign in" }).click();

    await page.getByRole("heading", { name: "Overview" }).waitFor();
    await page.getByRole("region", { name: "Open requests by state" }).waitFor();
    const failures = page.getByRole("region", { name: "Failures in the last 24 hours" });
    await failures.getByRole("link", { name: "2002" }).waitFor();
    expect(
      await page.getByRole("region", { name: "Open requests", exact: true }).innerText(),
    ).toContain("1");
    expect(await page.getByTestId("role").innerText()).toBe("Admin");
    await browser.screenshot("overview");
  });

  it("lists the requests the test triggered, and filters them by state and id", async () => {
    const { page } = browser;
    await page.getByRole("link", { name: "Requests", exact: true }).click();
    await requestRow(page, "2001").waitFor();
    await requestRow(page, "2002").waitFor();
    expect(await requestRow(page, "2001").innerText()).toContain("Applied");
    expect(await requestRow(page, "2002").innerText()).toContain("Flow failed");
    await browser.screenshot("requests");

    await page.getByRole("combobox", { name: "State" }).click();
    await page.getByRole("option", { name: "Flow failed" }).click();
    await requestRow(page, "2001").waitFor({ state: "detached" });
    await requestRow(page, "2002").waitFor();
    await page.getByRole("combobox", { name: "State" }).click();
    await page.getByRole("option", { name: "All states" }).click();
    await page.getByLabel("Request id").fill("2001");
    await requestRow(page, "2002").waitFor({ state: "detached" });
    await requestRow(page, "2001").waitFor();
    expect(page.url()).toContain("id=2001");
  });

  it("shows an applied request's timeline and decision, with no redrive", async () => {
    const { page } = browser;
    await requestRow(page, "2001").getByRole("link", { name: "2001" }).click();
    await page.getByRole("heading", { name: "Request 2001" }).waitFor();
    const timeline = page.getByRole("list", { name: "Timeline" });
    await timeline.locator('li[data-state="applied"]').waitFor();
    expect(await timeline.locator("li").count()).toBeGreaterThanOrEqual(4);
    const decision = page.getByRole("region", { name: "Decision" });
    expect(await decision.innerText()).toMatch(/Approved[\s\S]*alice@contoso\.com[\s\S]*fine/);
    expect(await page.getByRole("button", { name: "Redrive" }).count()).toBe(0);
    await browser.screenshot("request-applied");
  });

  it("redrives a failed request and sees it go through", async () => {
    const { page } = browser;
    await page.goto(`${env.baseUrl}/api/console/#/requests?state=flow-failed`);
    await requestRow(page, "2002").getByRole("link", { name: "2002" }).click();
    await page.getByRole("heading", { name: "Request 2002" }).waitFor();
    await page
      .getByRole("list", { name: "Timeline" })
      .locator('li[data-state="flow-failed"]')
      .waitFor();
    expect(await page.getByRole("region", { name: "Essentials" }).innerText()).toContain(
      "Flow failed",
    );
    await browser.screenshot("request-failed");

    await page.getByRole("button", { name: "Redrive" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByText("calls the flow again").waitFor();
    await dialog.getByRole("button", { name: "Redrive" }).click();
    await page.getByText("Redriven: the request is queued again.").waitFor();

    await env.waitForState("contoso", "2002", "applied");
    await page.getByRole("button", { name: "Refresh" }).click();
    const essentials = page.getByRole("region", { name: "Essentials" });
    await essentials.locator('[data-state="applied"]').waitFor();
    expect(await page.getByRole("button", { name: "Redrive" }).count()).toBe(0);
    const timeline = page.getByRole("list", { name: "Timeline" });
    expect(await timeline.innerText()).toContain("redriven by an administrator");
    await browser.screenshot("request-redriven");
  });

  it("shows a store's links, their trigger URL, and rotates its key", async () => {
    const { page } = browser;
    await page.getByRole("link", { name: "Stores and links" }).click();
    await page.getByRole("link", { name: "contoso", exact: true }).click();
    const links = page.getByRole("region", { name: "Workflow links of contoso" });
    await links.locator('tr[data-workflow-id="group-leave"]').waitFor();
    await browser.screenshot("stores");

    await links.getByRole("button", { name: "Actions for group-join" }).click();
    await page.getByRole("menuitem", { name: "Copy trigger URL…" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("The flow's HTTP POST URL").fill(flowUrl);
    await dialog.getByRole("button", { name: "Show trigger URL" }).click();
    const shown = dialog.getByRole("textbox", { name: "Trigger URL" });
    await shown.waitFor();
    expect(await shown.inputValue()).toBe(triggerUrl);
    await browser.screenshot("trigger-url");
    await dialog.getByRole("button", { name: "Close" }).click();

    await links.getByRole("button", { name: "Actions for group-join" }).click();
    await page.getByRole("menuitem", { name: "Rotate trigger key…" }).click();
    await dialog.getByLabel("The flow's HTTP POST URL").fill(flowUrl);
    await dialog.getByRole("button", { name: "Rotate key" }).click();
    await dialog.getByText("the previous trigger URL no longer works").waitFor();
    const rotated = await dialog.getByRole("textbox", { name: "Trigger URL" }).inputValue();
    expect(rotated).not.toBe(triggerUrl);
    const body = JSON.stringify({ WorkflowRequestID: 2003 });
    const headers = { "content-type": "application/json" };
    expect((await env.call("POST", triggerUrl, { headers, body })).status).toBe(401);
    expect((await env.call("POST", rotated, { headers, body })).status).toBe(202);
    // Settled before the relay stops, so the flow simulator has no decision left to post.
    await env.waitForState("contoso", "2003", "applied");
    await dialog.getByRole("button", { name: "Close" }).click();
  });

  it("shows the relay's health", async () => {
    const { page } = browser;
    await page.getByRole("link", { name: "Health" }).click();
    expect(await page.getByTestId("health-status").innerText()).toBe("Healthy");
    const dependencies = page.getByRole("table", { name: "Dependencies" });
    expect(await dependencies.innerText()).toMatch(/Table Storage\s+OK[\s\S]*Service Bus\s+OK/);
    await browser.screenshot("health");
  });
});
