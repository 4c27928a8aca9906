/**
 * The dm-flow-relay binary against a real HTTP server on 127.0.0.1 that plays the relay's admin
 * API: how the CLI finds the relay and proves who calls (local settings, admin key, Entra sign-in
 * through the Azure CLI), and how it prints answers and failures.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  FakeHttpServer,
  refusedUrl,
  type ReceivedRequest,
  type ScriptedAnswer,
} from "../adapters/http/fake-http-server";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const BIN = path.join(REPO_ROOT, "bin", "dm-flow-relay.js");
const { version: VERSION } = JSON.parse(
  fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"),
) as { version: string };

const ADMIN_KEY = "options-admin-key";
const SCOPE = "api://dm-flow-relay/.default";
const TENANT_ID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
/** What the fake `az` answers `az account get-access-token` with. */
const AZ_TOKEN = "eyJ0eXAiOiJKV1QifQ.fake-az-access-token.sig";

const PORTAL_URL =
  "https://make.powerautomate.com/environments/Default-env/flows/flow-1/runs/08584-run-CU00";

/** A request status as the relay answers it, with the optional members the CLI shows. */
const STATUS = {
  storeId: "contoso",
  workflowId: "group-join",
  requestId: "9001",
  state: "flow-failed",
  decision: {
    outcome: "approved",
    approver: { email: "alice@contoso.com", displayName: "Alice Smith" },
    comments: "fine",
    recordedAt: "2026-11-28T10:00:01Z",
  },
  flowRunId: "08584-run-CU00",
  flowRun: {
    runId: "08584-run-CU00",
    flowName: "flow-1",
    environmentName: "Default-env",
    claimedAt: "2026-11-28T09:00:00Z",
    portalUrl: PORTAL_URL,
    cancelError: "HTTP 500 from Power Automate",
  },
  attempts: { flow: 3, apply: 0 },
  redrives: 2,
  nextAttemptAt: "2026-11-28T11:30:00Z",
  lastError: "the flow answered 502",
  history: [
    { at: "2026-11-28T08:59:00Z", state: "queued", detail: "accepted from Directory Manager" },
    {
      at: "2026-11-28T09:10:00Z",
      state: "queued",
      detail: "redriven by an administrator: calling the flow again",
      actor: { upn: "admin@contoso.com", oid: "0000-oid" },
    },
  ],
  createdAt: "2026-11-28T08:59:00Z",
  updatedAt: "2026-11-28T09:10:00Z",
};

const LINK = {
  storeId: "contoso",
  workflowId: "42",
  workflowName: "Group join approval",
  approvers: ["alice@contoso.com", "bob@contoso.com"],
  flowAuth: "sas",
  flow: { host: "flow.example", redactedUrl: "https://flow.example/x?sig=REDACTED" },
  triggerUrl: "http://127.0.0.1/api/stores/contoso/workflows/42/trigger?sig=trigger-key",
};

const problem = (status: number, title: string, detail: string, extra = {}): ScriptedAnswer => ({
  status,
  headers: { "content-type": "application/problem+json" },
  body: { type: "about:blank", title, status, detail, ...extra },
});

/** How the fake relay checks callers: the Functions host's key check, or the app's bearer check. */
let expectedAuth: { header: string; value: string };

/** The admin routes the CLI calls, for store "contoso" (every other store is not registered). */
function relayAnswer(request: ReceivedRequest): ScriptedAnswer {
  const given = request.headers[expectedAuth.header];
  if (given !== expectedAuth.value)
    return expectedAuth.header === "authorization"
      ? problem(401, "Unauthorized", "the bearer token is missing or not valid")
      : { status: 401 };
  const route = `${request.method} ${new URL(request.url, "http://x").pathname}`;
  const body = request.body.length ? JSON.parse(request.body.toString("utf8")) : {};
  const directoryManager = body.configureDirectoryManager
    ? { directoryManager: { configured: true } }
    : {};
  switch (route) {
    case "GET /api/stores/contoso/power-automate":
      return { status: 200, body: { storeId: "contoso", organizationCode: "contoso" } };
    case "GET /api/stores/contoso/requests/9001":
      return { status: 200, body: STATUS };
    case "GET /api/stores/contoso/requests":
      return {
        status: 200,
        body: { storeId: "contoso", requests: [{ ...STATUS, history: undefined }] },
      };
    case "PUT /api/stores/contoso/workflows/42/flow":
      return { status: 200, body: { ...LINK, ...directoryManager } };
    case "PUT /api/stores/contoso/workflows/bad/flow":
      return problem(400, "Invalid request", "the body is not valid", {
        errors: [{ path: "/requestUrl", message: "must be an https URL" }],
      });
    case "POST /api/stores/contoso/workflows/42/flow/create":
      return {
        status: 200,
        body: {
          ...LINK,
          cloudFlow: { flowId: "f-1", environmentId: "env-1", name: "Group join", state: "on" },
          ...directoryManager,
        },
      };
    default:
      return route.startsWith("GET /api/stores/")
        ? problem(404, "Not found", `store ${route.split("/")[3]} is not registered`)
        : { status: 404 };
  }
}

let relay: FakeHttpServer;
let workDir: string;
/** A folder with the fake `az` in it, first on the PATH of runs that sign in. */
let fakeAzBin: string;
let azLog: string;

beforeAll(async () => {
  relay = await FakeHttpServer.start();
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), "dm-flow-relay-cli-options-"));
  fakeAzBin = path.join(workDir, "fake-az-bin");
  azLog = path.join(workDir, "az-calls.log");
  fs.mkdirSync(fakeAzBin);
  // Prints what `az account get-access-token --output json` prints, or its logged-out error.
  fs.writeFileSync(
    path.join(fakeAzBin, "az"),
    `#!${process.execPath}
const fs = require("node:fs");
fs.appendFileSync(process.env.FAKE_AZ_LOG, JSON.stringify(process.argv.slice(2)) + "\\n");
if (process.env.FAKE_AZ_LOGGED_OUT) {
  process.stderr.write("ERROR: Please run 'az login' to setup account.\\n");
  process.exit(1);
}
const expiresOn = Math.floor(Date.now() / 1000) + 3600;
process.stdout.write(JSON.stringify({
  accessToken: ${JSON.stringify(AZ_TOKEN)},
  expiresOn: new Date(expiresOn * 1000).toISOString().replace("T", " ").slice(0, 19) + ".000000",
  expires_on: expiresOn,
  subscription: "00000000-0000-0000-0000-000000000000",
  tenant: process.argv[process.argv.indexOf("--tenant") + 1],
  tokenType: "Bearer",
}, null, 2));
`,
    { mode: 0o755 },
  );
});
afterAll(async () => {
  await relay?.close();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});
beforeEach(() => {
  expectedAuth = { header: "x-functions-key", value: ADMIN_KEY };
  relay.respondWith(relayAnswer);
  fs.rmSync(azLog, { force: true });
});

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The process environment without any relay, Azure or identity setting of the machine. */
function cleanEnvironment(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined && !/^(RELAY_|AZURE_|IDENTITY_|MSI_|FAKE_AZ_)/.test(entry[0]),
    ),
  );
}

/** Runs `command` (the bin through node, unless given) with only the settings a case names. */
function run(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; command?: string } = {},
): Promise<CliRun> {
  const [file, argv] = options.command
    ? [options.command, args]
    : [process.execPath, [BIN, ...args]];
  return new Promise((resolve) => {
    execFile(
      file,
      argv,
      {
        cwd: options.cwd ?? workDir,
        timeout: 30_000,
        env: {
          ...cleanEnvironment(),
          // The fake az comes before any real one; node stays reachable for the scripts' shebangs.
          PATH: [fakeAzBin, path.dirname(process.execPath), process.env.PATH].join(path.delimiter),
          FAKE_AZ_LOG: azLog,
          ...options.env,
        },
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A run against the fake relay with the admin key. */
const withKey = (args: string[], env: Record<string, string> = {}) =>
  run(args, { env: { RELAY_URL: relay.baseUrl, RELAY_ADMIN_KEY: ADMIN_KEY, ...env } });

const succeeded = (result: CliRun): string => {
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
  return result.stdout;
};

const routesCalled = () =>
  relay.requests.map((request) => `${request.method} ${request.url.split("?")[0]}`);

describe("dm-flow-relay --version", () => {
  it("prints the package's version", async () => {
    for (const flag of ["--version", "-V"])
      expect(succeeded(await run([flag]))).toBe(`${VERSION}\n`);
  });
});

describe("finding the local relay", () => {
  let appRoot: string;
  let inside: string;
  const writeSettings = (values: Record<string, string>) =>
    fs.writeFileSync(
      path.join(appRoot, "local.settings.json"),
      JSON.stringify({ IsEncrypted: false, Values: values }),
    );
  const port = () => new URL(relay.baseUrl).port;

  beforeAll(() => {
    appRoot = path.join(workDir, "app");
    inside = path.join(appRoot, "cli", "deeper");
    fs.mkdirSync(inside, { recursive: true });
  });

  it("uses RELAY_PORT and RELAY_LOCAL_KEY of the nearest local.settings.json above", async () => {
    writeSettings({ RELAY_PORT: port(), RELAY_LOCAL_KEY: "key-from-local-settings" });
    expectedAuth = { header: "x-functions-key", value: "key-from-local-settings" };
    succeeded(await run(["requests", "contoso"], { cwd: inside }));
    expect(routesCalled()).toEqual([
      "GET /api/stores/contoso/power-automate",
      "GET /api/stores/contoso/requests",
    ]);
    expect(relay.requests[0]?.headers.host).toBe(`localhost:${port()}`);
  });

  it("lets environment variables win over the file, as the local host does", async () => {
    const refused = new URL(await refusedUrl()).port;
    writeSettings({ RELAY_PORT: refused, RELAY_LOCAL_KEY: "key-in-the-file" });
    expectedAuth = { header: "x-functions-key", value: "key-in-the-environment" };
    succeeded(
      await run(["requests", "contoso"], {
        cwd: inside,
        env: { RELAY_PORT: port(), RELAY_LOCAL_KEY: "key-in-the-environment" },
      }),
    );
    expect(relay.requests[0]?.headers.host).toBe(`localhost:${port()}`);
  });

  it("uses the environment's RELAY_LOCAL_KEY where no local.settings.json is found", async () => {
    expectedAuth = { header: "x-functions-key", value: "only-in-the-environment" };
    const result = await run(["requests", "contoso"], {
      env: { RELAY_URL: relay.baseUrl, RELAY_LOCAL_KEY: "only-in-the-environment" },
    });
    expect(succeeded(result)).toMatch(/^requestId +workflowId +state/);
  });

  it("calls http://localhost:7071 when nothing names a port", async () => {
    fs.rmSync(path.join(appRoot, "local.settings.json"));
    const result = await run(["--json", "requests", "contoso"], {
      cwd: inside,
      env: { RELAY_ADMIN_KEY: ADMIN_KEY },
    });
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).error.detail).toMatch(
      /^cannot reach the relay at http:\/\/localhost:7071: /,
    );
  });

  it("never sends the local key to a relay elsewhere", async () => {
    writeSettings({ RELAY_PORT: port(), RELAY_LOCAL_KEY: "key-from-local-settings" });
    const result = await run(["requests", "contoso"], {
      cwd: inside,
      env: { RELAY_URL: "https://dm-relay.example.com", RELAY_LOCAL_KEY: "local" },
    });
    expect(result).toEqual({
      code: 1,
      stdout: "",
      stderr:
        "dm-flow-relay: no admin key: pass --key or set RELAY_ADMIN_KEY (or sign in with Entra ID: --scope or RELAY_API_SCOPE)\n",
    });
  });

  it("names RELAY_PORT when it is not a port", async () => {
    writeSettings({ RELAY_PORT: "abc", RELAY_LOCAL_KEY: "key-from-local-settings" });
    const result = await run(["requests", "contoso"], { cwd: inside });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'dm-flow-relay: RELAY_PORT must be a port number from 1 to 65535, not "abc"\n',
    );
    expect(relay.requests).toEqual([]);
  });

  it("names local.settings.json when it is not JSON", async () => {
    fs.writeFileSync(path.join(appRoot, "local.settings.json"), "{ not json");
    const result = await run(["requests", "contoso"], { cwd: inside });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `^dm-flow-relay: ${path.join(appRoot, "local.settings.json")} could not be read as JSON: `,
      ),
    );
  });
});

describe("readable answers", () => {
  it("shows a request's approver, flow run, redrives and next retry, with no raw JSON", async () => {
    const output = succeeded(await withKey(["status", "contoso", "9001"]));
    expect(output).toMatch(/^decision: +approved$/m);
    expect(output).toMatch(/^approver: +Alice Smith <alice@contoso\.com>$/m);
    expect(output).toMatch(/^redrives: +2$/m);
    expect(output).toMatch(/^nextAttemptAt: +2026-11-28T11:30:00Z$/m);
    expect(output).toMatch(/^flowRun:$/m);
    expect(output).toContain(`  portalUrl:       ${PORTAL_URL}\n`);
    expect(output).toMatch(/^ {2}cancelError: +HTTP 500 from Power Automate$/m);
    expect(output).toMatch(/^attempts:\n {2}flow: +3\n {2}apply: +0$/m);
    // The history's extra member is a column, its object one sub-row per member.
    expect(output).toMatch(/^at +state +detail +actor$/m);
    expect(output).toMatch(
      /^2026-11-28T09:10:00Z +queued +redriven by an administrator: calling the flow again +upn: admin@contoso\.com\n +oid: 0000-oid$/m,
    );
    expect(output).not.toMatch(/[{}[\]"]/);
  });

  it("prints a link's approvers as a list", async () => {
    const output = succeeded(
      await withKey(["link", "contoso", "42", "--flow-url", "https://flow.example/x?sig=s"]),
    );
    expect(output).toMatch(/^approvers: +alice@contoso\.com, bob@contoso\.com$/m);
    expect(output).toContain("Paste this into the workflow's Request URL in Directory Manager:\n");
    expect(output).not.toMatch(/directoryManager/);
    expect(JSON.parse(relay.requests.at(-1)?.body.toString() ?? "")).not.toHaveProperty(
      "configureDirectoryManager",
    );
  });
});

describe("--configure-dm", () => {
  it.each([
    ["link", ["link", "contoso", "42", "--flow-url", "https://flow.example/x?sig=s"], "PUT"],
    ["create-flow", ["create-flow", "contoso", "42", "--approver", "alice@contoso.com"], "POST"],
  ])("asks %s to set DM's Request URL and says it did", async (_command, args, method) => {
    const output = succeeded(await withKey([...args, "--configure-dm"]));
    const sent = relay.requests.at(-1);
    expect(sent?.method).toBe(method);
    expect(JSON.parse(sent?.body.toString() ?? "")).toMatchObject({
      configureDirectoryManager: true,
    });
    expect(output).toMatch(/^directoryManager:\n {2}configured: true$/m);
    expect(output).toContain(
      `Directory Manager's workflow now posts to the relay's trigger URL:\n${LINK.triggerUrl}\n`,
    );
    const json = JSON.parse(succeeded(await withKey(["--json", ...args, "--configure-dm"])));
    expect(json.directoryManager).toEqual({ configured: true });
  });
});

describe("failures", () => {
  it.each([
    ["status", "nobody", "9001"],
    ["requests", "nobody"],
    ["redrive", "nobody", "9001"],
  ])("%s of an unknown store fails with the API's 404, asking nothing else", async (...args) => {
    const result = await withKey(args);
    expect(result).toEqual({
      code: 1,
      stdout: "",
      stderr: "dm-flow-relay: HTTP 404 Not found: store nobody is not registered\n",
    });
    expect(routesCalled()).toEqual(["GET /api/stores/nobody/power-automate"]);
  });

  it.each([
    [
      "the API's problem",
      ["status", "nobody", "1"],
      { status: 404, title: "Not found", detail: "store nobody is not registered" },
    ],
    [
      "a validation problem with its field errors",
      ["link", "contoso", "bad", "--flow-url", "http://x"],
      {
        status: 400,
        title: "Invalid request",
        detail: "the body is not valid",
        errors: [{ path: "/requestUrl", message: "must be an https URL" }],
      },
    ],
    [
      "a 401 without a body",
      ["requests", "contoso", "--key", "wrong"],
      { status: 401, title: "Unauthorized", detail: "the admin key is missing or wrong" },
    ],
    [
      "a missing option",
      ["link", "contoso", "42"],
      {
        status: null,
        title: "Invalid usage",
        detail: "required option '--flow-url <url>' not specified",
      },
    ],
    [
      "no command",
      [],
      {
        status: null,
        title: "Invalid usage",
        detail: "no command given: dm-flow-relay --help lists them",
      },
    ],
    [
      "an unknown command",
      ["unlink-everything"],
      { status: null, title: "Invalid usage", detail: "unknown command 'unlink-everything'" },
    ],
  ])("under --json prints %s as JSON on stdout", async (_case, args, error) => {
    const result = await withKey(["--json", ...args]);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 1, stderr: "" });
    const printed = JSON.parse(result.stdout);
    expect(Object.keys(printed)).toEqual(["error"]);
    expect(printed.error).toMatchObject(error);
  });

  it("under --json prints an unreachable relay as JSON", async () => {
    const url = await refusedUrl();
    const result = await withKey(["requests", "contoso", "--json"], { RELAY_URL: url });
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({
      error: {
        status: null,
        title: "Cannot reach the relay",
        detail: `cannot reach the relay at ${url}: ECONNREFUSED`,
      },
    });
  });
});

describe("Entra sign-in", () => {
  beforeEach(() => {
    expectedAuth = { header: "authorization", value: `Bearer ${AZ_TOKEN}` };
  });
  const azCalls = (): string[][] =>
    fs
      .readFileSync(azLog, "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));

  it("signs in through the Azure CLI for --scope, in --tenant, and sends the bearer token", async () => {
    const result = await run(["requests", "contoso", "--scope", SCOPE, "--tenant", TENANT_ID], {
      env: { RELAY_URL: relay.baseUrl },
    });
    expect(succeeded(result)).toMatch(/^9001 +group-join +flow-failed +approved /m);
    expect(relay.requests.map((request) => request.headers.authorization)).toEqual([
      `Bearer ${AZ_TOKEN}`,
      `Bearer ${AZ_TOKEN}`,
    ]);
    expect(relay.requests.some((request) => request.headers["x-functions-key"])).toBe(false);
    // Signed in once for the run's two calls.
    expect(azCalls()).toEqual([
      [
        "account",
        "get-access-token",
        "--output",
        "json",
        "--resource",
        "api://dm-flow-relay",
        "--tenant",
        TENANT_ID,
      ],
    ]);
  });

  it("takes the scope and tenant from RELAY_API_SCOPE and RELAY_ADMIN_TENANT_ID", async () => {
    const result = await run(["status", "contoso", "9001"], {
      env: { RELAY_URL: relay.baseUrl, RELAY_API_SCOPE: SCOPE, RELAY_ADMIN_TENANT_ID: TENANT_ID },
    });
    expect(succeeded(result)).toMatch(/^state: +flow-failed$/m);
    expect(azCalls()[0]).toContain(TENANT_ID);
  });

  it("signs in for the local host whose settings say entra, with its audience and tenant", async () => {
    const appRoot = path.join(workDir, "entra-app");
    fs.mkdirSync(appRoot, { recursive: true });
    fs.writeFileSync(
      path.join(appRoot, "local.settings.json"),
      JSON.stringify({
        Values: {
          RELAY_PORT: new URL(relay.baseUrl).port,
          RELAY_LOCAL_KEY: "local-key-the-entra-host-ignores",
          RELAY_ADMIN_AUTH: "entra",
          RELAY_ADMIN_AUDIENCE: "api://dm-flow-relay,7d9c0a51-2b1e-4c3a-9f00-1a2b3c4d5e6f",
          RELAY_ADMIN_TENANT_ID: TENANT_ID,
        },
      }),
    );
    succeeded(await run(["requests", "contoso"], { cwd: appRoot }));
    expect(azCalls()[0]).toEqual(expect.arrayContaining(["api://dm-flow-relay", TENANT_ID]));
  });

  it("uses the key when one is given, unless --auth entra says otherwise", async () => {
    expectedAuth = { header: "x-functions-key", value: ADMIN_KEY };
    succeeded(await withKey(["requests", "contoso"], { RELAY_API_SCOPE: SCOPE }));
    expect(fs.existsSync(azLog)).toBe(false);

    expectedAuth = { header: "authorization", value: `Bearer ${AZ_TOKEN}` };
    relay.respondWith(relayAnswer);
    succeeded(
      await withKey(["--auth", "entra", "requests", "contoso"], { RELAY_API_SCOPE: SCOPE }),
    );
    expect(relay.requests[0]?.headers["x-functions-key"]).toBeUndefined();
  });

  it("fails in one line when the Azure CLI is signed out and no terminal can show a device code", async () => {
    const result = await run(["requests", "contoso", "--scope", SCOPE], {
      env: { RELAY_URL: relay.baseUrl, FAKE_AZ_LOGGED_OUT: "1" },
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      `dm-flow-relay: cannot sign in for ${SCOPE}: CredentialUnavailableError: Please run 'az login' from a command prompt to authenticate before using this credential. (device code sign-in needs a terminal)\n`,
    );
    expect(relay.requests).toEqual([]);
  });

  it("reports the relay's 401 for a token it refuses", async () => {
    expectedAuth = { header: "authorization", value: "Bearer another-token" };
    const result = await run(["--json", "requests", "contoso", "--scope", SCOPE], {
      env: { RELAY_URL: relay.baseUrl },
    });
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).error).toMatchObject({
      status: 401,
      title: "Unauthorized",
      detail: "the bearer token is missing or not valid",
    });
  });

  it("asks for a scope when --auth entra has none", async () => {
    const result = await run(["--auth", "entra", "requests", "contoso"], {
      env: { RELAY_URL: relay.baseUrl },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "dm-flow-relay: no API scope to sign in for: pass --scope or set RELAY_API_SCOPE (e.g. api://dm-flow-relay/.default)\n",
    );
  });
});

describe("installed on a PATH", () => {
  it("runs from `npm install -g .` (a link to the clone) in any folder", async () => {
    const prefix = path.join(workDir, "global");
    const npm = await run(
      [
        "install",
        "--global",
        "--prefix",
        prefix,
        "--offline",
        "--no-audit",
        "--no-fund",
        REPO_ROOT,
      ],
      { command: "npm", cwd: workDir },
    );
    expect(npm.code).toBe(0);
    const installed = path.join(prefix, "bin", "dm-flow-relay");
    expect(fs.realpathSync(installed)).toBe(fs.realpathSync(BIN));

    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "dm-flow-relay-elsewhere-"));
    try {
      const options = {
        command: installed,
        cwd: elsewhere,
        env: { RELAY_URL: relay.baseUrl, RELAY_ADMIN_KEY: ADMIN_KEY },
      };
      expect(succeeded(await run(["--version"], options))).toBe(`${VERSION}\n`);
      expect(succeeded(await run(["status", "contoso", "9001"], options))).toMatch(
        /^requestId: +9001$/m,
      );
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});
