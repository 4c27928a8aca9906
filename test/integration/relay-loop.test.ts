/**
 * CONTRACT sections 3, 4, 5 and "Writing the decision back", end to end: DM's trigger through the
 * local host, Azurite and the Service Bus emulator to a real HTTP server playing the flow, its
 * callback, and a real HTTP server playing DM's Data and Security services.
 */
import { TableClient, TableServiceClient } from "@azure/data-tables";
import type { ReceivedRequest, Reply } from "../../dev/simulators/http-util";
import type { ApproverAnswer } from "../../dev/simulators/flow-simulator";
import { CallbackTokens } from "../../shared/security/tokens";
import {
  DM_CREDENTIALS,
  SIGNING_KEY,
  startRelayEnvironment,
  type RelayEnvironment,
} from "../support/relay-environment";

/** Per request id: how the flow answers its n-th call, and what the approver decides. */
const flowReplies = new Map<string, (n: number) => Reply | "hang">();
const approvers = new Map<string, ApproverAnswer | undefined>();
const dmFaults = new Map<string, (call: ReceivedRequest) => Reply | undefined>();
const dmInitial = new Map<string, "Approved" | "Denied">();
const requestIdOf = (call: ReceivedRequest): string => String(call.headers["x-relay-request-id"]);
const callNumbers = new Map<string, number>();

let env: RelayEnvironment;
let triggerUrl: string;

beforeAll(async () => {
  env = await startRelayEnvironment({
    flow: {
      respond: (call) => {
        const id = requestIdOf(call);
        const n = (callNumbers.get(id) ?? 0) + 1;
        callNumbers.set(id, n);
        return (
          flowReplies.get(id)?.(n) ?? {
            status: 202,
            headers: { "x-ms-workflow-run-id": `run-${id}` },
          }
        );
      },
      approver: (call) =>
        approvers.has(requestIdOf(call))
          ? approvers.get(requestIdOf(call))
          : { outcome: "Approve", email: "alice@contoso.com" },
    },
    dm: {
      initialStatus: (id) => dmInitial.get(id) ?? "Pending",
      fault: (call) => {
        const body = call.body ? (JSON.parse(call.body) as { workflowRequestID?: unknown }) : {};
        const id = String(body.workflowRequestID ?? call.query.get("ids") ?? "");
        return dmFaults.get(id)?.(call);
      },
    },
    settings: { RELAY_FLOW_MAX_ATTEMPTS: "3", RELAY_APPLY_MAX_ATTEMPTS: "4" },
  });
  await env.registerStore("contoso");
  triggerUrl = await env.link("contoso", "group-join");
}, 60_000);
afterAll(() => env?.stop());

const trigger = (body: unknown, init: { url?: string; contentType?: string } = {}) =>
  env.call("POST", init.url ?? triggerUrl, {
    headers: { "content-type": init.contentType ?? "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
const flowCallsFor = (id: string) => env.flow.calls.filter((call) => requestIdOf(call) === id);
const tokenFor = (id: string) => String(flowCallsFor(id)[0]?.headers["x-relay-callback-token"]);
const decide = (id: string, body: unknown, token = tokenFor(id)) =>
  env.call("POST", `/api/stores/contoso/requests/${id}/decision`, {
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
const dmWritesFor = (id: string) =>
  env.dm.calls.filter(
    (call) => call.method === "POST" && JSON.parse(call.body).workflowRequestID?.toString() === id,
  );

describe("3. trigger", () => {
  it("accepts DM's request, starts one flow run with the same document, and applies the approval", async () => {
    const document = '{ "WorkflowRequestID": 2001,  "requester": "bob@contoso.com", "z": [1, 2] }';
    const accepted = await trigger(document);
    expect(accepted).toMatchObject({ status: 202, body: { requestId: "2001", status: "queued" } });
    const done = await env.waitForState("contoso", "2001", "applied");

    const [call] = flowCallsFor("2001");
    expect(call?.body).toBe(document);
    expect(call?.headers).toMatchObject({
      "content-type": "application/json",
      "x-relay-request-id": "2001",
      "x-relay-store-id": "contoso",
      "x-relay-workflow-id": "group-join",
      "x-relay-callback-url": `${env.baseUrl}/api/stores/contoso/requests/2001/decision`,
      "x-relay-attempt": "1",
    });
    expect(call?.headers.authorization).toBeUndefined();
    expect(call?.headers["x-relay-callback-token"]).toEqual(expect.any(String));
    expect(done).toMatchObject({
      flowRunId: "run-2001",
      attempts: { flow: 1, apply: 1 },
      decision: { outcome: "approved" },
    });

    const approve = dmWritesFor("2001");
    expect(approve).toHaveLength(1);
    expect(approve[0]?.path).toBe("/GroupIDDataService/api/IdentityStores/7/Workflows/Approve");
    expect(JSON.parse(approve[0]?.body ?? "")).toEqual({ workflowRequestID: 2001 });
    expect(approve[0]?.headers["idempotency-key"]).toBe("contoso:2001");
    expect(approve[0]?.headers.authorization).toMatch(/^Bearer /);
  });

  it("starts no second flow run when DM sends the same request again", async () => {
    approvers.set("2002", undefined);
    expect((await trigger({ requestId: "2002" })).status).toBe(202);
    await env.waitForState("contoso", "2002", "flow-triggered");
    const again = await trigger({ requestId: "2002", extra: "retry" });
    expect(again).toMatchObject({
      status: 202,
      body: { requestId: "2002", status: "queued", duplicate: true },
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(flowCallsFor("2002")).toHaveLength(1);
  });

  it("derives a stable request id when the document has none", async () => {
    approvers.set("derived", undefined);
    const first = await trigger({ group: "Finance", member: "carol" });
    const second = await trigger({ member: "carol", group: "Finance" });
    expect(first.body.requestId).toMatch(/^sha256-[0-9a-f]{40}$/);
    expect(second.body).toEqual({
      requestId: first.body.requestId,
      status: "queued",
      duplicate: true,
    });
  });

  it.each([
    ["missing sig", (url: string) => url.replace(/\?sig=.*/, ""), 401],
    ["wrong sig", (url: string) => url.replace(/sig=.*/, "sig=wrong"), 401],
    ["unknown workflow", (url: string) => url.replace("group-join", "no-such-flow"), 404],
    ["unknown store", (url: string) => url.replace("stores/contoso", "stores/nobody"), 404],
    ["invalid workflow id", (url: string) => url.replace("group-join", "bad!id"), 400],
  ])("answers %s with %i problem+json", async (_case, mutate, status) => {
    const answer = await trigger({ requestId: "3001" }, { url: mutate(triggerUrl) });
    expect(answer.status).toBe(status);
    expect(answer.headers.get("content-type")).toContain("application/problem+json");
    expect(answer.body.status).toBe(status);
  });

  it.each([
    ["not JSON", "{oops", "application/json", 400],
    ["a JSON array", "[1,2]", "application/json", 400],
    ["a JSON string", '"x"', "application/json", 400],
    ["not a JSON content type", '{"requestId":"3002"}', "text/plain", 415],
    [
      "over 256 KiB",
      JSON.stringify({ requestId: "3003", pad: "x".repeat(256 * 1024) }),
      "application/json",
      413,
    ],
    ["a request id that breaks the pattern", '{"requestId":"a/b"}', "application/json", 400],
  ])("refuses a body that is %s", async (_case, body, contentType, status) => {
    const answer = await trigger(body, { contentType });
    expect(answer.status).toBe(status);
    expect(answer.headers.get("content-type")).toContain("application/problem+json");
  });

  it("accepts a body just under 256 KiB and passes it unchanged", async () => {
    approvers.set("3004", undefined);
    const body = JSON.stringify({ requestId: "3004", pad: "é".repeat(100 * 1024) });
    expect((await trigger(body)).status).toBe(202);
    await env.waitForState("contoso", "3004", "flow-triggered");
    expect(flowCallsFor("3004")[0]?.body).toBe(body);
  });
});

describe("4. call to the flow", () => {
  it("retries a 429 no sooner than its Retry-After, then records the run", async () => {
    flowReplies.set("4001", (n): Reply =>
      n === 1
        ? { status: 429, headers: { "retry-after": "1" } }
        : { status: 200, headers: { "x-ms-workflow-run-id": "run-4001" } },
    );
    approvers.set("4001", undefined);
    await trigger({ requestId: "4001" });
    const triggered = await env.waitForState("contoso", "4001", "flow-triggered");
    const [first, second] = flowCallsFor("4001");
    expect(second?.headers["x-relay-attempt"]).toBe("2");
    expect(first?.headers["x-relay-attempt"]).toBe("1");
    expect(triggered).toMatchObject({ flowRunId: "run-4001", attempts: { flow: 2 } });
    const gap = Date.parse(triggered.history[2].at) - Date.parse(triggered.history[1].at);
    expect(gap).toBeGreaterThanOrEqual(900);
  });

  it("gives up after the budget of 500s as flow-failed, and a redrive then succeeds", async () => {
    let healthy = false;
    flowReplies.set("4002", () => (healthy ? { status: 202 } : { status: 500, body: "boom" }));
    await trigger({ requestId: "4002" });
    const failed = await env.waitForState("contoso", "4002", "flow-failed");
    expect(failed.attempts.flow).toBe(3);
    expect(failed.lastError).toMatch(/gave up after 3 attempts/);
    expect(flowCallsFor("4002")).toHaveLength(3);

    const listed = await env.admin("GET", "stores/contoso/requests?state=flow-failed");
    expect(listed.body.requests.map((r: { requestId: string }) => r.requestId)).toContain("4002");

    healthy = true;
    const redrive = await env.admin("POST", "stores/contoso/requests/4002/redrive");
    expect(redrive).toMatchObject({ status: 202, body: { requestId: "4002", state: "queued" } });
    const applied = await env.waitForState("contoso", "4002", "applied");
    expect(applied.redrives).toBe(1);
    expect(dmWritesFor("4002")).toHaveLength(1);
    expect((await env.admin("POST", "stores/contoso/requests/4002/redrive")).status).toBe(409);
  });

  it("treats 404 from the flow as permanent", async () => {
    flowReplies.set("4003", () => ({ status: 404 }));
    await trigger({ requestId: "4003" });
    const failed = await env.waitForState("contoso", "4003", "flow-failed");
    expect(failed.attempts.flow).toBe(1);
    expect(flowCallsFor("4003")).toHaveLength(1);
  });

  it("retries a flow that does not answer in time", async () => {
    flowReplies.set("4004", (n) => (n === 1 ? "hang" : { status: 202 }));
    approvers.set("4004", undefined);
    await trigger({ requestId: "4004" });
    const triggered = await env.waitForState("contoso", "4004", "flow-triggered", 20_000);
    expect(triggered.attempts.flow).toBe(2);
  });
});

describe("5. decision callback", () => {
  beforeAll(async () => {
    for (const id of ["5001", "5002", "5003", "5004"]) {
      approvers.set(id, undefined);
      await trigger({ requestId: id });
    }
    for (const id of ["5001", "5002", "5003", "5004"])
      await env.waitForState("contoso", id, "flow-triggered");
  });

  it("records the first decision (202), ignores the same again (200) and refuses another (409)", async () => {
    const first = await decide("5001", {
      outcome: "Rejected",
      approver: { email: "dave@contoso.com" },
      comments: "not now",
    });
    expect(first).toMatchObject({
      status: 202,
      body: { requestId: "5001", decision: "denied", status: "decided" },
    });
    const same = await decide("5001", { outcome: "deny" });
    expect(same).toMatchObject({ status: 200, body: { requestId: "5001", decision: "denied" } });
    const other = await decide("5001", { outcome: "Approve" });
    expect(other.status).toBe(409);
    expect(other.headers.get("content-type")).toContain("application/problem+json");
    expect(other.body).toMatchObject({ decision: "denied", decidedBy: "dave@contoso.com" });

    await env.waitForState("contoso", "5001", "applied");
    const deny = dmWritesFor("5001");
    expect(deny).toHaveLength(1);
    expect(deny[0]?.path).toMatch(/Workflows\/Deny$/);
    expect(JSON.parse(deny[0]?.body ?? "")).toEqual({ workflowRequestID: 5001, reason: "not now" });
  });

  it("lets only one of two concurrent different decisions win", async () => {
    const [a, b] = await Promise.all([
      decide("5002", { outcome: "Approve" }),
      decide("5002", { outcome: "Reject" }),
    ]);
    expect([a.status, b.status].sort()).toEqual([202, 409]);
    const winner = a.status === 202 ? "approved" : "denied";
    expect((await env.waitForState("contoso", "5002", "applied")).decision.outcome).toBe(winner);
    expect(dmWritesFor("5002")).toHaveLength(1);
  });

  it("refuses a missing, foreign, forged or expired token with 401", async () => {
    const foreign = tokenFor("5004");
    expect((await decide("5003", { outcome: "Approve" }, foreign)).status).toBe(401);
    expect((await decide("5003", { outcome: "Approve" }, "garbage")).status).toBe(401);
    const expired = new CallbackTokens(SIGNING_KEY).issue(
      "contoso",
      "5003",
      new Date(Date.now() - 31 * 24 * 3600 * 1000),
    );
    expect((await decide("5003", { outcome: "Approve" }, expired)).status).toBe(401);
    const otherKey = new CallbackTokens("another-signing-key-0123456789-abcdef").issue(
      "contoso",
      "5003",
      new Date(),
    );
    expect((await decide("5003", { outcome: "Approve" }, otherKey)).status).toBe(401);
    const missing = await env.call("POST", "/api/stores/contoso/requests/5003/decision", {
      headers: { "content-type": "application/json" },
      body: '{"outcome":"Approve"}',
    });
    expect(missing.status).toBe(401);
    expect((await env.admin("GET", "stores/contoso/requests/5003")).body.state).toBe(
      "flow-triggered",
    );
  });

  it("answers 404 for an unknown request and 400 for a bad outcome", async () => {
    const token = new CallbackTokens(SIGNING_KEY).issue("contoso", "no-such-request", new Date());
    expect((await decide("no-such-request", { outcome: "Approve" }, token)).status).toBe(404);
    const bad = await decide("5003", { outcome: "Maybe" });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe("/outcome");
  });

  it("accepts the output body of Start and wait for an approval as it is", async () => {
    const output = {
      name: "approval-1",
      title: "Group join",
      outcome: "Approve",
      responses: [
        {
          responder: { email: "erin@contoso.com", displayName: "Erin", tenantId: "t" },
          approverResponse: "Approve",
          comments: "ok",
          responseDate: "2026-11-28T10:00:00Z",
        },
      ],
    };
    expect((await decide("5004", output)).status).toBe(202);
    const applied = await env.waitForState("contoso", "5004", "applied");
    expect(applied.decision).toMatchObject({
      outcome: "approved",
      approver: { email: "erin@contoso.com", displayName: "Erin" },
      comments: "ok",
    });
  });
});

describe("writing the decision back", () => {
  it("records superseded when DM had already decided, and then refuses callbacks with 409", async () => {
    dmInitial.set("6001", "Approved");
    await trigger({ requestId: "6001" });
    const superseded = await env.waitForState("contoso", "6001", "superseded");
    expect(superseded).toMatchObject({ decision: { outcome: "approved" }, dmOutcome: "approved" });
    expect(env.dm.writes.get("6001")).toBeUndefined();
    const late = await decide("6001", { outcome: "Approve" });
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({ state: "superseded", decidedBy: "Directory Manager" });
  });

  it("fetches a new DM token when the cached one has expired", async () => {
    await trigger({ requestId: "6002" });
    await env.waitForState("contoso", "6002", "applied");
    const issued = env.dm.tokensIssued;
    env.dm.expireTokens();
    await trigger({ requestId: "6003" });
    await env.waitForState("contoso", "6003", "applied");
    expect(env.dm.tokensIssued).toBe(issued + 1);
    expect(env.dm.writes.get("6003")).toBe(1);
  });

  it("applies exactly once when the Data service is down for a while", async () => {
    let outage = 3;
    dmFaults.set("6004", (call) =>
      call.method === "POST" && outage-- > 0 ? { status: 503, body: "unavailable" } : undefined,
    );
    await trigger({ requestId: "6004" });
    const applied = await env.waitForState("contoso", "6004", "applied");
    expect(applied.attempts.apply).toBe(4);
    expect(env.dm.writes.get("6004")).toBe(1);
    expect(env.dm.statuses.get("6004")).toBe("Approved");
  });

  it("counts an earlier attempt that landed although its answer was lost", async () => {
    let first = true;
    dmFaults.set("6005", (call) => {
      if (call.method !== "POST" || !first) return undefined;
      first = false;
      env.dm.statuses.set("6005", "Approved"); // DM took it, then the answer was lost
      env.dm.writes.set("6005", 1);
      return { status: 502 };
    });
    await trigger({ requestId: "6005" });
    const applied = await env.waitForState("contoso", "6005", "applied");
    expect(applied.history.at(-1).detail).toMatch(/confirmed by the check call/);
    expect(env.dm.writes.get("6005")).toBe(1);
  });

  it("records apply-failed with DM's message when DM refuses a pending request, and redrives it", async () => {
    let refuse = true;
    dmFaults.set("6006", (call) =>
      call.method === "POST" && refuse
        ? {
            status: 200,
            body: {
              status: "Failure",
              message: "workflow approver mismatch",
              errorCode: 17,
              data: null,
            },
          }
        : undefined,
    );
    await trigger({ requestId: "6006" });
    const failed = await env.waitForState("contoso", "6006", "apply-failed");
    expect(failed.lastError).toMatch(/workflow approver mismatch/);
    refuse = false;
    expect((await env.admin("POST", "stores/contoso/requests/6006/redrive")).body.state).toBe(
      "decided",
    );
    await env.waitForState("contoso", "6006", "applied");
    expect(env.dm.writes.get("6006")).toBe(1);
  });

  it("sends a non-numeric request id as a string", async () => {
    await trigger({ requestId: "REQ-6007" });
    await env.waitForState("contoso", "REQ-6007", "applied");
    expect(JSON.parse(dmWritesFor("REQ-6007")[0]?.body ?? "")).toEqual({
      workflowRequestID: "REQ-6007",
    });
  });
});

describe("secrets", () => {
  it("never appear in the host's logs, responses or stored status", async () => {
    const secrets = [
      "flow-SIG-secret-123",
      new URL(triggerUrl).searchParams.get("sig") as string,
      DM_CREDENTIALS.password,
      DM_CREDENTIALS.clientSecret,
      SIGNING_KEY,
      ...env.flow.calls.map((call) => String(call.headers["x-relay-callback-token"])),
    ];
    const listed = JSON.stringify((await env.admin("GET", "stores/contoso/requests")).body);
    const link = JSON.stringify(
      (await env.admin("GET", "stores/contoso/workflows/group-join/flow")).body,
    );
    const logs = env.logs();
    expect(logs.length).toBeGreaterThan(1000);
    const stored = await everyStoredRow(env.tablesConnectionString);
    expect(stored).toContain("group-join");
    for (const secret of secrets) {
      expect(logs).not.toContain(secret);
      expect(listed).not.toContain(secret);
      expect(link).not.toContain(secret);
      expect(stored).not.toContain(secret);
    }
  });
});

/** Every row of every table, as text: what a leaked storage account would show. */
async function everyStoredRow(connectionString: string): Promise<string> {
  const options = { allowInsecureConnection: true };
  const service = TableServiceClient.fromConnectionString(connectionString, options);
  const rows: unknown[] = [];
  for await (const table of service.listTables()) {
    const client = TableClient.fromConnectionString(
      connectionString,
      table.name as string,
      options,
    );
    for await (const entity of client.listEntities()) rows.push(entity);
  }
  return JSON.stringify(rows);
}
