/**
 * The web console in `entra` mode, in Chromium: MSAL's redirect sign-in against a local Entra
 * issuer (https, as MSAL requires), the real local host validating the tokens it gets, Azurite
 * and the emulator. An admin (Relay.Admin) lists a request the test triggered, opens its
 * timeline and redrives it; a reader (Relay.Reader) sees the same request with no Redrive button.
 */
import path from "node:path";
import type { Page } from "playwright-core";
import { CONSOLE_ASSETS_FOLDER } from "../../console/serve";
import { buildConsole } from "../../dev/build";
import {
  ADMIN_ROLE,
  FakeEntraIssuer,
  READER_ROLE,
  type TokenClaims,
} from "../support/fake-entra-issuer";
import {
  CLIENT_ID,
  TENANT_ID,
  startRelayEnvironment,
  type RelayEnvironment,
} from "../support/relay-environment";
import { describeInBrowser, openBrowser, type Browser } from "./browser";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
/** The console's app registration (a single-page application) in the relay's tenant. */
const CONSOLE_CLIENT_ID = "c3d2e1f0-9a8b-4c7d-8e6f-5a4b3c2d1e0f";
const ADMIN: TokenClaims = {
  oid: "0b6f4d1e-3c2a-4f5b-8e9d-7a6c5b4d3e2f",
  upn: "alice@contoso.com",
  name: "Alice Admin",
  roles: [ADMIN_ROLE],
};
const READER: TokenClaims = {
  oid: "5e4d3c2b-1a09-4f8e-a7d6-c5b4a3928170",
  upn: "rita@contoso.com",
  preferred_username: "rita@contoso.com",
  name: "Rita Reader",
  roles: [READER_ROLE],
};
/** Both fail; the admin redrives the first, the reader opens the second, still failed. */
const FAILING_REQUEST = "7001";
const STILL_FAILED = "7002";

let issuer: FakeEntraIssuer;
let env: RelayEnvironment;
/** The test's own admin calls, with a token minted by the issuer. */
let adminToken: string;
/** The flow refuses its first call for these requests for good (404: flow-failed). */
const refuseFirstCall = new Set([FAILING_REQUEST, STILL_FAILED]);

async function adminCall(method: string, route: string, body?: unknown) {
  return env.call(method, `/api/${route}`, {
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
}

async function waitForState(requestId: string, state: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last: unknown;
  while (Date.now() < deadline) {
    last = (await adminCall("GET", `stores/contoso/requests/${requestId}`)).body;
    if ((last as { state?: string } | undefined)?.state === state) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`request ${requestId} never reached ${state}: ${JSON.stringify(last)}`);
}

beforeAll(async () => {
  await buildConsole(REPO_ROOT, path.join(REPO_ROOT, CONSOLE_ASSETS_FOLDER));
  issuer = await FakeEntraIssuer.start(undefined, { https: true });
  env = await startRelayEnvironment({
    settings: { ...issuer.relaySettings(), RELAY_CONSOLE_CLIENT_ID: CONSOLE_CLIENT_ID },
    flow: {
      respond: (call) => {
        const requestId = String(call.headers["x-relay-request-id"]);
        if (refuseFirstCall.delete(requestId)) return { status: 404, body: { error: "gone" } };
        return { status: 202, headers: { "x-ms-workflow-run-id": `08585run${requestId}` } };
      },
      approver: () => ({ outcome: "Approve", email: "alice@contoso.com", comments: "fine" }),
    },
  });
  adminToken = await issuer.token(ADMIN);
  const registered = await adminCall("PUT", "stores/contoso/power-automate", {
    organizationCode: "contoso",
    region: "crm4",
    dataServiceUrl: env.dm.dataServiceUrl,
    securityServiceUrl: env.dm.securityServiceUrl,
    identityStoreId: 7,
    tenantId: TENANT_ID,
    clientId: CLIENT_ID,
  });
  expect(registered.status).toBe(200);
  const linked = await adminCall("PUT", "stores/contoso/workflows/group-join/flow", {
    requestUrl: `${env.flow.flowUrl}?api-version=2016-06-01&sig=flow-SIG-secret-123`,
    workflowName: "Group join approval",
    approvers: ["alice@contoso.com"],
  });
  expect(linked.status).toBe(200);
  for (const requestId of [FAILING_REQUEST, STILL_FAILED]) {
    const accepted = await env.call("POST", linked.body.triggerUrl, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ WorkflowRequestID: Number(requestId) }),
    });
    expect(accepted.status).toBe(202);
    await waitForState(requestId, "flow-failed");
  }
}, 120_000);
afterAll(async () => {
  await env?.stop();
  await issuer?.close();
});

const requestRow = (page: Page, requestId: string) =>
  page.locator(`tr[data-request-id="${requestId}"]`);

/** Opens the console, signs in through MSAL's redirect to the issuer, and waits for the shell. */
async function signIn(browser: Browser, role: string): Promise<void> {
  const { page } = browser;
  await page.goto(`${env.baseUrl}/api/console/`);
  await page.getByRole("button", { name: "Sign in with Microsoft" }).click();
  // authorize → back to the console with a code, which MSAL redeems at the token endpoint.
  await page.getByTestId("role").waitFor();
  expect(await page.getByTestId("role").innerText()).toBe(role);
}

describeInBrowser("the console signed in with Entra", () => {
  /** The page of the request left failed, as the admin saw it (with its Redrive button). */
  let stillFailedPage: string;

  it("signs an admin in by redirect, lists and opens the failed request, and redrives it", async () => {
    issuer.signInAs(ADMIN);
    const browser = await openBrowser({ ignoreHTTPSErrors: true });
    try {
      const { page } = browser;
      await signIn(browser, "Admin");
      expect(issuer.redeemedCodes).toEqual([ADMIN.oid]);
      await browser.screenshot("entra-admin-signed-in");

      await page.getByRole("link", { name: "Requests", exact: true }).click();
      await requestRow(page, FAILING_REQUEST).waitFor();
      expect(await requestRow(page, FAILING_REQUEST).innerText()).toContain("Flow failed");
      await browser.screenshot("entra-admin-requests");

      await requestRow(page, STILL_FAILED).getByRole("link", { name: STILL_FAILED }).click();
      await page.getByRole("heading", { name: `Request ${STILL_FAILED}` }).waitFor();
      await page.getByRole("button", { name: "Redrive" }).waitFor();
      stillFailedPage = page.url();
      await page.goBack();

      await requestRow(page, FAILING_REQUEST).getByRole("link", { name: FAILING_REQUEST }).click();
      await page.getByRole("heading", { name: `Request ${FAILING_REQUEST}` }).waitFor();
      const timeline = page.getByRole("list", { name: "Timeline" });
      await timeline.locator('li[data-state="flow-failed"]').waitFor();
      await page.getByRole("button", { name: "Redrive" }).waitFor();
      await browser.screenshot("entra-admin-request-failed");

      await page.getByRole("button", { name: "Redrive" }).click();
      const dialog = page.getByRole("dialog");
      await dialog.getByRole("button", { name: "Redrive" }).click();
      await page.getByText("Redriven: the request is queued again.").waitFor();
      await waitForState(FAILING_REQUEST, "applied");
      await page.getByRole("button", { name: "Refresh" }).click();
      await page
        .getByRole("region", { name: "Essentials" })
        .locator('[data-state="applied"]')
        .waitFor();
      expect(await page.getByRole("button", { name: "Redrive" }).count()).toBe(0);
      expect(await timeline.innerText()).toContain("redriven by an administrator");
      await browser.screenshot("entra-admin-request-redriven");
    } finally {
      await browser.close();
    }
  }, 90_000);

  it("signs a reader in, who sees the request with no Redrive button", async () => {
    issuer.signInAs(READER);
    const browser = await openBrowser({ ignoreHTTPSErrors: true });
    try {
      const { page } = browser;
      await signIn(browser, "Reader");
      expect(issuer.redeemedCodes).toEqual([ADMIN.oid, READER.oid]);
      await page.goto(stillFailedPage);
      await page.getByRole("heading", { name: `Request ${STILL_FAILED}` }).waitFor();
      await page
        .getByRole("list", { name: "Timeline" })
        .locator('li[data-state="flow-failed"]')
        .waitFor();
      expect(await page.getByRole("button", { name: "Redrive" }).count()).toBe(0);
      await browser.screenshot("entra-reader-request");
    } finally {
      await browser.close();
    }
  }, 90_000);
});
