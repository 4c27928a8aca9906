import { ManagedIdentityCredential } from "@azure/identity";
import {
  type DataServiceAuth,
  createDataServiceClient,
} from "../../../shared/adapters/data-service-client";
import { DmTokenProvider } from "../../../shared/adapters/dm-token-provider";
import { CredentialTokenSource, type TokenSource } from "../../../shared/adapters/token-source";
import type { DataServiceClient, DataServiceTarget } from "../../../shared/ports";
import { FakeHttpServer, type ScriptedAnswer, refusedUrl } from "./fake-http-server";
import {
  FakeIdentityEndpoint,
  MANAGED_IDENTITY_CLIENT_ID,
  REFUSED_RESOURCE,
  tokenFor,
} from "./fake-identity-endpoint";

const TENANT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
const DM_APP_CLIENT_ID = "bbbbbbbb-cccc-dddd-eeee-ffffffffffff";
const TIMEOUT_MS = 300;
const WORKFLOWS_PATH = "/GroupIDDataService/api/IdentityStores/3/Workflows";
const SUCCESS = { status: 200, body: { status: "Success", message: "Done", data: null } };

let dataService: FakeHttpServer;
let security: FakeHttpServer;
let identity: FakeIdentityEndpoint;
let managedIdentity: TokenSource;

beforeAll(async () => {
  dataService = await FakeHttpServer.start();
  security = await FakeHttpServer.start();
  identity = await FakeIdentityEndpoint.start();
  managedIdentity = new CredentialTokenSource(
    new ManagedIdentityCredential({ clientId: MANAGED_IDENTITY_CLIENT_ID }),
  );
});

afterAll(async () => {
  await dataService.close();
  await security.close();
  await identity.close();
});

beforeEach(() => {
  issueDmTokens();
  dataService.respondWith(() => SUCCESS);
});

function target(overrides: Partial<DataServiceTarget> = {}): DataServiceTarget {
  return {
    storeId: "contoso",
    dataServiceUrl: `${dataService.baseUrl}/GroupIDDataService/`,
    securityServiceUrl: `${security.baseUrl}/GroupIDSecurityService`,
    identityStoreId: 3,
    tenantId: TENANT_ID,
    clientId: DM_APP_CLIENT_ID,
    ...overrides,
  };
}

/** The Security Service issuing `dm-token-1`, `dm-token-2`, … */
function issueDmTokens(): void {
  let issued = 0;
  security.respondWith(() => {
    issued += 1;
    return { status: 200, body: { access_token: `dm-token-${issued}`, expires_in: 3600 } };
  });
}

function dmTokenClient(): DataServiceClient {
  const tokens = new DmTokenProvider({
    username: "svc-relay",
    password: "secret",
    clientId: "dm-client",
    clientSecret: "dm-client-secret",
    timeoutMs: TIMEOUT_MS,
  });
  return client({ mode: "dm-token", tokens });
}

function client(auth: DataServiceAuth): DataServiceClient {
  return createDataServiceClient({ auth, timeoutMs: TIMEOUT_MS });
}

function bodyOf(index: number): unknown {
  return JSON.parse(dataService.requests[index].body.toString("utf8"));
}

describe("Data service client: the calls", () => {
  it("approves with a numeric workflowRequestID, an Idempotency-Key and a DM token", async () => {
    const outcome = await dmTokenClient().approve(target(), "1234", "contoso:1234");

    expect(outcome).toEqual({ kind: "ok" });
    const [request] = dataService.requests;
    expect(request.method).toBe("POST");
    expect(request.url).toBe(`${WORKFLOWS_PATH}/Approve`);
    expect(request.body.toString("utf8")).toBe('{"workflowRequestID":1234}');
    expect(request.headers).toMatchObject({
      "content-type": "application/json",
      "idempotency-key": "contoso:1234",
      authorization: "Bearer dm-token-1",
    });
  });

  it("denies with a string workflowRequestID and the reason", async () => {
    const outcome = await dmTokenClient().deny(
      target(),
      "REQ-7:a",
      "Denied in Power Automate by A",
      "contoso:REQ-7:a",
    );

    expect(outcome).toEqual({ kind: "ok" });
    expect(dataService.requests[0].url).toBe(`${WORKFLOWS_PATH}/Deny`);
    expect(bodyOf(0)).toEqual({
      workflowRequestID: "REQ-7:a",
      reason: "Denied in Power Automate by A",
    });
    expect(dataService.requests[0].headers["idempotency-key"]).toBe("contoso:REQ-7:a");
  });

  it.each([
    ["007", "007"],
    ["9007199254740993", "9007199254740993"],
    ["9007199254740991", 9007199254740991],
    ["0", 0],
  ])("sends request id %s as %p", async (requestId, expected) => {
    await client({ mode: "none" }).approve(target(), requestId, `contoso:${requestId}`);

    expect(bodyOf(0)).toEqual({ workflowRequestID: expected });
  });

  it("sends no Authorization header in mode none", async () => {
    await client({ mode: "none" }).approve(target(), "1", "contoso:1");

    expect(dataService.requests[0].headers.authorization).toBeUndefined();
    expect(security.requests).toHaveLength(0);
  });
});

describe("Data service client: DM tokens", () => {
  it("reuses the store's token across calls", async () => {
    const dataServiceClient = dmTokenClient();

    await dataServiceClient.approve(target(), "1", "contoso:1");
    await dataServiceClient.deny(target(), "2", "no", "contoso:2");
    await dataServiceClient.status(target(), "3");

    expect(security.requests).toHaveLength(1);
    expect(dataService.requests.map((r) => r.headers.authorization)).toEqual(
      Array(3).fill("Bearer dm-token-1"),
    );
  });

  it("fetches a fresh token after a 401 and makes the call once more", async () => {
    dataService.respondInTurn({ status: 401 }, SUCCESS);

    const outcome = await dmTokenClient().approve(target(), "1", "contoso:1");

    expect(outcome).toEqual({ kind: "ok" });
    expect(security.requests).toHaveLength(2);
    expect(dataService.requests.map((r) => r.headers.authorization)).toEqual([
      "Bearer dm-token-1",
      "Bearer dm-token-2",
    ]);
    expect(bodyOf(1)).toEqual(bodyOf(0));
    expect(dataService.requests[1].headers["idempotency-key"]).toBe("contoso:1");
  });

  it("is permanent when the fresh token is refused too", async () => {
    dataService.respondWith(() => ({ status: 401 }));

    const outcome = await dmTokenClient().approve(target(), "1", "contoso:1");

    expect(outcome).toEqual({
      kind: "permanent",
      reason: "the Data service refused a fresh token too (HTTP 401)",
    });
    expect(dataService.requests).toHaveLength(2);
  });

  it("passes on the Security Service's failure without calling the Data service", async () => {
    security.respondWith(() => ({ status: 400, body: { error: "invalid_grant" } }));

    const outcome = await dmTokenClient().approve(target(), "1", "contoso:1");

    expect(outcome).toEqual({
      kind: "permanent",
      reason: "DM Security Service refused the credentials: HTTP 400 (invalid_grant)",
    });
    expect(dataService.requests).toHaveLength(0);
  });

  it("is transient while the Security Service is unavailable", async () => {
    security.respondWith(() => ({ status: 503, headers: { "retry-after": "5" } }));

    expect(await dmTokenClient().status(target(), "1")).toEqual({
      kind: "transient",
      reason: "DM Security Service answered HTTP 503",
      retryAfterMs: 5000,
    });
  });
});

describe("Data service client: Entra tokens", () => {
  it("asks the managed identity for the store's client id as the resource", async () => {
    const outcome = await client({ mode: "entra", tokenSource: managedIdentity }).approve(
      target(),
      "1",
      "contoso:1",
    );

    expect(outcome).toEqual({ kind: "ok" });
    expect(identity.requestedResources()).toContain(DM_APP_CLIENT_ID);
    expect(dataService.requests[0].headers.authorization).toBe(
      `Bearer ${tokenFor(DM_APP_CLIENT_ID)}`,
    );
  });

  it("uses the scope override when set", async () => {
    const entra = client({
      mode: "entra",
      tokenSource: managedIdentity,
      scopeOverride: "api://dm-proxy/.default",
    });

    await entra.status(target(), "1");

    expect(identity.requestedResources()).toContain("api://dm-proxy");
    expect(dataService.requests[0].headers.authorization).toBe(
      `Bearer ${tokenFor("api://dm-proxy")}`,
    );
  });

  it("does not repeat a call refused with a 401", async () => {
    dataService.respondWith(() => ({ status: 401 }));

    const outcome = await client({ mode: "entra", tokenSource: managedIdentity }).approve(
      target(),
      "1",
      "contoso:1",
    );

    expect(outcome).toEqual({
      kind: "permanent",
      reason: "the Data service refused the credentials (HTTP 401)",
    });
    expect(dataService.requests).toHaveLength(1);
  });

  it("is permanent when no token can be had", async () => {
    const entra = client({
      mode: "entra",
      tokenSource: managedIdentity,
      scopeOverride: `${REFUSED_RESOURCE}/.default`,
    });

    const outcome = await entra.approve(target(), "1", "contoso:1");

    expect(outcome).toMatchObject({
      kind: "permanent",
      reason: expect.stringContaining(`could not get an Entra token for ${REFUSED_RESOURCE}`),
    });
    expect(dataService.requests).toHaveLength(0);
  });
});

describe("Data service client: Approve/Deny answers", () => {
  const none = () => client({ mode: "none" });

  it.each<[string, ScriptedAnswer]>([
    ["status Success", { status: 200, body: { status: "Success" } }],
    ["status succeeded", { status: 200, body: { status: "succeeded", errorCode: null } }],
    ["status OK and errorCode 0", { status: 200, body: { status: "OK", errorCode: 0 } }],
    ["status true", { status: 200, body: { status: true, errorCode: "" } }],
    ["status 0", { status: 200, body: { status: 0 } }],
    ["status 200", { status: 201, body: { status: 200, data: {} } }],
    ["PascalCase", { status: 200, body: { Status: "Success", ErrorCode: "0" } }],
  ])("is ok on a 2xx with %s", async (_case, answer) => {
    dataService.respondWith(() => answer);

    expect(await none().approve(target(), "1", "contoso:1")).toEqual({ kind: "ok" });
  });

  it.each<[string, ScriptedAnswer, string]>([
    [
      "a 200 with status Failure",
      { status: 200, body: { status: "Failure", message: "Request is already processed." } },
      "Request is already processed.",
    ],
    [
      "a 200 with status false",
      { status: 200, body: { status: false, message: "Not an approver." } },
      "Not an approver.",
    ],
    ["a 200 with status 500", { status: 200, body: { status: 500, message: "Boom." } }, "Boom."],
    [
      "a 200 with an error code",
      { status: 200, body: { errorCode: "WF_017" } },
      "error code WF_017",
    ],
    ["a 409 without envelope", { status: 409 }, "the Data service answered HTTP 409"],
    [
      "a 409 with a message",
      { status: 409, body: { status: "Error", message: "Already denied." } },
      "Already denied.",
    ],
    [
      "a 400 with a failure envelope",
      { status: 400, body: { status: "Failed", message: "Invalid state." } },
      "Invalid state.",
    ],
  ])("is refused on %s", async (_case, answer, reason) => {
    dataService.respondWith(() => answer);

    expect(await none().deny(target(), "1", "no", "contoso:1")).toEqual({
      kind: "refused",
      reason,
    });
  });

  it.each<[string, ScriptedAnswer]>([
    ["an empty body", { status: 200 }],
    ["an empty object", { status: 200, body: {} }],
    ["a body that is not JSON", { status: 200, body: "<html>OK</html>" }],
    ["a status that is no verdict", { status: 202, body: { status: "Pending", data: [] } }],
  ])("is unconfirmed on a 2xx with %s", async (_case, answer) => {
    dataService.respondWith(() => answer);

    expect(await none().approve(target(), "1", "contoso:1")).toEqual({
      kind: "unconfirmed",
      reason: `the Data service answered HTTP ${answer.status} with no recognisable success or failure`,
    });
  });

  it("is unconfirmed when the envelope reports success and an error code", async () => {
    dataService.respondWith(() => ({ status: 200, body: { status: "Success", errorCode: 17 } }));

    expect(await none().approve(target(), "1", "contoso:1")).toEqual({
      kind: "unconfirmed",
      reason:
        "the Data service answered HTTP 200 with an envelope reporting both success and an error",
    });
  });

  it.each<[string, ScriptedAnswer, object]>([
    [
      "a 503 with Retry-After",
      { status: 503, headers: { "retry-after": "30" } },
      { kind: "transient", reason: "the Data service answered HTTP 503", retryAfterMs: 30_000 },
    ],
    [
      "a 429 with Retry-After",
      { status: 429, headers: { "retry-after": "2" } },
      { kind: "transient", reason: "the Data service answered HTTP 429", retryAfterMs: 2000 },
    ],
    [
      "a 500 with a failure envelope",
      { status: 500, body: { status: "Failure", message: "Object reference not set." } },
      {
        kind: "transient",
        reason: "the Data service answered HTTP 500 (Object reference not set.)",
      },
    ],
    [
      "a 404",
      { status: 404, body: "Not Found" },
      { kind: "permanent", reason: "the Data service answered HTTP 404 (Not Found)" },
    ],
    ["a 400", { status: 400 }, { kind: "permanent", reason: "the Data service answered HTTP 400" }],
    ["a 403", { status: 403 }, { kind: "permanent", reason: "the Data service answered HTTP 403" }],
    [
      "a redirect to a sign-in page",
      { status: 302, headers: { location: "https://login.microsoftonline.com/x?code=abc" } },
      { kind: "permanent", reason: "the Data service answered HTTP 302" },
    ],
  ])("classifies %s", async (_case, answer, expected) => {
    dataService.respondWith(() => answer);

    expect(await none().approve(target(), "1", "contoso:1")).toEqual(expected);
  });

  it("is transient when the Data service does not answer in time", async () => {
    dataService.respondWith(() => "hang");

    expect(await none().approve(target(), "1", "contoso:1")).toEqual({
      kind: "transient",
      reason: `the Data service did not answer within ${TIMEOUT_MS} ms`,
    });
  });

  it("is transient when the Data service refuses connections", async () => {
    const outcome = await none().approve(
      target({ dataServiceUrl: await refusedUrl() }),
      "1",
      "contoso:1",
    );

    expect(outcome).toEqual({
      kind: "transient",
      reason: "the Data service could not be reached (ECONNREFUSED)",
    });
  });
});

describe("Data service client: the check call", () => {
  const none = () => client({ mode: "none" });

  it("reads the request by its URL-encoded id, with the Idempotency-Key", async () => {
    dataService.respondWith(() => ({
      status: 200,
      body: {
        status: "Success",
        data: [
          { workflowRequestID: "REQ-6", workflowStatusDTO: { description: "Denied" } },
          { workflowRequestID: "REQ-7:a", workflowStatusDTO: { description: "approved" } },
        ],
      },
    }));

    expect(await dmTokenClient().status(target(), "REQ-7:a")).toEqual({
      kind: "ok",
      status: "Approved",
    });
    const [request] = dataService.requests;
    expect(request.method).toBe("GET");
    expect(request.url).toBe(`${WORKFLOWS_PATH}?ids=REQ-7%3Aa`);
    expect(request.headers).toMatchObject({
      "idempotency-key": "contoso:REQ-7:a",
      authorization: "Bearer dm-token-1",
    });
  });

  it("checks several requests in one call with repeated ids= parameters", async () => {
    dataService.respondWith(() => ({
      status: 200,
      body: {
        status: "Success",
        data: [
          { workflowRequestID: 41, workflowStatusDTO: { description: "Approved" } },
          { workflowRequestID: 43, statusId: "Pending" },
        ],
      },
    }));

    const answer = await none().statuses(target(), ["41", "42", "43"]);
    expect(answer).toEqual({
      kind: "ok",
      statuses: new Map([
        ["41", "Approved"],
        ["42", "Unknown"],
        ["43", "Pending"],
      ]),
    });
    expect(dataService.requests).toHaveLength(1);
    expect(dataService.requests[0]?.url).toBe(`${WORKFLOWS_PATH}?ids=41&ids=42&ids=43`);
  });

  it("does not read a lone item without an id as the answer for one of several", async () => {
    dataService.respondWith(() => ({
      status: 200,
      body: { data: [{ workflowStatusDTO: { description: "Approved" } }] },
    }));

    const answer = await none().statuses(target(), ["41", "42"]);
    expect(answer.kind === "ok" && [...answer.statuses.values()]).toEqual(["Unknown", "Unknown"]);
  });

  it.each<[string, unknown, string]>([
    [
      "a numeric id in a data array",
      { data: [{ workflowRequestId: 42, statusId: "Pending" }] },
      "Pending",
    ],
    [
      "a single data object",
      { status: "Success", data: { id: "42", statusId: "denied" } },
      "Denied",
    ],
    ["a bare array with one item", [{ workflowStatusDTO: { description: "Pending" } }], "Pending"],
    [
      "PascalCase",
      { Data: [{ WorkflowRequestID: 42, WorkflowStatusDTO: { Description: "Approved" } }] },
      "Approved",
    ],
    [
      "the description winning over statusId",
      { data: { statusId: "Pending", workflowStatusDTO: { description: "Approved" } } },
      "Approved",
    ],
    ["only other requests", { data: [{ id: 41, statusId: "Approved" }] }, "Unknown"],
    ["no items", { status: "Success", data: [] }, "Unknown"],
    ["a numeric statusId", { data: [{ id: 42, statusId: 2 }] }, "Unknown"],
    ["an unknown status name", { data: [{ id: 42, statusId: "Escalated" }] }, "Unknown"],
  ])("reads %s", async (_case, body, status) => {
    dataService.respondWith(() => ({ status: 200, body }));

    expect(await none().status(target(), "42")).toEqual({ kind: "ok", status });
  });

  it.each<[string, ScriptedAnswer, object]>([
    [
      "a failure envelope",
      { status: 200, body: { status: "Failure", message: "No such request." } },
      { kind: "permanent", reason: "DM could not read request 42: No such request." },
    ],
    [
      "a 503",
      { status: 503, headers: { "retry-after": "1" } },
      { kind: "transient", reason: "the Data service answered HTTP 503", retryAfterMs: 1000 },
    ],
    ["a 404", { status: 404 }, { kind: "permanent", reason: "the Data service answered HTTP 404" }],
  ])("classifies %s", async (_case, answer, expected) => {
    dataService.respondWith(() => answer);

    expect(await none().status(target(), "42")).toEqual(expected);
  });
});
