import { TableClient } from "@azure/data-tables";
import { startAzuriteTables, type AzuriteTables } from "../../dev/azurite";
import { freePort } from "../../dev/free-port";
import { azuriteConnectionString } from "../../dev/azurite";
import type { RelayRequest, StoreRegistration, WorkflowLink } from "../../shared/domain/model";
import {
  createTableRepositories,
  InvalidRequestIdError,
  InvalidTableKeyError,
  type TableRepositories,
} from "../../shared/adapters/tables";
import { SecretBox } from "../../shared/security/secret-box";

const PREFIX = "Test";
const secrets = new SecretBox("test-signing-key-0123456789");

let azurite: AzuriteTables;
let repos: TableRepositories;

beforeAll(async () => {
  azurite = await startAzuriteTables();
  repos = createTableRepositories({ connectionString: azurite.connectionString }, secrets, PREFIX);
  await repos.ensureTables();
}, 30_000);

afterAll(async () => {
  await azurite?.stop();
});

/** A TableClient that sees the stored entities as they are, without the adapter. */
function rawTable(name: string): TableClient {
  return TableClient.fromConnectionString(azurite.connectionString, `${PREFIX}${name}`, {
    allowInsecureConnection: true,
  });
}

function registration(storeId: string): StoreRegistration {
  return {
    storeId,
    organizationCode: "contoso",
    region: "crm4",
    dataServiceUrl: "https://dm-contoso.msappproxy.net/GroupIDDataService",
    securityServiceUrl: "https://dm-contoso.msappproxy.net/GroupIDSecurityService",
    identityStoreId: 1,
    tenantId: "8c0bd6a4-8c3e-4d4f-9d2b-6f5a1e0c9b11",
    clientId: "0f2ad1b4-1f6e-4c3f-8c45-3d9b8f1f2a77",
    updatedAt: "2026-11-28T10:00:00.000Z",
  };
}

const FLOW_SIG = "Zx9-flow-signature-Q1w2e3";
const TRIGGER_KEY = "trigger-key-8f7e6d5c4b3a";

function link(storeId: string, workflowId: string): WorkflowLink {
  return {
    storeId,
    workflowId,
    workflowName: "Group join approval",
    approvers: ["alice@contoso.com", "bob@contoso.com"],
    flowAuth: "sas",
    requestUrl: `https://prod.westeurope.environment.api.powerplatform.com/powerautomate/automations/direct/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=${FLOW_SIG}`,
    triggerKey: TRIGGER_KEY,
    requestIdPointer: "/WorkflowRequestID",
    updatedAt: "2026-11-28T10:00:00.000Z",
  };
}

function relayRequest(storeId: string, requestId: string): RelayRequest {
  return {
    storeId,
    workflowId: "wf-1",
    requestId,
    state: "queued",
    attempts: { flow: 0, apply: 0 },
    redrives: 0,
    history: [{ at: "2026-11-28T10:00:00.000Z", state: "queued", detail: "accepted" }],
    createdAt: "2026-11-28T10:00:00.000Z",
    updatedAt: "2026-11-28T10:00:00.000Z",
  };
}

/** A JSON document of exactly `bytes` UTF-8 bytes built from `unit` (1 to 4 bytes). */
function jsonOfBytes(bytes: number, unit: string): string {
  const frame = '{"text":""}';
  const unitBytes = Buffer.byteLength(unit);
  const room = bytes - frame.length;
  const text = unit.repeat(Math.floor(room / unitBytes)) + "x".repeat(room % unitBytes);
  const json = `{"text":"${text}"}`;
  expect(Buffer.byteLength(json)).toBe(bytes);
  return json;
}

describe("table setup and health", () => {
  it("ensureTables is idempotent", async () => {
    await expect(repos.ensureTables()).resolves.toBeUndefined();
  });

  it("the health probe passes against Azurite", async () => {
    expect(repos.health.name).toBe("tables");
    await expect(repos.health.check()).resolves.toBeUndefined();
  });

  it("the health probe fails, within its bound, when Table Storage does not answer", async () => {
    const unreachable = azuriteConnectionString(await freePort());
    const down = createTableRepositories({ connectionString: unreachable }, secrets);
    const started = Date.now();
    await expect(down.health.check()).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(7000);
    await expect(down.stores.get("s1")).rejects.toThrow();
  }, 20_000);

  it("a missing table is an error, not a missing record", async () => {
    const unset = createTableRepositories(
      { connectionString: azurite.connectionString },
      secrets,
      "NeverCreated",
    );
    await expect(unset.requests.get("s1", "r1")).rejects.toMatchObject({ statusCode: 404 });
    await expect(unset.health.check()).rejects.toThrow();
  });

  it("takes an https endpoint with a token credential, and refuses plain http with one", () => {
    const credential = {
      getToken: async () => ({ token: "unused", expiresOnTimestamp: Date.now() + 60_000 }),
    };
    const endpoint = "https://relaystorage.table.core.windows.net";
    expect(() => createTableRepositories({ endpoint, credential }, secrets)).not.toThrow();
    expect(() =>
      createTableRepositories(
        { endpoint: `http://127.0.0.1:${azurite.port}`, credential },
        secrets,
      ),
    ).toThrow(/must be https/);
  });

  it("refuses a table prefix Table Storage cannot use", () => {
    expect(() =>
      createTableRepositories({ connectionString: azurite.connectionString }, secrets, "1-bad"),
    ).toThrow(/table prefix/);
  });
});

describe("stores", () => {
  it("round-trips a registration and replaces it whole", async () => {
    await repos.stores.put(registration("store-a"));
    expect(await repos.stores.get("store-a")).toEqual(registration("store-a"));

    const updated: StoreRegistration = { ...registration("store-a"), identityStoreId: 7 };
    delete updated.securityServiceUrl;
    await repos.stores.put(updated);
    const stored = await repos.stores.get("store-a");
    expect(stored).toEqual(updated);
    expect(stored).not.toHaveProperty("securityServiceUrl");
  });

  it("answers undefined for an unknown store", async () => {
    expect(await repos.stores.get("no-such-store")).toBeUndefined();
  });
});

describe("links", () => {
  it("round-trips a link", async () => {
    await repos.links.put(link("store-l", "wf.1"));
    expect(await repos.links.get("store-l", "wf.1")).toEqual(link("store-l", "wf.1"));
    expect(await repos.links.get("store-l", "wf.unknown")).toBeUndefined();
  });

  it("stores neither the flow URL nor the trigger key in clear", async () => {
    await repos.links.put(link("store-l", "wf-secret"));
    const raw = await rawTable("RelayLinks").getEntity("store-l", "wf-secret");
    const stored = JSON.stringify(raw);
    for (const secret of [FLOW_SIG, TRIGGER_KEY, "powerplatform.com", "invoke?"]) {
      expect(stored).not.toContain(secret);
    }
    expect(raw.requestUrlSealed).toMatch(/^v1\./);
  });

  it("refuses a sealed value moved to another row", async () => {
    await repos.links.put(link("store-l", "wf-from"));
    await repos.links.put(link("store-l", "wf-to"));
    const table = rawTable("RelayLinks");
    const from = await table.getEntity<{ requestUrlSealed: string }>("store-l", "wf-from");
    await table.updateEntity(
      { partitionKey: "store-l", rowKey: "wf-to", requestUrlSealed: from.requestUrlSealed },
      "Merge",
    );
    await expect(repos.links.get("store-l", "wf-to")).rejects.toThrow(/authentication failed/);
  });

  it("deletes a link, and reports when there was none", async () => {
    await repos.links.put(link("store-l", "wf-gone"));
    expect(await repos.links.delete("store-l", "wf-gone")).toBe(true);
    expect(await repos.links.get("store-l", "wf-gone")).toBeUndefined();
    expect(await repos.links.delete("store-l", "wf-gone")).toBe(false);
  });
});

describe("requests", () => {
  it("creates a request once; a second create is a conflict and keeps the first payload", async () => {
    const request = relayRequest("store-r", "1001");
    expect(await repos.requests.create(request, '{"WorkflowRequestID":1001}')).toBe("ok");
    expect(await repos.requests.create(request, '{"other":true}')).toBe("conflict");

    const stored = await repos.requests.get("store-r", "1001");
    expect(stored?.value).toEqual(request);
    expect(stored?.etag).toEqual(expect.any(String));
    expect(await repos.requests.getPayload("store-r", "1001")).toBe('{"WorkflowRequestID":1001}');
  });

  it("lets exactly one of two concurrent creates of one request win, payload included", async () => {
    const request = relayRequest("store-r", "dm-retry");
    const results = await Promise.all([
      repos.requests.create(request, '{"from":"first"}'),
      repos.requests.create(request, '{"from":"second"}'),
    ]);
    expect([...results].sort()).toEqual(["conflict", "ok"]);
    const winner = results[0] === "ok" ? '{"from":"first"}' : '{"from":"second"}';
    expect(await repos.requests.getPayload("store-r", "dm-retry")).toBe(winner);
  });

  it("answers undefined for an unknown request and its payload", async () => {
    expect(await repos.requests.get("store-r", "unknown")).toBeUndefined();
    expect(await repos.requests.getPayload("store-r", "unknown")).toBeUndefined();
  });

  it("lets exactly one of two concurrent replaces with the same ETag win", async () => {
    const request = relayRequest("store-r", "race:1");
    await repos.requests.create(request, "{}");
    const current = await repos.requests.get("store-r", "race:1");
    if (!current) throw new Error("the request was not stored");

    const triggered: RelayRequest = { ...request, state: "flow-triggered", flowRunId: "run-1" };
    const failed: RelayRequest = { ...request, state: "flow-failed", lastError: "HTTP 404" };
    const results = await Promise.all([
      repos.requests.replace(triggered, current),
      repos.requests.replace(failed, current),
    ]);
    expect(results.map((result) => (result === "conflict" ? result : "ok")).sort()).toEqual([
      "conflict",
      "ok",
    ]);

    const written = results.find((result) => result !== "conflict");
    const winner = results[0] === "conflict" ? failed : triggered;
    const after = await repos.requests.get("store-r", "race:1");
    expect(after?.value).toEqual(winner);
    expect(after?.etag).not.toBe(current.etag);
    expect(written).toEqual(after);
    expect(await repos.requests.replace(request, current)).toBe("conflict");
  });

  it("replace writes the whole request: cleared fields disappear, nested fields survive", async () => {
    const request: RelayRequest = {
      ...relayRequest("store-r", "full"),
      state: "apply-failed",
      lastError: "DM said no",
      applyOutcomeUnknown: true,
      decision: {
        outcome: "denied",
        approver: { email: "alice@contoso.com", displayName: "Alice" },
        comments: "not this group",
        respondedAt: "2026-11-28T10:05:00Z",
        recordedAt: "2026-11-28T10:05:01.000Z",
      },
      attempts: { flow: 1, apply: 3 },
      redrives: 2,
    };
    await repos.requests.create(request, "{}");
    const created = await repos.requests.get("store-r", "full");
    expect(created?.value).toEqual(request);

    const redriven: RelayRequest = { ...request, state: "decided" };
    delete redriven.lastError;
    delete redriven.applyOutcomeUnknown;
    expect(await repos.requests.replace(redriven, created!)).not.toBe("conflict");
    const after = await repos.requests.get("store-r", "full");
    expect(after?.value).toEqual(redriven);
    expect(after?.value).not.toHaveProperty("lastError");
  });

  it("keeps the claimed run and a scheduled retry, and clears them when they go", async () => {
    const request: RelayRequest = {
      ...relayRequest("store-r", "claimed"),
      state: "flow-triggered",
      flowRun: {
        runId: "08584-run",
        flowName: "flow-1",
        environmentName: "Default-env",
        claimedAt: "2026-11-28T10:01:00.000Z",
        cancelError: "Power Automate: 500",
        cancelAttempts: 1,
      },
      nextAttemptAt: "2026-11-28T10:02:00.000Z",
    };
    await repos.requests.create(request, "{}");
    const created = await repos.requests.get("store-r", "claimed");
    expect(created?.value).toEqual(request);

    const cleared: RelayRequest = { ...request };
    delete cleared.flowRun;
    delete cleared.nextAttemptAt;
    await repos.requests.replace(cleared, created!);
    expect((await repos.requests.get("store-r", "claimed"))?.value).toEqual(cleared);
  });

  it("keeps a small document in the request row, through every replace, read with the request", async () => {
    const document = '{ "WorkflowRequestID": 3001, "note": "é鍵" }';
    const request = relayRequest("store-p", "small-doc");
    await repos.requests.create(request, document);
    const created = await repos.requests.get("store-p", "small-doc");
    expect(created?.payloadJson).toBe(document);
    const payloadRow = await rawTable("RelayRequests")
      .getEntity("store-p", "~payload~small-doc")
      .catch((error: { statusCode?: number }) => error.statusCode);
    expect(payloadRow).toBe(404);

    // Each write answers the version it stored, good for the next write without a read.
    const first = await repos.requests.replace({ ...request, state: "flow-triggered" }, created!);
    if (first === "conflict") throw new Error("the first replace lost a race nobody ran");
    const second = await repos.requests.replace({ ...request, state: "decided" }, first);
    expect(second).not.toBe("conflict");
    const after = await repos.requests.get("store-p", "small-doc");
    expect(after).toEqual(second);
    expect(after?.payloadJson).toBe(document);
    expect(await repos.requests.getPayload("store-p", "small-doc")).toBe(document);
  });

  it("keeps a document over 64 KiB in a row of its own, which replaces never carry", async () => {
    const document = jsonOfBytes(64 * 1024 + 1, "a");
    await repos.requests.create(relayRequest("store-p", "edge-doc"), document);
    const created = await repos.requests.get("store-p", "edge-doc");
    expect(created?.payloadJson).toBeUndefined();
    await repos.requests.replace({ ...created!.value, state: "flow-triggered" }, created!);
    expect(await repos.requests.getPayload("store-p", "edge-doc")).toBe(document);
    await repos.requests.create(relayRequest("store-p", "fits-doc"), jsonOfBytes(64 * 1024, "a"));
    expect((await repos.requests.get("store-p", "fits-doc"))?.payloadJson).toHaveLength(64 * 1024);
  });

  it.each([
    ["ASCII", "a"],
    ["multi-byte UTF-8", "é鍵🔑"],
  ])("round-trips a 256 KiB %s payload, kept apart from the request row", async (_kind, unit) => {
    const requestId = `big-${Buffer.from(unit).toString("hex")}`;
    const payload = jsonOfBytes(256 * 1024, unit);
    expect(await repos.requests.create(relayRequest("store-p", requestId), payload)).toBe("ok");
    expect(await repos.requests.getPayload("store-p", requestId)).toBe(payload);

    const requestRow = await rawTable("RelayRequests").getEntity("store-p", requestId);
    expect(Object.keys(requestRow).filter((name) => name.startsWith("payload"))).toEqual([]);
    expect((await repos.requests.list("store-p")).map((r) => r.requestId)).toContain(requestId);
  });

  it("refuses a payload larger than one row holds, before writing anything", async () => {
    await expect(
      repos.requests.create(relayRequest("store-p", "huge"), jsonOfBytes(1024 * 1024, "a")),
    ).rejects.toThrow(RangeError);
    expect(await repos.requests.get("store-p", "huge")).toBeUndefined();
  });

  it("lists the requests of a store, all or by state, without payload rows", async () => {
    const states = ["queued", "flow-triggered", "queued", "applied"] as const;
    for (const [index, state] of states.entries()) {
      await repos.requests.create({ ...relayRequest("store-list", `r${index}`), state }, "{}");
    }
    await repos.requests.create(relayRequest("store-other", "r9"), "{}");

    const all = await repos.requests.list("store-list");
    expect(all.map((r) => r.requestId)).toEqual(["r0", "r1", "r2", "r3"]);
    const queued = await repos.requests.list("store-list", "queued");
    expect(queued.map((r) => r.requestId)).toEqual(["r0", "r2"]);
    expect(queued.every((r) => r.storeId === "store-list" && r.state === "queued")).toBe(true);
    expect(await repos.requests.list("store-list", "superseded")).toEqual([]);
  });

  it("lists past the first page of results", async () => {
    const count = 1010; // Table Storage answers at most 1000 entities per page.
    const ids = Array.from({ length: count }, (_, i) => `p${String(i).padStart(4, "0")}`);
    for (let start = 0; start < count; start += 50) {
      await Promise.all(
        ids
          .slice(start, start + 50)
          .map((id) => repos.requests.create(relayRequest("store-paged", id), "{}")),
      );
    }
    const listed = await repos.requests.list("store-paged", "queued");
    expect(listed.map((r) => r.requestId)).toEqual(ids);
  }, 60_000);

  it("keeps a long history within one Table property, newest entries first to stay", async () => {
    const history = Array.from({ length: 100 }, (_, i) => ({
      at: new Date(Date.UTC(2026, 10, 28, 10, 0, i)).toISOString(),
      state: "flow-triggered" as const,
      detail: `attempt ${i}: ${"upstream said no. ".repeat(200)}`,
    }));
    const request = { ...relayRequest("store-r", "long-history"), history };
    expect(await repos.requests.create(request, "{}")).toBe("ok");

    const raw = await rawTable("RelayRequests").getEntity<{ history: string }>(
      "store-r",
      "long-history",
    );
    expect(raw.history.length).toBeLessThanOrEqual(32 * 1024);
    const stored = (await repos.requests.get("store-r", "long-history"))!.value.history;
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.length).toBeLessThan(100);
    expect(stored[stored.length - 1].at).toBe(history[99].at);
    expect(stored[stored.length - 1].detail).toMatch(/^attempt 99: upstream said no\. .*…$/);
  });
});

describe("keys Table Storage forbids", () => {
  const badKeys = [
    "a/b",
    "a\\b",
    "a#b",
    "a?b",
    "a\u0000b",
    "a\nb",
    "a\u007fb",
    "",
    "x".repeat(513),
  ];

  it.each(badKeys)("refuses %j in every repository before calling the service", async (bad) => {
    await expect(repos.stores.get(bad)).rejects.toThrow(InvalidTableKeyError);
    await expect(repos.stores.put(registration(bad))).rejects.toThrow(InvalidTableKeyError);
    await expect(repos.links.get("s1", bad)).rejects.toThrow(InvalidTableKeyError);
    await expect(repos.links.put(link(bad, "wf"))).rejects.toThrow(InvalidTableKeyError);
    await expect(repos.links.delete("s1", bad)).rejects.toThrow(InvalidTableKeyError);
    await expect(repos.requests.get("s1", bad)).rejects.toThrow(InvalidTableKeyError);
    await expect(repos.requests.create(relayRequest("s1", bad), "{}")).rejects.toThrow(
      InvalidTableKeyError,
    );
    const stale = { value: relayRequest(bad, "r1"), etag: "*" };
    await expect(repos.requests.replace(relayRequest(bad, "r1"), stale)).rejects.toThrow(
      InvalidTableKeyError,
    );
    await expect(repos.requests.getPayload("s1", bad)).rejects.toThrow(InvalidTableKeyError);
    await expect(repos.requests.list(bad)).rejects.toThrow(InvalidTableKeyError);
  });

  it("refuses request ids that could be taken for a payload row", async () => {
    await expect(repos.requests.create(relayRequest("s1", "~payload~r1"), "{}")).rejects.toThrow(
      InvalidRequestIdError,
    );
  });

  it("passes quotes in ids through as data, never as query syntax", async () => {
    await repos.requests.create(relayRequest("it's", "r1"), "{}");
    expect((await repos.requests.list("it's")).map((r) => r.requestId)).toEqual(["r1"]);
    expect(await repos.requests.list("it' or 'a' eq 'a")).toEqual([]);
  });
});
