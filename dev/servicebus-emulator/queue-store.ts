import type { QueueSettings } from "./config";
import { PriorityQueue } from "./priority-queue";
import { SortedNumbers } from "./sorted-numbers";

/** Time source, injectable so queue behaviour over time can be tested without waiting. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** `main` is the queue itself, `deadLetter` its `$DeadLetterQueue` sub-queue. */
export type SubQueue = "main" | "deadLetter";
export type ReceiveMode = "peekLock" | "receiveAndDelete";
export type MessageState = "active" | "deferred" | "scheduled";

export interface MessageLock {
  token: string;
  lockedUntil: number;
}

/** A message held by the broker. `P` is the message as the sender sent it, opaque here. */
export interface StoredMessage<P> {
  readonly sequenceNumber: number;
  readonly payload: P;
  readonly timeToLiveMs: number;
  enqueuedAt: number;
  expiresAt: number;
  /** Set while the message waits for its scheduled enqueue time. */
  scheduledAt: number | undefined;
  state: MessageState;
  /** How many times the message has been handed to a receiver, this delivery included. */
  deliveryAttempts: number;
  lock: MessageLock | undefined;
  /** Application properties set at settlement (abandon/defer/dead-letter), merged over the sent ones. */
  propertyUpdates: Record<string, unknown>;
}

export interface SendOptions {
  /** The message id as a comparable key, for duplicate detection. */
  messageId: string;
  timeToLiveMs?: number;
  scheduledEnqueueAt?: number;
}

export interface SendResult {
  sequenceNumber: number;
  /** True when duplicate detection dropped the message (the sender is still told it succeeded). */
  duplicate: boolean;
}

type PropertyUpdates = Record<string, unknown> | undefined;

export type Settlement =
  | { kind: "complete" }
  | { kind: "abandon"; propertiesToModify?: PropertyUpdates }
  | { kind: "defer"; propertiesToModify?: PropertyUpdates }
  | {
      kind: "deadLetter";
      reason?: string;
      description?: string;
      propertiesToModify?: PropertyUpdates;
    };

export type SettlementResult = "settled" | "lockLost" | "notAllowed";

/** A message as kept on disk: the lock itself is not kept, only whether one was held. */
export interface SavedMessage<P> extends Omit<StoredMessage<P>, "lock"> {
  subQueue: SubQueue;
  locked: boolean;
}

/** What a queue holds, as saved: enough to carry on after the process restarts. */
export interface QueueSnapshot<P> {
  nextSequenceNumber: number;
  messages: SavedMessage<P>[];
  /** messageId -> time until which a message with that id counts as a duplicate. */
  duplicateIds: Map<string, number>;
}

/** What changed since the last `takeChanges()`. */
export interface QueueChanges<P> {
  /** Set when a sequence number was handed out. */
  nextSequenceNumber: number | undefined;
  /** Messages added or changed, as they are now. */
  saved: SavedMessage<P>[];
  /** Sequence numbers of messages that left the queue. */
  removed: number[];
  /** Duplicate-detection entries: remembered until a time, or `undefined` when forgotten. */
  duplicateIds: Map<string, number | undefined>;
}

export interface QueueStoreOptions {
  /** Keep track of changes for `takeChanges()`, for a caller that saves the queue. */
  recordChanges?: boolean;
}

export const DEAD_LETTER_REASON_PROPERTY = "DeadLetterReason";
export const DEAD_LETTER_DESCRIPTION_PROPERTY = "DeadLetterErrorDescription";

/**
 * The state of one queue and its dead-letter sub-queue: ordering, locks, delivery counts,
 * scheduling, expiry and duplicate detection. No I/O and no timers: every operation first
 * applies whatever became due at `clock.now()`, and `nextDueAt()` tells the caller when to
 * come back so that waiting receivers can be served. Indexes keep every operation at
 * O(log n) plus what it hands out or what became due, however many messages wait.
 */
export class QueueStore<P> {
  private nextSequenceNumber = 1;
  private readonly subQueues: Record<SubQueue, Map<number, StoredMessage<P>>> = {
    main: new Map(),
    deadLetter: new Map(),
  };
  /** Each sub-queue's sequence numbers in order, for browsing. */
  private readonly browseOrder: Record<SubQueue, SortedNumbers> = {
    main: new SortedNumbers(),
    deadLetter: new SortedNumbers(),
  };
  /** sequenceNumber -> place in delivery order: the order messages entered their sub-queue. */
  private readonly queuePositions = new Map<number, number>();
  private nextQueuePosition = 0;
  /** Per sub-queue, the messages that can be handed out (active, unlocked) by queue position. */
  private readonly available: Record<SubQueue, PriorityQueue<number>> = {
    main: new PriorityQueue(),
    deadLetter: new PriorityQueue(),
  };
  /** sequenceNumber -> when the message is next due: lock expiry, scheduled enqueue or expiry. */
  private readonly dueTimes = new PriorityQueue<number>();
  private readonly lockIndex = new Map<string, { subQueue: SubQueue; sequenceNumber: number }>();
  /** messageId -> time until which a message with that id counts as a duplicate, soonest first. */
  private readonly duplicateHistory = new PriorityQueue<string>();
  private readonly changes:
    { sequenceNumber: boolean; messages: Set<number>; duplicateIds: Set<string> } | undefined;

  constructor(
    readonly settings: QueueSettings,
    private readonly clock: Clock,
    private readonly newLockToken: () => string,
    options: QueueStoreOptions = {},
  ) {
    if (options.recordChanges) {
      this.changes = { sequenceNumber: false, messages: new Set(), duplicateIds: new Set() };
    }
  }

  /**
   * Carries on from a saved state, on an empty store. Locks do not survive a restart: a message
   * that was locked is available again, the delivery it was locked for counted, as in Azure.
   */
  restore(snapshot: QueueSnapshot<P>): void {
    this.nextSequenceNumber = snapshot.messages.reduce(
      (next, saved) => Math.max(next, saved.sequenceNumber + 1),
      snapshot.nextSequenceNumber,
    );
    // Delivery order is enqueue order, as before the restart.
    const inEnqueueOrder = [...snapshot.messages].sort(
      (a, b) => a.enqueuedAt - b.enqueuedAt || a.sequenceNumber - b.sequenceNumber,
    );
    const wereLocked: Array<[SubQueue, StoredMessage<P>]> = [];
    for (const { subQueue, locked, ...saved } of inEnqueueOrder) {
      const message: StoredMessage<P> = { ...saved, lock: undefined };
      this.enqueue(subQueue, message);
      if (locked) wereLocked.push([subQueue, message]);
    }
    for (const [messageId, forgetAt] of snapshot.duplicateIds) {
      this.duplicateHistory.set(messageId, forgetAt);
    }
    for (const [subQueue, message] of wereLocked) {
      this.changed(message);
      this.afterFailedDelivery(subQueue, message);
    }
    this.advance();
  }

  /** Hands over what changed since the last call (nothing unless `recordChanges` is set). */
  takeChanges(): QueueChanges<P> {
    const taken: QueueChanges<P> = {
      nextSequenceNumber: undefined,
      saved: [],
      removed: [],
      duplicateIds: new Map(),
    };
    if (!this.changes) return taken;
    if (this.changes.sequenceNumber) taken.nextSequenceNumber = this.nextSequenceNumber;
    for (const sequenceNumber of this.changes.messages) {
      const saved = this.saved(sequenceNumber);
      if (saved) taken.saved.push(saved);
      else taken.removed.push(sequenceNumber);
    }
    for (const messageId of this.changes.duplicateIds) {
      taken.duplicateIds.set(messageId, this.duplicateHistory.get(messageId));
    }
    this.changes.sequenceNumber = false;
    this.changes.messages.clear();
    this.changes.duplicateIds.clear();
    return taken;
  }

  send(payload: P, options: SendOptions): SendResult {
    const now = this.advance();
    const sequenceNumber = this.nextSequenceNumber++;
    if (this.changes) this.changes.sequenceNumber = true;
    if (this.isDuplicate(options.messageId, now)) {
      return { sequenceNumber, duplicate: true };
    }
    const timeToLiveMs = Math.min(
      options.timeToLiveMs ?? Number.POSITIVE_INFINITY,
      this.settings.defaultMessageTimeToLiveMs,
    );
    const scheduledAt =
      options.scheduledEnqueueAt !== undefined && options.scheduledEnqueueAt > now
        ? options.scheduledEnqueueAt
        : undefined;
    const enqueuedAt = scheduledAt ?? now;
    this.enqueue("main", {
      sequenceNumber,
      payload,
      timeToLiveMs,
      enqueuedAt,
      expiresAt: enqueuedAt + timeToLiveMs,
      scheduledAt,
      state: scheduledAt === undefined ? "active" : "scheduled",
      deliveryAttempts: 0,
      lock: undefined,
      propertyUpdates: {},
    });
    this.changes?.messages.add(sequenceNumber);
    return { sequenceNumber, duplicate: false };
  }

  /** Cancels scheduled messages; sequence numbers that are not (or no longer) scheduled are ignored. */
  cancelScheduled(sequenceNumbers: readonly number[]): void {
    this.advance();
    for (const sequenceNumber of sequenceNumbers) {
      const message = this.subQueues.main.get(sequenceNumber);
      if (message?.state === "scheduled") {
        this.remove("main", message);
        this.changes?.messages.add(sequenceNumber);
      }
    }
  }

  /** Hands out the next available message: locked (peekLock) or removed (receiveAndDelete). */
  receive(subQueue: SubQueue, mode: ReceiveMode): StoredMessage<P> | undefined {
    const now = this.advance();
    const next = this.available[subQueue].first();
    if (!next) return undefined;
    return this.deliver(subQueue, this.subQueues[subQueue].get(next.item)!, mode, now);
  }

  /** Receives deferred messages by sequence number; fails with the first one that is not deferred. */
  receiveDeferred(
    subQueue: SubQueue,
    sequenceNumbers: readonly number[],
    mode: ReceiveMode,
  ): { messages: StoredMessage<P>[] } | { notFound: number } {
    const now = this.advance();
    const messages: StoredMessage<P>[] = [];
    for (const sequenceNumber of sequenceNumbers) {
      const message = this.subQueues[subQueue].get(sequenceNumber);
      if (message?.state !== "deferred" || message.lock !== undefined) {
        return { notFound: sequenceNumber };
      }
      messages.push(message);
    }
    return { messages: messages.map((message) => this.deliver(subQueue, message, mode, now)) };
  }

  settle(lockToken: string, settlement: Settlement): SettlementResult {
    this.advance();
    const located = this.findLocked(lockToken);
    if (!located) return "lockLost";
    const { subQueue, message } = located;
    if (settlement.kind === "deadLetter" && subQueue === "deadLetter") return "notAllowed";
    this.releaseLock(message);
    this.changed(message);
    switch (settlement.kind) {
      case "complete":
        this.remove(subQueue, message);
        break;
      case "abandon":
        Object.assign(message.propertyUpdates, settlement.propertiesToModify);
        this.afterFailedDelivery(subQueue, message);
        break;
      case "defer":
        Object.assign(message.propertyUpdates, settlement.propertiesToModify);
        message.state = "deferred";
        this.index(subQueue, message);
        break;
      case "deadLetter":
        Object.assign(message.propertyUpdates, settlement.propertiesToModify);
        this.moveToDeadLetter(message, settlement.reason, settlement.description);
        break;
    }
    return "settled";
  }

  /** Extends a lock by the queue's lock duration; `undefined` when the lock is gone. */
  renewLock(lockToken: string): number | undefined {
    const now = this.advance();
    const located = this.findLocked(lockToken);
    if (!located?.message.lock) return undefined;
    located.message.lock.lockedUntil = now + this.settings.lockDurationMs;
    this.index(located.subQueue, located.message);
    return located.message.lock.lockedUntil;
  }

  /** Browses messages (active, deferred and scheduled) from a sequence number on, without locking. */
  peek(subQueue: SubQueue, fromSequenceNumber: number, maxCount: number): StoredMessage<P>[] {
    this.advance();
    return this.browseOrder[subQueue]
      .take(fromSequenceNumber, maxCount)
      .map((sequenceNumber) => this.subQueues[subQueue].get(sequenceNumber)!);
  }

  /** When something next becomes due (lock expiry, scheduled enqueue, expiry), if ever. */
  nextDueAt(): number | undefined {
    return this.dueTimes.first()?.priority;
  }

  /**
   * Applies everything due by now (lock expiries, scheduled enqueues, message expiry) in the
   * order it became due, then forgets the message ids whose duplicate-detection window ended.
   */
  advance(): number {
    const now = this.clock.now();
    for (let due = this.dueTimes.first(); due && due.priority <= now; due = this.dueTimes.first()) {
      const subQueue: SubQueue = this.subQueues.main.has(due.item) ? "main" : "deadLetter";
      const message = this.subQueues[subQueue].get(due.item)!;
      this.dueTimes.delete(due.item);
      if (message.lock) {
        this.releaseLock(message);
        this.changed(message);
        this.afterFailedDelivery(subQueue, message);
      } else if (message.state === "scheduled") {
        this.activateScheduled(message);
      } else {
        this.expire(message);
      }
    }
    for (
      let forget = this.duplicateHistory.first();
      forget && forget.priority <= now;
      forget = this.duplicateHistory.first()
    ) {
      this.duplicateHistory.delete(forget.item);
      this.changes?.duplicateIds.add(forget.item);
    }
    return now;
  }

  private isDuplicate(messageId: string, now: number): boolean {
    const windowMs = this.settings.duplicateDetectionWindowMs;
    if (windowMs === undefined) return false;
    if (this.duplicateHistory.get(messageId) !== undefined) return true;
    this.duplicateHistory.set(messageId, now + windowMs);
    this.changes?.duplicateIds.add(messageId);
    return false;
  }

  private deliver(
    subQueue: SubQueue,
    message: StoredMessage<P>,
    mode: ReceiveMode,
    now: number,
  ): StoredMessage<P> {
    message.deliveryAttempts++;
    this.changed(message);
    if (mode === "receiveAndDelete") {
      this.remove(subQueue, message);
    } else {
      message.lock = {
        token: this.newLockToken(),
        lockedUntil: now + this.settings.lockDurationMs,
      };
      this.lockIndex.set(message.lock.token, { subQueue, sequenceNumber: message.sequenceNumber });
      this.index(subQueue, message);
    }
    return message;
  }

  /** Puts the message at the back of the sub-queue's delivery order. */
  private enqueue(subQueue: SubQueue, message: StoredMessage<P>): void {
    const { sequenceNumber } = message;
    this.subQueues[subQueue].set(sequenceNumber, message);
    this.browseOrder[subQueue].add(sequenceNumber);
    this.queuePositions.set(sequenceNumber, this.nextQueuePosition++);
    this.index(subQueue, message);
  }

  private remove(subQueue: SubQueue, message: StoredMessage<P>): void {
    const { sequenceNumber } = message;
    this.subQueues[subQueue].delete(sequenceNumber);
    this.browseOrder[subQueue].delete(sequenceNumber);
    this.queuePositions.delete(sequenceNumber);
    this.available[subQueue].delete(sequenceNumber);
    this.dueTimes.delete(sequenceNumber);
  }

  /** Brings the indexes up to date with a message whose lock, state or times changed. */
  private index(subQueue: SubQueue, message: StoredMessage<P>): void {
    const { sequenceNumber } = message;
    if (message.state === "active" && message.lock === undefined) {
      this.available[subQueue].set(sequenceNumber, this.queuePositions.get(sequenceNumber)!);
    } else {
      this.available[subQueue].delete(sequenceNumber);
    }
    // Dead-lettered messages never expire and are never scheduled: only their locks are due.
    const dueAt = message.lock?.lockedUntil ?? message.scheduledAt ?? message.expiresAt;
    if (Number.isFinite(dueAt)) this.dueTimes.set(sequenceNumber, dueAt);
    else this.dueTimes.delete(sequenceNumber);
  }

  private changed(message: StoredMessage<P>): void {
    this.changes?.messages.add(message.sequenceNumber);
  }

  /** The message with this sequence number as it is to be saved, if the queue still holds it. */
  private saved(sequenceNumber: number): SavedMessage<P> | undefined {
    for (const subQueue of ["main", "deadLetter"] as const) {
      const message = this.subQueues[subQueue].get(sequenceNumber);
      if (message) {
        const { lock, ...rest } = message;
        return {
          ...rest,
          propertyUpdates: { ...message.propertyUpdates },
          subQueue,
          locked: lock !== undefined,
        };
      }
    }
    return undefined;
  }

  private findLocked(
    lockToken: string,
  ): { subQueue: SubQueue; message: StoredMessage<P> } | undefined {
    const entry = this.lockIndex.get(lockToken);
    const message = entry && this.subQueues[entry.subQueue].get(entry.sequenceNumber);
    if (!entry || !message || message.lock?.token !== lockToken) return undefined;
    return { subQueue: entry.subQueue, message };
  }

  private releaseLock(message: StoredMessage<P>): void {
    if (message.lock) this.lockIndex.delete(message.lock.token);
    message.lock = undefined;
  }

  /** An abandon or a lost lock: the message is retried, or dead-lettered once out of attempts. */
  private afterFailedDelivery(subQueue: SubQueue, message: StoredMessage<P>): void {
    if (subQueue === "main" && message.deliveryAttempts >= this.settings.maxDeliveryCount) {
      this.moveToDeadLetter(
        message,
        "MaxDeliveryCountExceeded",
        `Message could not be consumed after ${this.settings.maxDeliveryCount} delivery attempts.`,
      );
    } else {
      this.index(subQueue, message);
    }
  }

  private activateScheduled(message: StoredMessage<P>): void {
    this.changed(message);
    message.state = "active";
    message.enqueuedAt = message.scheduledAt!;
    message.expiresAt = message.enqueuedAt + message.timeToLiveMs;
    message.scheduledAt = undefined;
    // Enqueued anew, so the message queues behind what was already enqueued.
    this.enqueue("main", message);
  }

  private expire(message: StoredMessage<P>): void {
    this.changed(message);
    if (this.settings.deadLetteringOnMessageExpiration) {
      this.moveToDeadLetter(
        message,
        "TTLExpiredException",
        "The message expired and was dead lettered.",
      );
    } else {
      this.remove("main", message);
    }
  }

  private moveToDeadLetter(
    message: StoredMessage<P>,
    reason: string | undefined,
    description: string | undefined,
  ): void {
    this.changed(message);
    this.remove("main", message);
    if (reason !== undefined) message.propertyUpdates[DEAD_LETTER_REASON_PROPERTY] = reason;
    if (description !== undefined) {
      message.propertyUpdates[DEAD_LETTER_DESCRIPTION_PROPERTY] = description;
    }
    // Dead-lettered messages stay until received: no expiry, no scheduling, no deferral.
    message.state = "active";
    message.expiresAt = Number.POSITIVE_INFINITY;
    this.enqueue("deadLetter", message);
  }
}
