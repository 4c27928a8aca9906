/**
 * The deployable package itself (dev/build.ts), not the sources: its entry registers the functions,
 * and the relay kit it loads on the first invocation serves requests and queue messages.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildPackage } from "../../dev/build";
import { startRelayEnvironment, type RelayEnvironment } from "../support/relay-environment";

let scratch: string;
let env: RelayEnvironment;

beforeAll(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), "relay-built-"));
  const { outDir } = await buildPackage(
    path.resolve(__dirname, "../.."),
    path.join(scratch, "dist"),
  );
  env = await startRelayEnvironment({
    entry: path.join(outDir, "functions/index.js"),
    flow: { approver: () => ({ outcome: "Approve", email: "alice@contoso.com" }) },
  });
}, 60_000);
afterAll(async () => {
  await env?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

it("relays a DM request to the flow and writes the approval back", async () => {
  await env.registerStore("contoso");
  const triggerUrl = await env.link("contoso", "group-join");
  const accepted = await env.call("POST", triggerUrl, {
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ WorkflowRequestID: 2001, requester: "bob@contoso.com" }),
  });
  expect(accepted).toMatchObject({ status: 202, body: { requestId: "2001", status: "queued" } });
  await env.waitForState("contoso", "2001", "applied");
  expect(env.dm.statuses.get("2001")).toBe("Approved");
});

it("answers refusals as problem+json", async () => {
  const answer = await env.admin("GET", "stores/contoso/requests/not%20an%20id");
  expect(answer.status).toBe(400);
  expect(answer.headers.get("content-type")).toBe("application/problem+json");
  expect(answer.body).toMatchObject({ status: 400, errors: [{ path: "/path/requestId" }] });
});
