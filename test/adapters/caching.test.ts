/**
 * The in-process caches over the repositories (shared/adapters/caching.ts), over counting
 * in-memory repositories and a clock the test moves.
 */
import {
  CachedLinkRepository,
  CachedStoreRepository,
  ReadCache,
  RememberingRequestRepository,
} from "../../shared/adapters/caching";
import { newRequest, transition } from "../../shared/domain/lifecycle";
import type { RelayRequest, StoreRegistration, WorkflowLink } from "../../shared/domain/model";
import type {
  LinkRepository,
  RequestRepository,
  StoreRepository,
  StoredRequest,
} from "../../shared/ports";

let now = 0;
const clock = () => now;
const limits = { ttlMs: 30_000, maxEntries: 3, now: clock };

function store(storeId: string, organizationCode = "contoso"): StoreRegistration {
  return {
    storeId,
    organizationCode,
    region: "crm4",
    dataServiceUrl: "https://dm.contoso.com/GroupIDDataService",
    identityStoreId: 1,
    tenantId: "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
    clientId: "7d9c0a51-2b1e-4c3a-9f00-1a2b3c4d5e6f",
    updatedAt: "t",
  };
}

/** A store repository kept in a map, counting its reads: what Table Storage would be asked. */
function storesInMemory() {
  const rows = new Map<string, StoreRegistration>();
  const repository: StoreRepository & { reads: number; rows: typeof rows } = {
    reads: 0,
    rows,
    async get(storeId) {
      repository.reads += 1;
      return rows.get(storeId);
    },
    async put(registration) {
      rows.set(registration.storeId, registration);
    },
    async list() {
      return [...rows.values()];
    },
  };
  return repository;
}

beforeEach(() => {
  now = 0;
});

describe("the read cache", () => {
  it("serves a key from memory until its lifetime, counted from the read's start, is over", async () => {
    const cache = new ReadCache<number>(limits);
    let reads = 0;
    const load = async () => ++reads;
    expect(await cache.read("a", load)).toBe(1);
    now = 29_999;
    expect(await cache.read("a", load)).toBe(1);
    now = 30_000;
    expect(await cache.read("a", load)).toBe(2);
  });

  it("shares one read among concurrent readers, and keeps no failed read", async () => {
    const cache = new ReadCache<string>(limits);
    let reads = 0;
    const failing = async () => {
      reads += 1;
      throw new Error("table down");
    };
    await Promise.all([1, 2, 3].map(() => expect(cache.read("a", failing)).rejects.toThrow()));
    expect(reads).toBe(1);
    expect(await cache.read("a", async () => "up")).toBe("up");
  });

  it("keeps at most maxEntries keys, dropping the oldest", async () => {
    const cache = new ReadCache<string>(limits);
    let reads = 0;
    const load = (key: string) => async () => `${key}${++reads}`;
    for (const key of ["a", "b", "c", "d"]) await cache.read(key, load(key));
    expect(await cache.read("d", load("d"))).toBe("d4");
    expect(await cache.read("a", load("a"))).toBe("a5");
  });
});

describe("registrations and links from memory", () => {
  it("shows an admin change at once on the instance that made it, within 30 s on the others", async () => {
    const table = storesInMemory();
    const here = new CachedStoreRepository(table, limits);
    const elsewhere = new CachedStoreRepository(table, limits);
    await here.put(store("s1"));
    expect((await here.get("s1"))?.organizationCode).toBe("contoso");
    expect((await elsewhere.get("s1"))?.organizationCode).toBe("contoso");
    const reads = table.reads;
    now = 1_000;

    await here.put(store("s1", "fabrikam"));
    expect((await here.get("s1"))?.organizationCode).toBe("fabrikam");
    expect((await elsewhere.get("s1"))?.organizationCode).toBe("contoso");
    now = 30_000;
    expect((await elsewhere.get("s1"))?.organizationCode).toBe("fabrikam");
    expect(table.reads).toBe(reads + 2);
  });

  it("remembers that a store is unknown, until it is registered", async () => {
    const here = new CachedStoreRepository(storesInMemory(), limits);
    expect(await here.get("s2")).toBeUndefined();
    await here.put(store("s2"));
    expect(await here.get("s2")).toBeDefined();
  });

  it("drops a link on put and delete, and keeps one marked as claiming without a read", async () => {
    const rows = new Map<string, WorkflowLink>();
    let reads = 0;
    const table: LinkRepository = {
      async get(storeId, workflowId) {
        reads += 1;
        return rows.get(`${storeId}/${workflowId}`);
      },
      async put(link) {
        rows.set(`${link.storeId}/${link.workflowId}`, link);
      },
      async delete(storeId, workflowId) {
        return rows.delete(`${storeId}/${workflowId}`);
      },
      async list(storeId) {
        return [...rows.values()].filter((link) => link.storeId === storeId);
      },
      async markClaiming(storeId, workflowId) {
        const key = `${storeId}/${workflowId}`;
        const link = rows.get(key);
        if (link) rows.set(key, { ...link, claims: true });
      },
    };
    const links = new CachedLinkRepository(table, limits);
    const link: WorkflowLink = {
      storeId: "s1",
      workflowId: "w1",
      approvers: [],
      flowAuth: "sas",
      requestUrl: "https://flow.example/x?sig=1",
      triggerKey: "k",
      updatedAt: "t",
    };
    await links.put(link);
    expect((await links.get("s1", "w1"))?.claims).toBeUndefined();
    await links.markClaiming("s1", "w1");
    expect((await links.get("s1", "w1"))?.claims).toBe(true);
    expect(reads).toBe(1);
    await links.put({ ...link, requestUrl: "https://flow.example/y?sig=2" });
    expect((await links.get("s1", "w1"))?.requestUrl).toContain("/y");
    expect(await links.delete("s1", "w1")).toBe(true);
    expect(await links.get("s1", "w1")).toBeUndefined();
    expect(reads).toBe(3);
  });
});

describe("remembered request versions", () => {
  /** A request repository in memory with real ETag semantics: a version number per request. */
  function requestsInMemory(): RequestRepository {
    const rows = new Map<string, StoredRequest>();
    let version = 0;
    const key = (request: RelayRequest) => `${request.storeId}/${request.requestId}`;
    return {
      async get(storeId, requestId) {
        return rows.get(`${storeId}/${requestId}`);
      },
      async create(request) {
        if (rows.has(key(request))) return "conflict";
        rows.set(key(request), { value: request, etag: String(++version) });
        return "ok";
      },
      async replace(next, current) {
        if (rows.get(key(next))?.etag !== current.etag) return "conflict";
        const stored = { value: next, etag: String(++version) };
        rows.set(key(next), stored);
        return stored;
      },
      lastWritten: () => undefined,
      getPayload: async () => undefined,
      list: async () => [],
      listWatched: async () => [],
      unwatch: async () => undefined,
    };
  }
  const at = new Date("2026-12-01T10:00:00Z");
  const queued = newRequest({ storeId: "s1", workflowId: "w1", requestId: "r1" }, at);
  const step = (request: RelayRequest, type: "flow-triggered" | "applied"): RelayRequest => {
    const event =
      type === "flow-triggered"
        ? ({ type, attempt: 1 } as const)
        : ({ type, attempt: 1, detail: "applied" } as const);
    const next = transition(request, event, at);
    if (!next.ok) throw new Error(next.reason);
    return next.request;
  };

  it("remembers the version it wrote of an open request for a while, and forgets a final one", async () => {
    const requests = new RememberingRequestRepository(requestsInMemory(), {
      ttlMs: 60_000,
      maxChars: 1_000_000,
      now: clock,
    });
    await requests.create(queued, "{}");
    expect(requests.lastWritten("s1", "r1")).toBeUndefined();
    const triggered = await requests.replace(
      step(queued, "flow-triggered"),
      (await requests.get("s1", "r1"))!,
    );
    expect(requests.lastWritten("s1", "r1")).toEqual(triggered);
    now = 60_000;
    expect(requests.lastWritten("s1", "r1")).toBeUndefined();

    const current = (await requests.get("s1", "r1"))!;
    const decided = transition(
      current.value,
      { type: "decided", decision: { outcome: "approved", recordedAt: "t" } },
      at,
    );
    if (!decided.ok) throw new Error(decided.reason);
    const written = await requests.replace(decided.request, current);
    if (written === "conflict") throw new Error("lost a race nobody ran");
    await requests.replace(step(decided.request, "applied"), written);
    expect(requests.lastWritten("s1", "r1")).toBeUndefined();
  });

  it("forgets a version that lost a race", async () => {
    const requests = new RememberingRequestRepository(requestsInMemory(), {
      ttlMs: 60_000,
      maxChars: 1_000_000,
      now: clock,
    });
    await requests.create(queued, "{}");
    const first = (await requests.get("s1", "r1"))!;
    await requests.replace(step(queued, "flow-triggered"), first);
    expect(await requests.replace(step(queued, "flow-triggered"), first)).toBe("conflict");
    expect(requests.lastWritten("s1", "r1")).toBeUndefined();
  });
});
