import fs from "node:fs";
import net from "node:net";
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

  /** Sends `request` as is and returns the raw answer (the host closes after a refusal). */
  function rawRequest(request: string): Promise<{ status: number; headers: string; body: string }> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(host.port, "127.0.0.1", () => socket.end(request));
      let answer = "";
      socket.setTimeout(10_000, () => socket.destroy(new Error("no answer within 10 s")));
      socket.on("data", (chunk: Buffer) => (answer += chunk.toString("latin1")));
      socket.on("error", reject);
      socket.on("close", () => {
        const [head = "", body = ""] = answer.split("\r\n\r\n", 2);
        resolve({ status: Number(head.split(" ", 2)[1]), headers: head.toLowerCase(), body });
      });
    });
  }

  it.each(["a b", "[::1", "%", "a/b", "user@host"])(
    "answers 400 problem+json to the Host header %j",
    async (hostHeader) => {
      const answer = await rawRequest(
        `GET /api/stores/s1/items/1 HTTP/1.1\r\nHost: ${hostHeader}\r\nConnection: close\r\n\r\n`,
      );
      expect(answer.status).toBe(400);
      expect(answer.headers).toContain("content-type: application/problem+json");
      expect(JSON.parse(answer.body)).toEqual({
        type: "about:blank",
        title: "Bad Request",
        status: 400,
        detail: "the Host header is malformed",
      });
    },
  );

  it.each([
    [
      "a request line with extra parts",
      "GET /api/stores/s1/items/1 HTTP/1.1 extra\r\nHost: x\r\n\r\n",
    ],
    ["a header name with a space", "GET /api/echo HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n"],
    ["a header without a colon", "GET /api/echo HTTP/1.1\r\nHost: x\r\nnocolon\r\n\r\n"],
    ["a control character in the target", "GET /api/\x01 HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["an absolute-form target with a bad host", "GET http://%/x HTTP/1.1\r\nHost: x\r\n\r\n"],
  ])("answers 400 problem+json to %s", async (_what, request) => {
    const answer = await rawRequest(request);
    expect(answer.status).toBe(400);
    expect(answer.headers).toContain("content-type: application/problem+json");
    expect(JSON.parse(answer.body)).toMatchObject({ title: "Bad Request", status: 400 });
  });

  it("answers 431 problem+json to headers too large to parse", async () => {
    const answer = await rawRequest(
      `GET /api/stores/s1/items/1 HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`,
    );
    expect(answer.status).toBe(431);
    expect(JSON.parse(answer.body)).toMatchObject({
      title: "Request Header Fields Too Large",
      status: 431,
    });
  });

  it("keeps serving after malformed requests", async () => {
    expect((await fetch(url("/api/stores/s1/items/1"))).status).toBe(200);
  });

  it.each([
    ["a%2Fb", "a/b"],
    ["a%zz", "a%zz"],
    ["%FF%FE", "%FF%FE"],
  ])(
    "passes the path segment %s into its route parameter (as %j) for the function to judge",
    async (segment, value) => {
      const response = await fetch(url(`/api/stores/${segment}/items/1`));
      expect(response.status).toBe(200);
      const body = (await response.json()) as { params: unknown };
      expect(body.params).toEqual({ storeId: value, itemId: "1" });
    },
  );

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

  it("follows its port in the sample's RELAY_PUBLIC_BASE_URL, and the emulator ports in its connection strings", async () => {
    const sample = fs.readFileSync(path.join(__dirname, "..", "..", "local.settings.sample.json"));
    const sampleValues = JSON.parse(sample.toString()).Values as Record<string, string>;
    const appRoot = makeAppRoot({
      localSettingsText: JSON.stringify({
        IsEncrypted: false,
        Values: { ...sampleValues, FIXTURE_REQUIRED_SETTING: "set" },
      }),
    });
    const host = await startHostProcess({
      appRoot,
      entry,
      env: { AZURITE_TABLE_PORT: "20002", SERVICEBUS_EMULATOR_PORT: "15672" },
    });
    const setting = async (name: string): Promise<unknown> =>
      ((await (await fetch(`${host.baseUrl}/api/settings/${name}`)).json()) as { value: unknown })
        .value;
    try {
      expect(await setting("RELAY_PUBLIC_BASE_URL")).toBe(`http://localhost:${host.port}`);
      expect(await setting("AzureWebJobsStorage")).toContain(
        "TableEndpoint=http://127.0.0.1:20002/devstoreaccount1;",
      );
      expect(await setting("ServiceBusConnection")).toContain("Endpoint=sb://localhost:15672;");
    } finally {
      await host.stop();
      fs.rmSync(appRoot, { recursive: true, force: true });
    }
  });

  it("keeps a RELAY_PUBLIC_BASE_URL set in the environment", async () => {
    const appRoot = makeAppRoot({ sampleValues: { FIXTURE_REQUIRED_SETTING: "set" } });
    const host = await startHostProcess({
      appRoot,
      entry,
      env: { RELAY_PUBLIC_BASE_URL: "https://relay.example.com" },
    });
    try {
      const answer = await fetch(`${host.baseUrl}/api/settings/RELAY_PUBLIC_BASE_URL`);
      expect(await answer.json()).toEqual({ value: "https://relay.example.com" });
    } finally {
      await host.stop();
      fs.rmSync(appRoot, { recursive: true, force: true });
    }
  });

  it("exits 1 with one line naming RELAY_PORT when it is not a port", async () => {
    const appRoot = makeAppRoot({ sampleValues: { FIXTURE_REQUIRED_SETTING: "set" } });
    const result = await runHostToExit({ appRoot, entry, env: { RELAY_PORT: "abc" } });
    fs.rmSync(appRoot, { recursive: true, force: true });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("Setting RELAY_PORT must be a port number (0-65535)\n");
  });

  it("exits 1 with one line naming what chose a busy port", async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const { port } = holder.address() as net.AddressInfo;
    const appRoot = makeAppRoot({ sampleValues: { FIXTURE_REQUIRED_SETTING: "set" } });
    try {
      const fromSetting = await runHostToExit({
        appRoot,
        entry,
        env: { RELAY_PORT: String(port) },
      });
      expect(fromSetting.code).toBe(1);
      expect(fromSetting.stderr).toMatch(
        new RegExp(`^Port ${port} \\(RELAY_PORT\\) is in use: [^\\n]+\\n$`),
      );
      const fromOption = await runHostToExit({ appRoot, entry, args: ["--port", String(port)] });
      expect(fromOption.stderr).toMatch(
        new RegExp(`^Port ${port} \\(--port\\) is in use: [^\\n]+\\n$`),
      );
    } finally {
      holder.close();
      fs.rmSync(appRoot, { recursive: true, force: true });
    }
  });

  it.each([
    ["garbage secret-value-42", /each part of the connection string must have an `=` assignment/],
    [
      "Endpoint=sb://localhost:abc;SharedAccessKeyName=k;SharedAccessKey=secret-value-42",
      /Endpoint must look like/,
    ],
    [
      "Endpoint=sb://localhost:5672;SharedAccessKeyName=secret-value-42",
      /should have SharedAccessKey/,
    ],
  ])(
    "exits 1 with one line naming a malformed ServiceBusConnection (%s)",
    async (value, reason) => {
      const appRoot = makeAppRoot({});
      const result = await runHostToExit({
        appRoot,
        entry: serviceBusEntry,
        env: { ServiceBusConnection: value },
      });
      fs.rmSync(appRoot, { recursive: true, force: true });
      expect(result.code).toBe(1);
      expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(result.stderr).toMatch(
        /^Setting ServiceBusConnection is not a valid Service Bus connection string: /,
      );
      expect(result.stderr).toMatch(reason);
      expect(result.stderr + result.stdout).not.toContain("secret-value-42");
    },
  );

  it("exits 1 with one line naming a Service Bus trigger's missing connection setting", async () => {
    const appRoot = makeAppRoot({});
    const result = await runHostToExit({ appRoot, entry: serviceBusEntry });
    fs.rmSync(appRoot, { recursive: true, force: true });
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain('"ServiceBusConnection"');
  });
});
