/**
 * In-process caches over the repositories, built by the composition root. Registrations and links
 * change only by an administrator and are read by every trigger and step, so they are served from
 * memory: a change is seen at once on the instance that made it (its write drops the entry) and
 * within the entry's lifetime everywhere else. Requests are always read from Table Storage; what
 * is remembered of them is only a guess that a conditional write checks (`lastWritten`).
 */
import { FINAL_STATES } from "../domain/lifecycle";
import type { RelayRequest, RequestState, StoreRegistration, WorkflowLink } from "../domain/model";
import type {
  LinkRepository,
  RequestRepository,
  StoreRepository,
  StoredRequest,
  WriteResult,
} from "../ports";

export interface CacheLimits {
  /** How long a read is served from memory, counted from when it started. */
  ttlMs: number;
  maxEntries: number;
  now?: () => number;
}

/**
 * Reads by key, each kept for `ttlMs` from when it started (so nothing older than that is ever
 * served), the oldest dropped beyond `maxEntries`. Concurrent reads of a key share one read; a
 * failed read is not kept; `drop` makes the next read go to storage, even one that had started.
 */
export class ReadCache<V> {
  private readonly entries = new Map<string, { value: Promise<V>; expiresAt: number }>();
  private readonly now: () => number;

  constructor(private readonly limits: CacheLimits) {
    this.now = limits.now ?? Date.now;
  }

  read(key: string, load: () => Promise<V>): Promise<V> {
    const now = this.now();
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > now) return hit.value;
    const entry = { value: load(), expiresAt: now + this.limits.ttlMs };
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > this.limits.maxEntries)
      this.entries.delete(this.entries.keys().next().value as string);
    entry.value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return entry.value;
  }

  drop(key: string): void {
    this.entries.delete(key);
  }

  /** Applies a change this instance made to the kept value, if there is one, without a read. */
  patch(key: string, change: (value: V) => V): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    entry.value = entry.value.then(change);
    // A read that fails is dropped (above) and answered to its own callers; this copy of it is not.
    entry.value.catch(() => undefined);
  }
}

export class CachedStoreRepository implements StoreRepository {
  private readonly cache: ReadCache<StoreRegistration | undefined>;

  constructor(
    private readonly inner: StoreRepository,
    limits: CacheLimits,
  ) {
    this.cache = new ReadCache(limits);
  }

  get(storeId: string): Promise<StoreRegistration | undefined> {
    return this.cache.read(storeId, () => this.inner.get(storeId));
  }

  async put(registration: StoreRegistration): Promise<void> {
    try {
      await this.inner.put(registration);
    } finally {
      this.cache.drop(registration.storeId);
    }
  }

  /** Reconciliation's walk over every store: always read, as it runs only every few minutes. */
  list(): Promise<StoreRegistration[]> {
    return this.inner.list();
  }
}

export class CachedLinkRepository implements LinkRepository {
  private readonly cache: ReadCache<WorkflowLink | undefined>;

  constructor(
    private readonly inner: LinkRepository,
    limits: CacheLimits,
  ) {
    this.cache = new ReadCache(limits);
  }

  get(storeId: string, workflowId: string): Promise<WorkflowLink | undefined> {
    return this.cache.read(linkKey(storeId, workflowId), () => this.inner.get(storeId, workflowId));
  }

  put(link: WorkflowLink): Promise<void> {
    return this.changing(link.storeId, link.workflowId, () => this.inner.put(link));
  }

  delete(storeId: string, workflowId: string): Promise<boolean> {
    return this.changing(storeId, workflowId, () => this.inner.delete(storeId, workflowId));
  }

  /** Lists are for admin pages: read through, never cached. */
  list(storeId: string): Promise<WorkflowLink[]> {
    return this.inner.list(storeId);
  }

  /** A link seen to claim stays in memory, marked: every trigger to it would read it again else. */
  async markClaiming(storeId: string, workflowId: string): Promise<void> {
    await this.inner.markClaiming(storeId, workflowId);
    this.cache.patch(linkKey(storeId, workflowId), (link) => link && { ...link, claims: true });
  }

  private async changing<T>(storeId: string, workflowId: string, write: () => Promise<T>) {
    try {
      return await write();
    } finally {
      this.cache.drop(linkKey(storeId, workflowId));
    }
  }
}

/** Ids cannot contain "/", so this names one link. */
function linkKey(storeId: string, workflowId: string): string {
  return `${storeId}/${workflowId}`;
}

export interface RememberLimits {
  /** How long a written version is remembered. */
  ttlMs: number;
  /** Bound on what is remembered, counted as the characters of documents and history. */
  maxChars: number;
  now?: () => number;
}

/**
 * The request repository, remembering for a while the version of each open request this instance
 * wrote last (bounded in size and time), so that the flow's next callback can write against it
 * without reading it first: the claim after the dispatcher's record, the decision after the claim.
 * Anything else is passed through; every read goes to Table Storage.
 */
export class RememberingRequestRepository implements RequestRepository {
  private readonly remembered = new Map<
    string,
    { stored: StoredRequest; chars: number; until: number }
  >();
  private chars = 0;
  private readonly now: () => number;

  constructor(
    private readonly inner: RequestRepository,
    private readonly limits: RememberLimits,
  ) {
    this.now = limits.now ?? Date.now;
  }

  get(storeId: string, requestId: string): Promise<StoredRequest | undefined> {
    return this.inner.get(storeId, requestId);
  }

  create(request: RelayRequest, payloadJson: string): Promise<WriteResult> {
    return this.inner.create(request, payloadJson);
  }

  async replace(next: RelayRequest, current: StoredRequest): Promise<StoredRequest | "conflict"> {
    const key = requestKey(next.storeId, next.requestId);
    const written = await this.inner.replace(next, current).catch((error: unknown) => {
      this.forget(key);
      throw error;
    });
    if (written === "conflict" || FINAL_STATES.has(next.state)) this.forget(key);
    else this.remember(key, written);
    return written;
  }

  lastWritten(storeId: string, requestId: string): StoredRequest | undefined {
    const key = requestKey(storeId, requestId);
    const entry = this.remembered.get(key);
    if (entry && entry.until > this.now()) return entry.stored;
    if (entry) this.forget(key);
    return undefined;
  }

  getPayload(storeId: string, requestId: string): Promise<string | undefined> {
    return this.inner.getPayload(storeId, requestId);
  }

  list(storeId: string, state?: RequestState): Promise<RelayRequest[]> {
    return this.inner.list(storeId, state);
  }

  listWatched(storeId: string, page: { limit: number; after?: string }): Promise<string[]> {
    return this.inner.listWatched(storeId, page);
  }

  unwatch(storeId: string, requestId: string): Promise<void> {
    return this.inner.unwatch(storeId, requestId);
  }

  private remember(key: string, stored: StoredRequest): void {
    this.forget(key);
    const chars =
      (stored.payloadJson?.length ?? 0) +
      stored.value.history.reduce((sum, entry) => sum + entry.detail.length + 64, 0);
    if (chars > this.limits.maxChars / 100) return;
    this.remembered.set(key, { stored, chars, until: this.now() + this.limits.ttlMs });
    this.chars += chars;
    for (const [oldest, entry] of this.remembered) {
      if (this.chars <= this.limits.maxChars) break;
      this.remembered.delete(oldest);
      this.chars -= entry.chars;
    }
  }

  private forget(key: string): void {
    const entry = this.remembered.get(key);
    if (!entry) return;
    this.remembered.delete(key);
    this.chars -= entry.chars;
  }
}

function requestKey(storeId: string, requestId: string): string {
  return `${storeId}/${requestId}`;
}
