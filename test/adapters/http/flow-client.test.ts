import { ManagedIdentityCredential } from "@azure/identity";
import { createFlowClient } from "../../../shared/adapters/flow-client";
import { CredentialTokenSource } from "../../../shared/adapters/token-source";
import type { CallOutcome, FlowCall, FlowClient } from "../../../shared/ports";
import { FakeHttpServer, refusedUrl } from "./fake-http-server";
import {
  FakeIdentityEndpoint,
  MANAGED_IDENTITY_CLIENT_ID,
  REFUSED_RESOURCE,
  tokenFor,
} from "./fake-identity-endpoint";

const SIG = "s3cr3t-flow-sig";
const TENANT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
const FLOW_PATH = `/workflows/4f1c/triggers/manual/paths/invoke?api-version=1&sig=${SIG}`;
/** Spacing, key order, escapes and a trailing newline that any re-serialisation would change. */
const PAYLOAD = ' {"workflowRequestID" : 42,\n "b":1, "a":"\\u00e9 é"}\n';
const TIMEOUT_MS = 300;

let flow: FakeHttpServer;
let identity: FakeIdentityEndpoint;
let client: FlowClient;

beforeAll(async () => {
  flow = await FakeHttpServer.start();
  identity = await FakeIdentityEndpoint.start();
  const tokenSource = new CredentialTokenSource(
    new ManagedIdentityCredential({ clientId: MANAGED_IDENTITY_CLIENT_ID }),
  );
  client = createFlowClient({ tokenSource, timeoutMs: TIMEOUT_MS });
});

afterAll(async () => {
  await flow.close();
  await identity.close();
});

function flowCall(overrides: Partial<FlowCall> = {}): FlowCall {
  return {
    requestUrl: `${flow.baseUrl}${FLOW_PATH}`,
    flowAuth: "sas",
    tenantId: TENANT_ID,
    payloadJson: PAYLOAD,
    headers: {
      "x-relay-request-id": "42",
      "x-relay-store-id": "contoso",
      "x-relay-workflow-id": "wf-1",
      "x-relay-callback-url": "https://relay.example/api/stores/contoso/requests/42/decision",
      "x-relay-callback-token": "callback-token",
      "x-relay-attempt": "1",
    },
    ...overrides,
  };
}

/** Triggers, and checks that a failure's reason leaks neither the URL's `sig` nor a token. */
async function trigger(call: FlowCall, flowClient = client): Promise<CallOutcome> {
  const outcome = await flowClient.trigger(call);
  if (outcome.kind !== "ok") {
    expect(outcome.reason).not.toContain(SIG);
    expect(outcome.reason).not.toContain("mi-token-for");
  }
  return outcome;
}

describe("HTTP flow client", () => {
  it("posts the payload bytes unchanged with the relay's headers and reads the run id", async () => {
    flow.respondWith(() => ({ status: 202, headers: { "x-ms-workflow-run-id": "08585-run" } }));

    const outcome = await trigger(
      flowCall({ headers: { ...flowCall().headers, "Content-Type": "text/plain" } }),
    );

    expect(outcome).toEqual({ kind: "ok", status: 202, runId: "08585-run" });
    expect(flow.requests).toHaveLength(1);
    const [received] = flow.requests;
    expect(received.method).toBe("POST");
    expect(received.url).toBe(FLOW_PATH);
    expect(received.body.equals(Buffer.from(PAYLOAD, "utf8"))).toBe(true);
    expect(received.headers).toMatchObject({
      "content-type": "application/json",
      "x-relay-request-id": "42",
      "x-relay-store-id": "contoso",
      "x-relay-workflow-id": "wf-1",
      "x-relay-callback-url": "https://relay.example/api/stores/contoso/requests/42/decision",
      "x-relay-callback-token": "callback-token",
      "x-relay-attempt": "1",
    });
    expect(received.headers.authorization).toBeUndefined();
  });

  it("answers ok without a run id on a 200 that has none", async () => {
    flow.respondWith(() => ({ status: 200, body: "{}" }));

    expect(await trigger(flowCall())).toEqual({ kind: "ok", status: 200 });
  });

  it("sends a managed identity token for Power Automate's audience with flowAuth entra", async () => {
    flow.respondWith(() => ({ status: 202 }));

    const outcome = await trigger(flowCall({ flowAuth: "entra" }));

    expect(outcome).toEqual({ kind: "ok", status: 202 });
    // The scope is `https://service.flow.microsoft.com//.default`; its resource keeps one slash.
    expect(identity.requestedResources()).toContain("https://service.flow.microsoft.com/");
    expect(identity.lastRequest().searchParams.get("client_id")).toBe(MANAGED_IDENTITY_CLIENT_ID);
    expect(flow.requests[0].headers.authorization).toBe(
      `Bearer ${tokenFor("https://service.flow.microsoft.com/")}`,
    );
  });

  it("fails permanently, without calling the flow, when no token can be had", async () => {
    const tokenSource = new CredentialTokenSource(
      new ManagedIdentityCredential({ clientId: MANAGED_IDENTITY_CLIENT_ID }),
    );
    const refusedAudienceClient = createFlowClient({
      tokenSource,
      audience: REFUSED_RESOURCE,
      timeoutMs: TIMEOUT_MS,
    });
    flow.respondWith(() => ({ status: 202 }));

    const outcome = await trigger(flowCall({ flowAuth: "entra" }), refusedAudienceClient);

    expect(outcome).toMatchObject({
      kind: "permanent",
      reason: expect.stringContaining(
        `could not get an Entra token for ${REFUSED_RESOURCE}/.default in tenant ${TENANT_ID}`,
      ),
    });
    expect(flow.requests).toHaveLength(0);
  });

  it("is transient on a 429, honouring Retry-After in seconds", async () => {
    flow.respondWith(() => ({ status: 429, headers: { "retry-after": "7" } }));

    expect(await trigger(flowCall())).toEqual({
      kind: "transient",
      reason: "the flow answered HTTP 429",
      retryAfterMs: 7000,
    });
  });

  it("is transient on a 503, honouring Retry-After as an HTTP date", async () => {
    const retryAt = new Date(Date.now() + 30_000).toUTCString();
    flow.respondWith(() => ({ status: 503, headers: { "retry-after": retryAt } }));

    const outcome = await trigger(flowCall());

    expect(outcome.kind).toBe("transient");
    const retryAfterMs = outcome.kind === "transient" ? outcome.retryAfterMs : undefined;
    // HTTP dates have whole seconds, hence the lower bound.
    expect(retryAfterMs).toBeGreaterThan(27_000);
    expect(retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it("is transient on a 500, with a short account of the body", async () => {
    flow.respondWith(() => ({
      status: 500,
      body: { error: { code: "InternalServerError", message: "Something broke." } },
    }));

    expect(await trigger(flowCall())).toEqual({
      kind: "transient",
      reason: "the flow answered HTTP 500 (InternalServerError: Something broke.)",
    });
  });

  it("is transient when the flow does not answer in time", async () => {
    flow.respondWith(() => "hang");
    const started = Date.now();

    const outcome = await trigger(flowCall());

    expect(outcome).toEqual({
      kind: "transient",
      reason: `the flow did not answer within ${TIMEOUT_MS} ms`,
    });
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 2000);
  });

  it("is transient when the connection is refused", async () => {
    const url = `${await refusedUrl()}${FLOW_PATH}`;

    expect(await trigger(flowCall({ requestUrl: url }))).toEqual({
      kind: "transient",
      reason: "the flow could not be reached (ECONNREFUSED)",
    });
  });

  it.each([400, 401, 403, 404, 410])("is permanent on a %i", async (status) => {
    flow.respondWith(() => ({
      status,
      body: {
        error: {
          code: "DirectApiAuthorizationRequired",
          message: `The request to ${flow.baseUrl}${FLOW_PATH} was refused.`,
        },
      },
    }));

    const outcome = await trigger(flowCall());

    expect(outcome).toMatchObject({
      kind: "permanent",
      reason: expect.stringContaining(
        `the flow answered HTTP ${status} (DirectApiAuthorizationRequired:`,
      ),
    });
  });

  it("does not follow a redirect", async () => {
    const elsewhere = await FakeHttpServer.start();
    try {
      flow.respondWith(() => ({ status: 307, headers: { location: `${elsewhere.baseUrl}/x` } }));

      const outcome = await trigger(flowCall());

      expect(outcome).toEqual({ kind: "permanent", reason: "the flow answered HTTP 307" });
      expect(elsewhere.requests).toHaveLength(0);
    } finally {
      await elsewhere.close();
    }
  });
});
