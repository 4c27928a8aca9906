/** The dm-flow-relay binary, run as a child process against the local host. */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import JSZip from "jszip";
import { FakeIdentityEndpoint } from "../adapters/http/fake-identity-endpoint";
import { startFakePowerPlatform, type FakePowerPlatform } from "../support/fake-power-platform";
import {
  ADMIN_KEY,
  CLIENT_ID,
  TENANT_ID,
  startRelayEnvironment,
  type RelayEnvironment,
} from "../support/relay-environment";

const BIN = path.resolve(__dirname, "..", "..", "bin", "dm-flow-relay.js");

let identity: FakeIdentityEndpoint;
let platform: FakePowerPlatform;
let env: RelayEnvironment;
let workDir: string;

beforeAll(async () => {
  identity = await FakeIdentityEndpoint.start();
  platform = await startFakePowerPlatform(() => env.flow.flowUrl);
  env = await startRelayEnvironment({
    // The flow fails request 7002 for good, so there is something to redrive.
    flow: {
      approver: () => undefined,
      respond: (call) =>
        call.headers["x-relay-request-id"] === "7002" ? { status: 404 } : { status: 202 },
    },
    settings: platform.settings,
  });
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), "dm-flow-relay-cli-"));
}, 60_000);
afterAll(async () => {
  await env?.stop();
  await platform?.close();
  await identity?.close();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the binary with RELAY_URL and RELAY_ADMIN_KEY set (unless overridden). */
function cli(
  args: string[],
  environment: Record<string, string | undefined> = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: workDir,
        timeout: 30_000,
        env: { ...process.env, RELAY_URL: env.baseUrl, RELAY_ADMIN_KEY: ADMIN_KEY, ...environment },
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const ok = async (args: string[]): Promise<string> => {
  const run = await cli(args);
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
  return run.stdout;
};

const registration = (storeId: string) => [
  "register-store",
  storeId,
  "--organization",
  "contoso",
  "--region",
  "crm4",
  "--data-service-url",
  env.dm.dataServiceUrl,
  "--security-service-url",
  env.dm.securityServiceUrl,
  "--identity-store-id",
  "7",
  "--tenant-id",
  TENANT_ID,
  "--client-id",
  CLIENT_ID,
];

describe("dm-flow-relay", () => {
  it("registers a store, with a readable answer and a JSON one", async () => {
    const human = await ok(registration("contoso"));
    expect(human).toMatch(/^storeId: +contoso$/m);
    expect(human).toMatch(/^region: +crm4$/m);
    const json = JSON.parse(await ok(["--json", ...registration("contoso")]));
    expect(json).toMatchObject({
      storeId: "contoso",
      organizationCode: "contoso",
      identityStoreId: 7,
    });
  });

  it("links a workflow and prints the trigger URL to paste into DM", async () => {
    const output = await ok([
      "link",
      "contoso",
      "group-join",
      "--flow-url",
      `${env.flow.flowUrl}?api-version=1&sig=cli-flow-sig`,
      "--name",
      "Group join approval",
      "--approver",
      "alice@contoso.com",
      "--approver",
      "bob@contoso.com",
    ]);
    expect(output).toContain("Paste this into the workflow's Request URL in Directory Manager:");
    expect(output).toMatch(
      new RegExp(
        `^${env.baseUrl}/api/stores/contoso/workflows/group-join/trigger\\?sig=\\S+$`,
        "m",
      ),
    );
    expect(output).toMatch(/^approvers: +alice@contoso\.com, bob@contoso\.com$/m);
    expect(output).not.toContain("cli-flow-sig");
  });

  it("saves the template, and the solution zip under the name the relay gives it", async () => {
    expect(await ok(["template", "contoso", "group-join"])).toMatch(
      /^saved .*group-join\.flow\.json/,
    );
    const saved = JSON.parse(fs.readFileSync(path.join(workDir, "group-join.flow.json"), "utf8"));
    const served = await env.admin("GET", "stores/contoso/workflows/group-join/flow-template");
    expect(saved).toEqual(served.body);

    const run = JSON.parse(await ok(["--json", "template", "contoso", "group-join", "--solution"]));
    expect(path.basename(run.file)).toMatch(
      /^DmRelay_contoso_group_join_[0-9a-f]{8}_1_0_0_0\.zip$/,
    );
    const zip = await JSZip.loadAsync(fs.readFileSync(run.file));
    expect(Object.keys(zip.files)).toContain("solution.xml");

    await ok(["template", "contoso", "other", "--approver", "carol@contoso.com", "-o", "o.json"]);
    expect(
      JSON.parse(fs.readFileSync(path.join(workDir, "o.json"), "utf8")).definition,
    ).toBeDefined();
  });

  it("creates the flow in the environment and links it", async () => {
    const output = await ok([
      "create-flow",
      "contoso",
      "access",
      "--name",
      "Access request",
      "--approver",
      "alice@contoso.com",
    ]);
    expect(output).toMatch(/^state: +on$/m);
    expect(output).toMatch(/^environmentId: +env-contoso-crm4$/m);
    expect(output).toMatch(/\/api\/stores\/contoso\/workflows\/access\/trigger\?sig=/);
    expect(platform.dataverse.requests.map((request) => request.method)).toEqual(
      expect.arrayContaining(["POST", "PATCH"]),
    );
  });

  it("shows, lists and redrives requests", async () => {
    const triggerUrl = JSON.parse(
      await ok([
        "--json",
        "link",
        "contoso",
        "group-join",
        "--flow-url",
        `${env.flow.flowUrl}?api-version=1&sig=cli-flow-sig`,
      ]),
    ).triggerUrl as string;
    for (const id of ["7001", "7002"])
      await env.call("POST", triggerUrl, {
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ WorkflowRequestID: Number(id) }),
      });
    await env.waitForState("contoso", "7001", "flow-triggered");
    await env.waitForState("contoso", "7002", "flow-failed");

    const status = await ok(["status", "contoso", "7001"]);
    expect(status).toMatch(/^state: +flow-triggered$/m);
    expect(status).toMatch(/^at +state +detail$/m);
    expect(status).toContain("accepted from Directory Manager");

    const failed = await ok(["requests", "contoso", "--state", "flow-failed"]);
    expect(failed.split("\n")[0]).toMatch(
      /^requestId +workflowId +state +decision +lastError +updatedAt$/,
    );
    expect(failed).toMatch(/^7002 +group-join +flow-failed /m);
    expect(failed).not.toMatch(/^7001 /m);

    expect(await ok(["redrive", "contoso", "7002"])).toBe("request 7002 redriven: now queued\n");
    const listed = JSON.parse(await ok(["--json", "requests", "contoso"]));
    expect(listed.requests.map((r: { requestId: string }) => r.requestId).sort()).toEqual([
      "7001",
      "7002",
    ]);
  });

  it.each([
    [
      "an unknown request",
      ["redrive", "contoso", "nope"],
      {},
      /^dm-flow-relay: HTTP 404 Not found: request nope is not known to the relay\n$/,
    ],
    [
      "a request that cannot be redriven",
      ["redrive", "contoso", "7001"],
      {},
      /^dm-flow-relay: HTTP 409 Conflict: request 7001 is flow-triggered: .*\n$/,
    ],
    [
      "invalid input",
      ["link", "contoso", "wf", "--flow-url", "https://evil.example.com/x?sig=1"],
      {},
      /^dm-flow-relay: HTTP 400 Invalid request: the body is not valid \(\/requestUrl host evil\.example\.com is not in RELAY_ALLOWED_FLOW_HOSTS\)\n$/,
    ],
    [
      "a wrong admin key",
      ["requests", "contoso"],
      { RELAY_ADMIN_KEY: "wrong" },
      /^dm-flow-relay: HTTP 401: the admin key is missing or wrong\n$/,
    ],
    [
      "no admin key",
      ["requests", "contoso"],
      { RELAY_ADMIN_KEY: undefined },
      /^dm-flow-relay: no admin key: pass --key or set RELAY_ADMIN_KEY \(or sign in with Entra ID: --scope or RELAY_API_SCOPE\)\n$/,
    ],
    [
      "an unknown store's requests",
      ["requests", "nobody"],
      {},
      /^dm-flow-relay: HTTP 404 Not found: store nobody is not registered\n$/,
    ],
    [
      "a relay that is not there",
      ["--url", "http://127.0.0.1:9", "requests", "contoso"],
      {},
      /^dm-flow-relay: cannot reach the relay at http:\/\/127\.0\.0\.1:9: ECONNREFUSED\n$/,
    ],
    [
      "a failing upstream call",
      ["create-flow", "nobody", "wf", "--approver", "a@contoso.com"],
      {},
      /^dm-flow-relay: HTTP 409 Conflict: store nobody is not registered; .*\n$/,
    ],
  ])("fails with exit code 1 and one line for %s", async (_case, args, environment, line) => {
    const run = await cli(args, environment);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(line);
  });

  it("fails with one line for a missing required option", async () => {
    const run = await cli(["link", "contoso", "wf"]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split("\n")).toEqual([
      "error: required option '--flow-url <url>' not specified",
    ]);
  });
});
