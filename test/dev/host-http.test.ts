import fs from "node:fs";
import path from "node:path";
import {
  FIXTURES,
  makeAppRoot,
  runHostToExit,
  startHostProcess,
  type RunningHostProcess,
} from "../fixtures/host-app-harness/host-process";

const entry = path.join(FIXTURES, "host-app", "index.ts");
const serviceBusEntry = path.join(FIXTURES, "host-app-servicebus", "index.ts");
const LOCAL_KEY = "test-local-key";
const FUNCTION_NAMES = ["echo", "functionLevel", "adminLevel", "explode", "nothing", "setting"];

interface Binding {
  type: string;
  direction: string;
  [option: string]: unknown;
}

/** The JSON array --print-metadata writes (after anything the app itself printed). */
function parseMetadata(stdout: string): { name: string; bindings: Record<string, Binding> }[] {
  return JSON.parse(stdout.slice(stdout.indexOf("[")));
}

/** The library names bindings after a hash of their options, so the trigger is found by type. */
function triggerOf(bindings: Record<string, Binding>): Binding | undefined {
  return Object.values(bindings).find((b) => b.direction === "in" && /Trigger$/.test(b.type));
}

describe("local Functions host: HTTP triggers (child process)", () => {
  let host: RunningHostProcess;
  let appRoot: string;

  beforeAll(async () => {
    appRoot = makeAppRoot({
      sampleValues: { FIXTURE_REQUIRED_SETTING: "set", RELAY_LOCAL_KEY: LOCAL_KEY },
    });
    host = await startHostProcess({ appRoot, entry });
  });

  afterAll(async () => {
    await host?.stop();
    fs.rmSync(appRoot, { recursive: true, force: true });
  });

  const url = (p: string): string => `${host.baseUrl}${p}`;

  it("prints one ready line naming the functions", () => {
    expect(host.readyLine).toBe(
      `Functions host listening on http://127.0.0.1:${host.port} (6 functions: ${FUNCTION_NAMES.join(", ")})`,
    );
  });

  it("created local.settings.json from the sample", () => {
    const created = JSON.parse(fs.readFileSync(path.join(appRoot, "local.settings.json"), "utf8"));
    expect(created.Values.FIXTURE_REQUIRED_SETTING).toBe("set");
  });

  it("serves a GET with route params, query and headers through the library's HttpRequest", async () => {
    const response = await fetch(url("/api/stores/store%201/items/42?status=open&tag=a&tag=b"), {
      headers: { "x-test": "hello" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.headers.get("x-echo-function")).toBe("echo");
    expect(await response.json()).toEqual({
      method: "GET",
      params: { storeId: "store 1", itemId: "42" },
      query: { status: "open", tag: "a,b" },
      testHeader: "hello",
      body: null,
    });
  });

  it("passes a JSON body and returns the handler's status", async () => {
    const response = await fetch(url("/api/stores/s1/items/7"), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ decision: "approve" }),
    });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ method: "POST", body: { decision: "approve" } });
  });

  it("writes context.log lines to stdout with the function name", async () => {
    await fetch(url("/api/stores/logged-store/items/1"));
    await host.waitForStdout(/\[echo\] info: echo called for store logged-store/);
  });

  it("answers 404 for unknown routes, failed constraints and methods not allowed", async () => {
    expect((await fetch(url("/api/nope"))).status).toBe(404);
    expect((await fetch(url("/stores/s1/items/7"))).status).toBe(404); // outside the route prefix
    expect((await fetch(url("/api/stores/s1/items/not-an-int"))).status).toBe(404);
    expect((await fetch(url("/api/stores/s1/items/7"), { method: "PUT" })).status).toBe(404);
  });

  it.each(["/api/secure/function", "/api/secure/admin"])(
    "requires the local key for %s",
    async (route) => {
      expect((await fetch(url(route))).status).toBe(401);
      expect((await fetch(url(`${route}?code=wrong`))).status).toBe(401);
      expect((await fetch(url(route), { headers: { "x-functions-key": "wrong" } })).status).toBe(
        401,
      );

      const withHeader = await fetch(url(route), { headers: { "x-functions-key": LOCAL_KEY } });
      expect(withHeader.status).toBe(200);
      const withCode = await fetch(url(`${route}?code=${LOCAL_KEY}`));
      expect(withCode.status).toBe(200);
      expect(await withCode.text()).toMatch(/ ok$/);
    },
  );

  it("turns a throwing handler into a generic 500 and logs the error", async () => {
    const response = await fetch(url("/api/explode"));
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(body).toBe("Internal Server Error");
    await host.waitForStdout(/\[explode\] error: Executed \(Failed.*boom with secret-detail/);
  });

  it("answers 204 when the handler returns nothing", async () => {
    const response = await fetch(url("/api/nothing"), { method: "DELETE" });
    expect(response.status).toBe(204);
  });

  it("stops on SIGTERM with exit code 0", async () => {
    const other = await startHostProcess({ appRoot, entry });
    expect(await other.stop("SIGTERM")).toBe(0);
    expect(other.output().stderr).toBe("");
  });
});

describe("local Functions host: registration metadata", () => {
  it("prints the HTTP routes, methods and auth levels Azure would receive", async () => {
    const appRoot = makeAppRoot({ sampleValues: { FIXTURE_REQUIRED_SETTING: "set" } });
    const result = await runHostToExit({ appRoot, entry, args: ["--print-metadata"] });
    fs.rmSync(appRoot, { recursive: true, force: true });
    expect(result.code).toBe(0);
    const metadata = parseMetadata(result.stdout);
    expect(metadata.map((m) => m.name)).toEqual(FUNCTION_NAMES);
    const bindingsByName = Object.fromEntries(metadata.map((m) => [m.name, m.bindings]));
    expect(triggerOf(bindingsByName.echo ?? {})).toMatchObject({
      type: "httpTrigger",
      direction: "in",
      authLevel: "anonymous",
      methods: ["GET", "POST"],
      route: "stores/{storeId}/items/{itemId:int}",
    });
    expect(bindingsByName.echo?.$return).toMatchObject({ type: "http", direction: "out" });
    expect(triggerOf(bindingsByName.functionLevel ?? {})).toMatchObject({
      authLevel: "function",
      methods: ["GET"],
      route: "secure/function",
    });
    expect(triggerOf(bindingsByName.adminLevel ?? {})).toMatchObject({ authLevel: "admin" });
  });

  it("prints Service Bus queue names and connection setting names", async () => {
    const appRoot = makeAppRoot({});
    const result = await runHostToExit({
      appRoot,
      entry: serviceBusEntry,
      args: ["--print-metadata"],
    });
    fs.rmSync(appRoot, { recursive: true, force: true });
    expect(result.code).toBe(0);
    const triggers = parseMetadata(result.stdout).map((m) => [m.name, triggerOf(m.bindings)]);
    expect(triggers).toEqual([
      [
        "recordMessage",
        expect.objectContaining({
          type: "serviceBusTrigger",
          direction: "in",
          queueName: "fixture-events",
          connection: "ServiceBusConnection",
        }),
      ],
      [
        "alwaysFails",
        expect.objectContaining({
          queueName: "fixture-poison",
          connection: "ServiceBusConnection",
        }),
      ],
    ]);
  });
});

describe("local Functions host: settings and startup failures", () => {
  it("lets environment variables win over local.settings.json", async () => {
    const appRoot = makeAppRoot({
      localSettingsText: JSON.stringify({
        IsEncrypted: false,
        Values: {
          FIXTURE_REQUIRED_SETTING: "set",
          FIXTURE_GREETING: "from-file",
          FIXTURE_FILE_ONLY: "file",
        },
      }),
    });
    const host = await startHostProcess({ appRoot, entry, env: { FIXTURE_GREETING: "from-env" } });
    try {
      const greeting = await fetch(`${host.baseUrl}/api/settings/FIXTURE_GREETING`);
      expect(await greeting.json()).toEqual({ value: "from-env" });
      const fileOnly = await fetch(`${host.baseUrl}/api/settings/FIXTURE_FILE_ONLY`);
      expect(await fileOnly.json()).toEqual({ value: "file" });
    } finally {
      await host.stop();
      fs.rmSync(appRoot, { recursive: true, force: true });
    }
  });

  it("exits 1 with the app's load error as the only stderr line", async () => {
    const appRoot = makeAppRoot({ sampleValues: { OTHER: "x" } });
    const result = await runHostToExit({ appRoot, entry });
    fs.rmSync(appRoot, { recursive: true, force: true });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("Setting FIXTURE_REQUIRED_SETTING is required\n");
  });

  it("exits 1 with one line naming local.settings.json when it is malformed", async () => {
    const appRoot = makeAppRoot({ localSettingsText: "{ not json" });
    const result = await runHostToExit({ appRoot, entry });
    fs.rmSync(appRoot, { recursive: true, force: true });
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain(path.join(appRoot, "local.settings.json"));
  });

  it("exits 1 with one line naming a Service Bus trigger's missing connection setting", async () => {
    const appRoot = makeAppRoot({});
    const result = await runHostToExit({ appRoot, entry: serviceBusEntry });
    fs.rmSync(appRoot, { recursive: true, force: true });
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain('"ServiceBusConnection"');
  });
});
