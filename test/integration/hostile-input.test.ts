/**
 * Hostile input over every route, through the local host: malformed, oversized, deeply nested,
 * wrongly typed, wrongly encoded and injection-shaped paths, queries, headers and bodies. Whatever
 * comes in, nothing answers 5xx, every refusal of the app is problem+json, no answer and no log
 * line carries a secret, and the relay still takes a request to applied afterwards.
 */
import { randomUUID } from "node:crypto";
import http from "node:http";
import fc from "fast-check";
import { FakeIdentityEndpoint } from "../adapters/http/fake-identity-endpoint";
import { startFakePowerPlatform, type FakePowerPlatform } from "../support/fake-power-platform";
import {
  ADMIN_KEY,
  CLIENT_ID,
  DM_CREDENTIALS,
  SIGNING_KEY,
  TENANT_ID,
  startRelayEnvironment,
  type RelayEnvironment,
} from "../support/relay-environment";

const RUNS = 1_000;
const FLOW_SIG = "flow-SIG-secret-123";
const STABLE = { storeId: "contoso", workflowId: "wf-stable" };
const TARGET_REQUEST = "fuzz-target-1";

let identity: FakeIdentityEndpoint;
let platform: FakePowerPlatform;
let env: RelayEnvironment;
let triggerKey: string;
let callbackToken: string;
const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });

/** Only requests the test itself sends as healthy get an approver; the rest wait. */
const isHealthy = (requestId: unknown) => String(requestId).startsWith("healthy-");

beforeAll(async () => {
  // Creating flows reaches Dataverse and Power Automate: both, and the identity, on loopback.
  identity = await FakeIdentityEndpoint.start();
  platform = await startFakePowerPlatform(() => env.flow.flowUrl);
  env = await startRelayEnvironment({
    flow: {
      approver: (call) =>
        isHealthy(call.headers["x-relay-request-id"])
          ? { outcome: "Approve", email: "alice@contoso.com" }
          : undefined,
    },
    settings: platform.settings,
  });
  await env.registerStore("contoso");
  await env.registerStore("fuzz-store");
  triggerKey = new URL(await env.link(STABLE.storeId, STABLE.workflowId)).searchParams.get(
    "sig",
  ) as string;
  await env.link("fuzz-store", "wf-fuzz");
  const accepted = await env.call(
    "POST",
    `/api/stores/contoso/workflows/wf-stable/trigger?sig=${encodeURIComponent(triggerKey)}`,
    {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ requestId: TARGET_REQUEST }),
    },
  );
  expect(accepted.status).toBe(202);
  await env.waitForState("contoso", TARGET_REQUEST, "flow-triggered");
  const call = env.flow.calls.find((c) => c.headers["x-relay-request-id"] === TARGET_REQUEST);
  callbackToken = String(call?.headers["x-relay-callback-token"]);
}, 90_000);

afterAll(async () => {
  agent.destroy();
  await env?.stop();
  await platform?.close();
  await identity?.close();
});

// ---- the inputs ------------------------------------------------------------------------------

const DEPTH = 10_000;
const LONG = "x".repeat(100_000);
const DEEP_ARRAY = "[".repeat(DEPTH) + "]".repeat(DEPTH);
const DEEP_OBJECT = '{"a":'.repeat(DEPTH) + "1" + "}".repeat(DEPTH);
const INJECTIONS = [
  "'; DROP TABLE RelayRequests; --",
  "PartitionKey eq 'contoso' or true",
  "${jndi:ldap://127.0.0.1/x}",
  "<script>alert(1)</script>",
  "../../../etc/passwd",
  "{{7*7}}",
  "@{triggerBody()}",
  "$(id)",
  "\u0000",
  "\ud800",
  "~payload~1",
  "a\r\nx-injected: 1",
];

/**
 * A JSON value as text: text, because 10,000-deep values are beyond JSON.stringify. Every URL in
 * it is on loopback: a body the relay accepts makes it call that URL later.
 */
const hostileJson: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(DEEP_ARRAY, DEEP_OBJECT) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      JSON.stringify(LONG),
      JSON.stringify([LONG, LONG]),
      JSON.stringify(Array.from({ length: 60 }, (_, i) => `approver${i}@contoso.com`)),
      JSON.stringify(`${"a".repeat(320)}@contoso.com`),
      JSON.stringify(["alice@contoso.com", LONG]),
      JSON.stringify("https://127.0.0.1:1/" + "p".repeat(5000)),
      JSON.stringify(`http://127.0.0.1:1/flow?sig=${LONG}`),
      JSON.stringify("/" + "a/".repeat(400)),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "1e400",
      "-1e400",
      "123456789012345678901234567890",
      "9007199254740993",
      "-0",
      "0",
      "-1",
      "1.5",
      "null",
      "true",
      "[]",
      "{}",
      '{"__proto__":{"outcome":"Approve","email":{"x":1}}}',
      '{"constructor":{"prototype":{"polluted":true}}}',
      JSON.stringify("http://[::1]:1/flow"),
      JSON.stringify("https://localhost:1/flow"),
      JSON.stringify("https://user:pw@127.0.0.1:1/flow"),
    ),
  },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.constantFrom(...INJECTIONS).map((text) => JSON.stringify(text)) },
  {
    weight: 1,
    arbitrary: fc.string({ unit: "binary", maxLength: 40 }).map((s) => JSON.stringify(s)),
  },
);

/** An object body from a valid one, some fields replaced, dropped, or joined by hostile ones. */
function mutated(valid: Record<string, unknown>): fc.Arbitrary<string> {
  const names = Object.keys(valid);
  return fc
    .record({
      replace: fc.dictionary(fc.constantFrom(...names), hostileJson, { maxKeys: 3 }),
      drop: fc.subarray(names, { maxLength: 2 }),
      extra: fc.dictionary(
        fc.oneof(
          fc.constantFrom("__proto__", "constructor", "prototype", "x".repeat(300)),
          fc.string(),
        ),
        hostileJson,
        { maxKeys: 2 },
      ),
    })
    .map(({ replace, drop, extra }) => {
      const fields = new Map<string, string>();
      for (const name of names)
        if (!drop.includes(name)) fields.set(name, replace[name] ?? JSON.stringify(valid[name]));
      for (const [name, value] of Object.entries(extra)) fields.set(name, value);
      return `{${[...fields].map(([name, value]) => `${JSON.stringify(name)}:${value}`).join(",")}}`;
    });
}

const INVALID_UTF8 = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1]);

function body(valid: Record<string, unknown>[]): fc.Arbitrary<Buffer | undefined> {
  const text = (arbitrary: fc.Arbitrary<string>) => arbitrary.map((t) => Buffer.from(t));
  return fc.oneof(
    ...valid.map((base) => ({ weight: 4, arbitrary: text(mutated(base)) })),
    { weight: valid.length > 0 ? 1 : 3, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: text(hostileJson) },
    {
      weight: 1,
      arbitrary: text(
        fc.constantFrom("", "not json", "{", "[1,2", '{"a":1,}', "\u0000", "<xml/>", "a=1&b=2"),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        Buffer.concat([
          Buffer.from('{"outcome":"Approve","comments":"'),
          INVALID_UTF8,
          Buffer.from('"}'),
        ]),
        Buffer.concat([Buffer.from('{"requestId":"'), INVALID_UTF8, Buffer.from('"}')]),
        INVALID_UTF8,
        Buffer.from(JSON.stringify({ requestUrl: LONG }), "utf16le"),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        Buffer.from(`{"a":"${"x".repeat(300_000)}"}`),
        Buffer.from(`{"a":"${"é".repeat(100_000)}"}`),
      ),
    },
  );
}

const HOSTILE_SEGMENTS = [
  "%2F",
  "a%2Fb",
  "%FF%FE",
  "a%zz",
  "%",
  "..",
  "%2E%2E",
  ".",
  "%00",
  "a%20b",
  "%C0%AF",
  "%E2%80%AE",
  "-a",
  "_",
  "a:b",
  "A".repeat(64),
  "A".repeat(65),
  "A".repeat(129),
  "x".repeat(2000),
  encodeURIComponent("ünïcødé"),
  encodeURIComponent("😀"),
  encodeURIComponent("'; DROP TABLE x; --"),
  encodeURIComponent("~payload~1"),
  encodeURIComponent("PartitionKey eq 'x'"),
];

/** Every UTF-8 byte percent-encoded (encodeURIComponent refuses lone surrogates). */
const percentEncoded = (text: string): string =>
  [...Buffer.from(text, "utf8")].map((byte) => `%${byte.toString(16).padStart(2, "0")}`).join("");

/** Long, but within the 16 KiB Node (and Azure's front end) allow for a request line. */
const LONG_IN_URL = "q".repeat(4000);

/** Mostly the entity the relay knows (so its checks run), else other ids or hostile ones. */
const segment = ([known, ...others]: [string, ...string[]]): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant(known) },
    { weight: 2, arbitrary: fc.constantFrom(...others) },
    { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_SEGMENTS) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 30 }).map(percentEncoded) },
  );

const stores = segment(["contoso", "fuzz-store", "unknown-store"]);
/** Admin writes stay off the stable link, so the relay can be checked with it afterwards. */
const writableWorkflows = segment([
  "wf-fuzz",
  "unknown-wf",
  "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
]);
const workflows = segment(["wf-stable", "wf-fuzz", "unknown-wf"]);
const requests = segment([TARGET_REQUEST, "1001", "unknown-request"]);

const queryValue = fc.oneof(
  fc.constantFrom("", "%FF", "%zz", LONG_IN_URL, ...INJECTIONS.map(percentEncoded)),
  fc.string({ unit: "binary", maxLength: 20 }).map(percentEncoded),
);

const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant("application/json") },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      undefined,
      "application/json; charset=utf-8",
      "application/json; charset=utf-16",
      "text/plain",
      "application/x-www-form-urlencoded",
      "application/problem+json",
      "multipart/form-data; boundary=x",
      "application/xml",
      "*/*",
    ),
  },
);

type Auth = "admin" | "trigger" | "token" | "none";

interface HostileRequest {
  method: string;
  path: string;
  query: string[];
  headers: Record<string, string>;
  body?: Buffer;
  auth: Auth;
  authorized: boolean;
}

/** How fast-check shows a failing input: bodies of 300 KB and keys of 10 KB are cut short. */
function shownShort(request: HostileRequest): HostileRequest {
  const cut = (text: string, length: number) =>
    text.length > length ? `${text.slice(0, length)}... (${text.length} characters)` : text;
  const query = request.query.length > 0 ? `?${request.query.join("&")}` : "";
  const text =
    `${request.method} ${cut(request.path + query, 300)} ${cut(JSON.stringify(request.headers), 300)}` +
    ` body: ${request.body ? cut(JSON.stringify(request.body.toString("utf8")), 300) : "none"}`;
  return Object.defineProperty(request, fc.toStringMethod, { value: () => text });
}

interface Credential {
  headers: Record<string, string>;
  query: string[];
  authorized: boolean;
}
const credential = (
  headers: Record<string, string>,
  query: string[] = [],
  authorized = true,
): Credential => ({ headers, query, authorized });

/** Mostly the right credential, so that the app's own checks run; else none or a wrong one. */
function credentials(auth: Auth): fc.Arbitrary<Credential> {
  const mostly = (right: Credential, others: Credential[]) =>
    fc.oneof(
      { weight: 6, arbitrary: fc.constant(right) },
      { weight: 3, arbitrary: fc.constantFrom(...others) },
    );
  switch (auth) {
    case "admin":
      return mostly(credential({ "x-functions-key": ADMIN_KEY }), [
        credential({}, [`code=${ADMIN_KEY}`]),
        credential({}, [], false),
        credential({ "x-functions-key": "wrong" }, [], false),
      ]);
    case "trigger":
      return mostly(
        credential({}, [`sig=${encodeURIComponent(triggerKey)}`]),
        [
          "",
          "sig=",
          "sig=wrong",
          `sig=${"k".repeat(10_000)}`,
          "sig=%FF",
          `sig=${triggerKey}&sig=x`,
        ].map((query) => credential({}, query ? [query] : [])),
      );
    case "token":
      return mostly(credential({ authorization: `Bearer ${callbackToken}` }), [
        credential({}),
        ...[
          "Bearer",
          "Bearer garbage",
          "Bearer v1.a.b",
          "Bearer v1..",
          `Bearer ${callbackToken}x`,
          `Bearer ${"t".repeat(10_000)}`,
          "Basic Zm9vOmJhcg==",
          `bearer   ${callbackToken}`,
        ].map((value) => credential({ authorization: value })),
      ]);
    case "none":
      return fc.constant(credential({}));
  }
}

/** One route: its method, path, credential and a valid body to mutate. */
function route(
  method: string,
  parts: fc.Arbitrary<string>[],
  template: (ids: string[]) => string,
  auth: Auth,
  valid: Record<string, unknown>[] = [],
  query: fc.Arbitrary<string[]> = fc.constant([]),
): fc.Arbitrary<HostileRequest> {
  return fc
    .record({
      ids: fc.tuple(...parts),
      credential: credentials(auth),
      query,
      junk: fc.option(fc.tuple(fc.constantFrom("x", "state", "format", "__proto__"), queryValue), {
        freq: 4,
      }),
      type: contentType,
      runId: fc.option(fc.constantFrom("08584", "other-run", "r".repeat(500), "%FF"), { freq: 4 }),
      body:
        method === "GET" || method === "DELETE" ? fc.option(body([]), { freq: 8 }) : body(valid),
    })
    .map(({ ids, credential, query, junk, type, runId, body }) =>
      shownShort({
        method,
        path: `/api/${template(ids)}`,
        query: [...credential.query, ...query, ...(junk ? [`${junk[0]}=${junk[1]}`] : [])],
        headers: {
          ...credential.headers,
          ...(type && { "content-type": type }),
          ...(runId && auth === "token" && { "x-relay-run-id": runId }),
        },
        ...(body && { body }),
        auth,
        authorized: credential.authorized,
      }),
    );
}

function routes(): fc.Arbitrary<HostileRequest> {
  const registration = {
    organizationCode: "contoso",
    region: "crm4",
    dataServiceUrl: env.dm.dataServiceUrl,
    securityServiceUrl: env.dm.securityServiceUrl,
    identityStoreId: 7,
    tenantId: TENANT_ID,
    clientId: CLIENT_ID,
  };
  const link = {
    requestUrl: `${env.flow.flowUrl}?api-version=1&sig=${FLOW_SIG}`,
    workflowName: "Fuzz approval",
    approvers: ["alice@contoso.com"],
    flowAuth: "sas",
    requestIdPointer: "/id",
    rotateTriggerKey: false,
  };
  const flowSetup = {
    workflowName: "Fuzz approval",
    approvers: ["alice@contoso.com", "bob@contoso.com"],
    flowAuth: "sas",
    connectionReferenceLogicalName: "dmrelay_sharedapprovals",
  };
  const decision = {
    outcome: "Approve",
    approver: { email: "alice@contoso.com", displayName: "Alice" },
    comments: "ok",
    respondedAt: "2026-11-28T10:00:00Z",
    responses: [{ responder: { email: "alice@contoso.com" }, approverResponse: "Approve" }],
  };
  const claim = { runId: "08584", flowName: "flow-1", environmentName: "Default-1" };
  // With a request id, and without: then the relay derives one from the whole document.
  const triggers = [
    { requestId: "fuzz-1", requester: "bob@contoso.com", group: "Finance" },
    { requester: "bob@contoso.com", group: "Finance", details: { reason: "project" } },
  ];
  const templateQuery = fc.subarray([
    "format=definition",
    "format=solution",
    "format=%FF",
    "approvers=alice%40contoso.com,bob%40contoso.com",
    `approvers=${LONG_IN_URL}`,
    `workflowName=${"w".repeat(300)}`,
    "flowAuth=entra",
    "flowAuth=magic",
    "connectionReference=dmrelay_x",
  ]);
  const stateQuery = fc.option(
    fc
      .oneof(fc.constantFrom("flow-triggered", "queued", "FLOW-FAILED"), queryValue)
      .map((v) => [`state=${v}`]),
    { nil: [] },
  );
  const ids2 =
    (prefix: string, suffix: string) =>
    ([a, b]: string[]) =>
      `stores/${a}/${prefix}/${b}/${suffix}`;
  const weighted = (weight: number, arbitrary: fc.Arbitrary<HostileRequest>) => ({
    weight,
    arbitrary,
  });
  // The routes that take bodies, most often; every route some of the time.
  return fc.oneof(
    weighted(
      3,
      route("PUT", [stores], ([s]) => `stores/${s}/power-automate`, "admin", [registration]),
    ),
    weighted(
      1,
      route("GET", [stores], ([s]) => `stores/${s}/power-automate`, "admin"),
    ),
    weighted(
      3,
      route("PUT", [stores, writableWorkflows], ids2("workflows", "flow"), "admin", [link]),
    ),
    weighted(1, route("GET", [stores, workflows], ids2("workflows", "flow"), "admin")),
    weighted(1, route("DELETE", [stores, writableWorkflows], ids2("workflows", "flow"), "admin")),
    weighted(
      2,
      route(
        "GET",
        [stores, workflows],
        ids2("workflows", "flow-template"),
        "admin",
        [],
        templateQuery,
      ),
    ),
    weighted(
      2,
      route("POST", [stores, writableWorkflows], ids2("workflows", "flow/create"), "admin", [
        flowSetup,
      ]),
    ),
    weighted(
      5,
      route("POST", [stores, workflows], ids2("workflows", "trigger"), "trigger", triggers),
    ),
    weighted(
      4,
      route("POST", [stores, requests], ids2("requests", "decision"), "token", [decision]),
    ),
    weighted(1, route("POST", [stores, requests], ids2("requests", "claim"), "token", [claim])),
    weighted(1, route("POST", [stores, requests], ids2("requests", "claim"), "none", [claim])),
    weighted(
      1,
      route("GET", [stores, requests], ([s, r]) => `stores/${s}/requests/${r}`, "admin"),
    ),
    weighted(
      1,
      route("GET", [stores], ([s]) => `stores/${s}/requests`, "admin", [], stateQuery),
    ),
    weighted(1, route("POST", [stores, requests], ids2("requests", "redrive"), "admin")),
    weighted(
      1,
      route("GET", [], () => "health", "none"),
    ),
    weighted(
      1,
      route("GET", [], () => "openapi.json", "none"),
    ),
  );
}

/** The inputs that once answered 5xx or a bare 404 (issue 9), tried before the generated ones. */
function reproductions(): HostileRequest[] {
  const admin = { "x-functions-key": ADMIN_KEY, "content-type": "application/json" };
  const json = (value: unknown) => Buffer.from(JSON.stringify(value));
  const registration = {
    organizationCode: "contoso",
    region: "crm4",
    dataServiceUrl: env.dm.dataServiceUrl,
    securityServiceUrl: env.dm.securityServiceUrl,
    identityStoreId: 7,
    tenantId: TENANT_ID,
    clientId: CLIENT_ID,
  };
  const request = (
    method: string,
    path: string,
    body: Buffer | undefined,
    headers: Record<string, string> = admin,
    query: string[] = [],
  ): HostileRequest =>
    shownShort({
      method,
      path: `/api/${path}`,
      query,
      headers,
      ...(body && { body }),
      auth: headers === admin ? "admin" : "trigger",
      authorized: true,
    });
  // Over what a Table String property holds (32 K characters); the second over the body limit too.
  const long = "x".repeat(40_000);
  return [
    request(
      "PUT",
      "stores/fuzz-store/power-automate",
      json({ ...registration, dataServiceUrl: `${env.dm.dataServiceUrl}/${long}` }),
    ),
    request(
      "PUT",
      "stores/fuzz-store/power-automate",
      json({
        ...registration,
        securityServiceUrl: `${env.dm.securityServiceUrl}?${long}${long}${long}`,
      }),
    ),
    request(
      "PUT",
      "stores/fuzz-store/workflows/wf-fuzz/flow",
      json({ requestUrl: `${env.flow.flowUrl}?x=${"q".repeat(60_000)}` }),
    ),
    request(
      "PUT",
      "stores/fuzz-store/workflows/wf-fuzz/flow",
      json({ requestUrl: env.flow.flowUrl, approvers: [`${"a".repeat(60_000)}@contoso.com`] }),
    ),
    request(
      "POST",
      "stores/contoso/workflows/wf-stable/trigger",
      Buffer.from(`{"a":${DEEP_OBJECT}}`),
      { "content-type": "application/json" },
      [`sig=${encodeURIComponent(triggerKey)}`],
    ),
    request(
      "POST",
      "stores/contoso/workflows/wf-stable/trigger",
      Buffer.from(`{"a":${DEEP_ARRAY}}`),
      { "content-type": "application/json" },
      [`sig=${encodeURIComponent(triggerKey)}`],
    ),
    ...["a%2Fb", "%FF%FE", "a%zz"].map((id) =>
      request("GET", `stores/${id}/power-automate`, undefined),
    ),
  ];
}

// ---- sending and judging -----------------------------------------------------------------------

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

function send(request: HostileRequest): Promise<Answer> {
  const base = new URL(env.baseUrl);
  const query = request.query.length > 0 ? `?${request.query.join("&")}` : "";
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method: request.method,
        path: request.path + query,
        headers: {
          ...request.headers,
          ...(request.body && { "content-length": String(request.body.length) }),
        },
        timeout: 20_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        response.on("error", reject);
      },
    );
    outgoing.on("timeout", () => outgoing.destroy(new Error("no answer within 20 s")));
    outgoing.on("error", reject);
    outgoing.end(request.body);
  });
}

/** Whether the local host hands the request to the app (Azure's front end routes the same way). */
function reachesApp(request: HostileRequest): boolean | "unknown" {
  // `..` and `%2E%2E` segments are resolved away by URL parsing, and an empty id leaves `//`:
  // the path may name another route, or none.
  if (new URL(request.path, "http://relay").pathname !== request.path) return "unknown";
  if (request.path.includes("//")) return "unknown";
  try {
    // An encoded `/` in an id, or malformed percent-encoding: the host may refuse it unrouted.
    if (request.path.split("/").some((part) => decodeURIComponent(part).includes("/")))
      return "unknown";
  } catch {
    return "unknown";
  }
  return request.authorized;
}

function secrets(): string[] {
  const tokens = env.flow.calls.map((call) => String(call.headers["x-relay-callback-token"]));
  return [
    SIGNING_KEY,
    ADMIN_KEY,
    triggerKey,
    FLOW_SIG,
    "sig=created-",
    DM_CREDENTIALS.password,
    DM_CREDENTIALS.clientSecret,
    ...new Set(tokens),
  ];
}

/** The answer without what it is meant to carry: the trigger URL of a link just made. */
function withoutTriggerUrl(text: string): string {
  return text.replace(/"triggerUrl":"[^"]*"/g, '"triggerUrl":"(kept out of the check)"');
}

function judge(request: HostileRequest, answer: Answer): void {
  const where = `${request.method} ${request.path} → ${answer.status}`;
  expect({ where, serverError: answer.status >= 500 }).toEqual({ where, serverError: false });
  const checked = withoutTriggerUrl(answer.text + JSON.stringify(answer.headers));
  for (const secret of secrets())
    expect({ where, leaks: checked.includes(secret) }).toEqual({ where, leaks: false });
  if (answer.status < 400) return;
  const fromApp = reachesApp(request);
  const isProblem = String(answer.headers["content-type"]).startsWith("application/problem+json");
  if (fromApp === true || (answer.text.length > 0 && fromApp !== false) || isProblem) {
    expect({ where, contentType: answer.headers["content-type"] }).toEqual({
      where,
      contentType: "application/problem+json",
    });
    const problem = JSON.parse(answer.text);
    expect(problem).toMatchObject({
      status: answer.status,
      title: expect.any(String),
      detail: expect.any(String),
    });
    if (answer.status === 400)
      expect(problem.errors).toEqual(
        expect.arrayContaining([
          { path: expect.stringMatching(/^\//), message: expect.any(String) },
        ]),
      );
  } else
    // Refused by the platform before the app: Azure answers these with an empty 404 or 401.
    expect({ where, status: [401, 404].includes(answer.status), text: answer.text }).toEqual({
      where,
      status: true,
      text: "",
    });
}

it(`answers ${RUNS} hostile inputs without a 5xx, a bare refusal from the app or a leaked secret, and keeps working`, async () => {
  const counts = new Map<number, number>();
  let tried = 0;
  await fc.assert(
    fc.asyncProperty(routes(), async (request) => {
      const answer = await send(request);
      tried++;
      counts.set(answer.status, (counts.get(answer.status) ?? 0) + 1);
      judge(request, answer);
    }),
    {
      numRuns: RUNS,
      examples: reproductions().map((request) => [request]),
      interruptAfterTimeLimit: 120_000,
      markInterruptAsFailure: true,
    },
  );
  console.log(
    `hostile-input: tried ${tried} inputs; answers by status: ${[...counts]
      .sort(([a], [b]) => a - b)
      .map(([status, count]) => `${status}×${count}`)
      .join(", ")}`,
  );
  expect(tried).toBeGreaterThanOrEqual(RUNS);

  // Still healthy: health, the served document, and one ordinary request all the way to applied.
  const health = await env.call("GET", "/api/health");
  expect(health.status).toBe(200);
  const openapi = await env.call("GET", "/api/openapi.json");
  expect(openapi.body.servers).toEqual([{ url: `${env.baseUrl}/api` }]);
  const requestId = `healthy-${randomUUID()}`;
  const accepted = await env.call(
    "POST",
    `/api/stores/contoso/workflows/wf-stable/trigger?sig=${encodeURIComponent(triggerKey)}`,
    { headers: { "content-type": "application/json" }, body: JSON.stringify({ requestId }) },
  );
  expect(accepted.status).toBe(202);
  await env.waitForState("contoso", requestId, "applied", 30_000);

  const logs = env.logs();
  for (const secret of secrets())
    expect({ secret, inLogs: logs.includes(secret) }).toEqual({ secret, inLogs: false });
  expect(logs).not.toMatch(/unexpected failure|Maximum call stack|PropertyValueTooLarge/);
}, 240_000);
