import fc from "fast-check";
import type { QueueSettings } from "../../dev/servicebus-emulator/config";
import { PriorityQueue } from "../../dev/servicebus-emulator/priority-queue";
import {
  QueueStore,
  type MessageState,
  type ReceiveMode,
  type Settlement,
  type StoredMessage,
  type SubQueue,
} from "../../dev/servicebus-emulator/queue-store";
import { SortedNumbers } from "../../dev/servicebus-emulator/sorted-numbers";
import { emptyDisk, save } from "../support/queue-disk";

// Random operation sequences against the queue store with a hand-driven clock, compared with a
// reference model that finds what is due by looking at every message, and checked against the
// queue's promises on their own: locks, FIFO, expiry, duplicate detection, delivery counts.

interface ModelMessage {
  sequenceNumber: number;
  payload: string;
  subQueue: SubQueue;
  /** Place in delivery order: when the message entered its sub-queue. */
  position: number;
  timeToLiveMs: number;
  enqueuedAt: number;
  expiresAt: number;
  scheduledAt: number | undefined;
  state: MessageState;
  deliveryAttempts: number;
  lock: { token: string; lockedUntil: number } | undefined;
  propertyUpdates: Record<string, unknown>;
}

type SettlementKind = "complete" | "abandon" | "defer" | "deadLetter";

const dueAtOf = (message: ModelMessage) =>
  message.lock?.lockedUntil ?? message.scheduledAt ?? message.expiresAt;
const byTimeThenSequence =
  (time: (message: ModelMessage) => number) => (a: ModelMessage, b: ModelMessage) =>
    time(a) - time(b) || a.sequenceNumber - b.sequenceNumber;

/** The queue's rules applied by scanning every message at every step. */
class QueueModel {
  messages: ModelMessage[] = [];
  duplicateIds = new Map<string, number>();
  nextSequenceNumber = 1;
  private nextPosition = 0;
  private tokens = 0;

  constructor(
    private readonly settings: QueueSettings,
    private readonly now: () => number,
  ) {}

  advance(): number {
    const now = this.now();
    for (;;) {
      const [due] = this.messages
        .filter((message) => dueAtOf(message) <= now)
        .sort(byTimeThenSequence(dueAtOf));
      if (!due) break;
      if (due.lock) {
        due.lock = undefined;
        this.afterFailedDelivery(due);
      } else if (due.state === "scheduled") {
        Object.assign(due, {
          state: "active",
          enqueuedAt: due.scheduledAt,
          expiresAt: due.scheduledAt! + due.timeToLiveMs,
          scheduledAt: undefined,
          position: this.nextPosition++,
        });
      } else if (this.settings.deadLetteringOnMessageExpiration) {
        this.deadLetter(due, "TTLExpiredException", "The message expired and was dead lettered.");
      } else {
        this.messages.splice(this.messages.indexOf(due), 1);
      }
    }
    for (const [messageId, forgetAt] of this.duplicateIds) {
      if (forgetAt <= now) this.duplicateIds.delete(messageId);
    }
    return now;
  }

  send(payload: string, messageId: string, ttl?: number, at?: number) {
    const now = this.advance();
    const sequenceNumber = this.nextSequenceNumber++;
    const windowMs = this.settings.duplicateDetectionWindowMs;
    if (windowMs !== undefined) {
      if (this.duplicateIds.has(messageId)) return { sequenceNumber, duplicate: true };
      this.duplicateIds.set(messageId, now + windowMs);
    }
    const timeToLiveMs = Math.min(ttl ?? Infinity, this.settings.defaultMessageTimeToLiveMs);
    const scheduledAt = at !== undefined && at > now ? at : undefined;
    const enqueuedAt = scheduledAt ?? now;
    this.messages.push({
      sequenceNumber,
      payload,
      subQueue: "main",
      position: this.nextPosition++,
      timeToLiveMs,
      enqueuedAt,
      expiresAt: enqueuedAt + timeToLiveMs,
      scheduledAt,
      state: scheduledAt === undefined ? "active" : "scheduled",
      deliveryAttempts: 0,
      lock: undefined,
      propertyUpdates: {},
    });
    return { sequenceNumber, duplicate: false };
  }

  receive(subQueue: SubQueue, mode: ReceiveMode): ModelMessage | undefined {
    const now = this.advance();
    const [next] = this.messages
      .filter((m) => m.subQueue === subQueue && m.state === "active" && !m.lock)
      .sort((a, b) => a.position - b.position);
    return next && this.deliver(next, mode, now);
  }

  receiveDeferred(
    subQueue: SubQueue,
    sequenceNumber: number,
    mode: ReceiveMode,
  ): { messages: ModelMessage[] } | { notFound: number } {
    const now = this.advance();
    const message = this.find(subQueue, sequenceNumber);
    if (message?.state !== "deferred" || message.lock) return { notFound: sequenceNumber };
    return { messages: [this.deliver(message, mode, now)] };
  }

  settle(token: string, kind: SettlementKind) {
    this.advance();
    const message = this.messages.find((m) => m.lock?.token === token);
    if (!message) return "lockLost";
    if (kind === "deadLetter" && message.subQueue === "deadLetter") return "notAllowed";
    message.lock = undefined;
    if (kind !== "complete") message.propertyUpdates.settledAs = kind;
    if (kind === "complete") this.messages.splice(this.messages.indexOf(message), 1);
    if (kind === "abandon") this.afterFailedDelivery(message);
    if (kind === "defer") message.state = "deferred";
    if (kind === "deadLetter") this.deadLetter(message, "Rejected", "by the test");
    return "settled";
  }

  renewLock(token: string): number | undefined {
    const now = this.advance();
    const lock = this.messages.find((m) => m.lock?.token === token)?.lock;
    if (lock) lock.lockedUntil = now + this.settings.lockDurationMs;
    return lock?.lockedUntil;
  }

  cancelScheduled(sequenceNumber: number): void {
    this.advance();
    const message = this.find("main", sequenceNumber);
    if (message?.state === "scheduled") this.messages.splice(this.messages.indexOf(message), 1);
  }

  peek(subQueue: SubQueue): ModelMessage[] {
    this.advance();
    return this.messages
      .filter((message) => message.subQueue === subQueue)
      .sort((a, b) => a.sequenceNumber - b.sequenceNumber);
  }

  nextDueAt(): number | undefined {
    const due = Math.min(...this.messages.map(dueAtOf));
    return Number.isFinite(due) ? due : undefined;
  }

  /** What a restart does: delivery order by enqueue time, held locks count as failed deliveries. */
  restart(): void {
    const wereLocked: ModelMessage[] = [];
    for (const message of [...this.messages].sort(byTimeThenSequence((m) => m.enqueuedAt))) {
      message.position = this.nextPosition++;
      if (message.lock) wereLocked.push(message);
      message.lock = undefined;
    }
    wereLocked.forEach((message) => this.afterFailedDelivery(message));
    this.advance();
  }

  private find(subQueue: SubQueue, sequenceNumber: number) {
    return this.messages.find(
      (m) => m.subQueue === subQueue && m.sequenceNumber === sequenceNumber,
    );
  }

  private deliver(message: ModelMessage, mode: ReceiveMode, now: number): ModelMessage {
    message.deliveryAttempts++;
    if (mode === "receiveAndDelete") this.messages.splice(this.messages.indexOf(message), 1);
    else {
      message.lock = {
        token: `token-${++this.tokens}`,
        lockedUntil: now + this.settings.lockDurationMs,
      };
    }
    return { ...message, propertyUpdates: { ...message.propertyUpdates } };
  }

  private afterFailedDelivery(message: ModelMessage): void {
    const { maxDeliveryCount } = this.settings;
    if (message.subQueue === "main" && message.deliveryAttempts >= maxDeliveryCount) {
      this.deadLetter(
        message,
        "MaxDeliveryCountExceeded",
        `Message could not be consumed after ${maxDeliveryCount} delivery attempts.`,
      );
    }
  }

  private deadLetter(message: ModelMessage, reason: string, description: string): void {
    Object.assign(message.propertyUpdates, {
      DeadLetterReason: reason,
      DeadLetterErrorDescription: description,
    });
    Object.assign(message, {
      subQueue: "deadLetter",
      state: "active",
      expiresAt: Infinity,
      position: this.nextPosition++,
    });
  }
}

/** The fields both sides have, as plain data. */
function observed(message: StoredMessage<string> | ModelMessage | undefined) {
  if (!message) return undefined;
  const { sequenceNumber, payload, timeToLiveMs, enqueuedAt, expiresAt, scheduledAt } = message;
  return {
    sequenceNumber,
    payload,
    timeToLiveMs,
    enqueuedAt,
    expiresAt,
    scheduledAt,
    state: message.state,
    deliveryAttempts: message.deliveryAttempts,
    lock: message.lock && { ...message.lock },
    propertyUpdates: { ...message.propertyUpdates },
  };
}

function settlementOf(kind: SettlementKind): Settlement {
  const propertiesToModify = { settledAs: kind };
  switch (kind) {
    case "complete":
      return { kind };
    case "deadLetter":
      return { kind, reason: "Rejected", description: "by the test", propertiesToModify };
    default:
      return { kind, propertiesToModify };
  }
}

const subQueueArbitrary = fc.constantFrom<SubQueue>("main", "deadLetter");
const modeArbitrary = fc.constantFrom<ReceiveMode>("peekLock", "receiveAndDelete");
const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });

const settingsArbitrary = fc.record({
  name: fc.constant("q"),
  lockDurationMs: fc.constant(1_000),
  maxDeliveryCount: fc.integer({ min: 1, max: 3 }),
  duplicateDetectionWindowMs: optional(fc.integer({ min: 500, max: 3_000 })),
  defaultMessageTimeToLiveMs: fc.oneof(
    fc.constant(Number.POSITIVE_INFINITY),
    fc.integer({ min: 1_000, max: 6_000 }),
  ),
  deadLetteringOnMessageExpiration: fc.boolean(),
});

const commandArbitrary = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("send" as const),
      messageId: fc.integer({ min: 0, max: 4 }),
      ttl: optional(fc.integer({ min: 1, max: 4_000 })),
      after: optional(fc.integer({ min: -1_000, max: 4_000 })),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("receive" as const),
      subQueue: subQueueArbitrary,
      mode: modeArbitrary,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("settle" as const),
      lock: fc.nat(3),
      settlement: fc.constantFrom<SettlementKind>("complete", "abandon", "defer", "deadLetter"),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("tick" as const), ms: fc.nat(1_500) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("renewLock" as const), lock: fc.nat(3) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("receiveDeferred" as const),
      subQueue: subQueueArbitrary,
      sequenceNumber: fc.integer({ min: 1, max: 30 }),
      mode: modeArbitrary,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("cancelScheduled" as const),
      sequenceNumber: fc.integer({ min: 1, max: 30 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("save" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("restart" as const) }) },
);

test("the queue store behaves as the reference model and keeps its promises", () => {
  fc.assert(
    fc.property(
      settingsArbitrary,
      fc.array(commandArbitrary, { maxLength: 80, size: "max" }),
      (settings, commands) => {
        const clock = { time: 1_000_000, now: () => clock.time };
        let tokens = 0;
        const newStore = () =>
          new QueueStore<string>(settings, clock, () => `token-${++tokens}`, {
            recordChanges: true,
          });
        let store = newStore();
        const model = new QueueModel(settings, clock.now);
        const disk = emptyDisk();
        const handedOut: Array<{ token: string; sequenceNumber: number }> = [];
        /** sequenceNumber -> until when the receiver it was handed to holds it. */
        const held = new Map<number, number>();
        /** messageId -> when a message with it was last accepted. */
        const accepted = new Map<string, number>();

        const delivered = (message: StoredMessage<string>) => {
          expect(held.get(message.sequenceNumber) ?? 0).toBeLessThanOrEqual(clock.time);
          expect(message.expiresAt).toBeGreaterThan(clock.time);
          held.delete(message.sequenceNumber);
          if (message.lock) {
            handedOut.push({ token: message.lock.token, sequenceNumber: message.sequenceNumber });
            held.set(message.sequenceNumber, message.lock.lockedUntil);
          }
        };
        // Settlements and renewals go to one of the last few locks handed out, stale or not.
        const lockAt = (recent: number) => handedOut.at(-1 - recent);

        commands.forEach((command, step) => {
          switch (command.kind) {
            case "send": {
              const messageId = `id-${command.messageId}`;
              const at = command.after === undefined ? undefined : clock.time + command.after;
              const sent = store.send(`m${step}`, {
                messageId,
                timeToLiveMs: command.ttl,
                scheduledEnqueueAt: at,
              });
              expect(sent).toEqual(model.send(`m${step}`, messageId, command.ttl, at));
              const windowMs = settings.duplicateDetectionWindowMs;
              if (windowMs !== undefined) {
                const within = clock.time < (accepted.get(messageId) ?? -Infinity) + windowMs;
                expect(sent.duplicate).toBe(within);
                if (!within) accepted.set(messageId, clock.time);
              }
              break;
            }
            case "receive": {
              // FIFO: the main queue hands out the earliest enqueued of its available messages.
              const [first] = store
                .peek("main", 0, Infinity)
                .filter((message) => message.state === "active" && !message.lock)
                .sort((a, b) => a.enqueuedAt - b.enqueuedAt || a.sequenceNumber - b.sequenceNumber);
              const message = store.receive(command.subQueue, command.mode);
              expect(observed(message)).toEqual(
                observed(model.receive(command.subQueue, command.mode)),
              );
              if (!message) break;
              delivered(message);
              if (command.subQueue === "main") {
                expect(message.sequenceNumber).toBe(first.sequenceNumber);
                expect(message.deliveryAttempts).toBeLessThanOrEqual(settings.maxDeliveryCount);
              }
              break;
            }
            case "receiveDeferred": {
              const { subQueue, sequenceNumber, mode } = command;
              const result = store.receiveDeferred(subQueue, [sequenceNumber], mode);
              const expected = model.receiveDeferred(subQueue, sequenceNumber, mode);
              if ("messages" in result && "messages" in expected) {
                expect(result.messages.map(observed)).toEqual(expected.messages.map(observed));
                result.messages.forEach(delivered);
              } else {
                expect(result).toEqual(expected);
              }
              break;
            }
            case "settle": {
              const lock = lockAt(command.lock);
              const token = lock?.token ?? "no-such-lock";
              const result = store.settle(token, settlementOf(command.settlement));
              expect(result).toBe(model.settle(token, command.settlement));
              if (result === "settled") held.delete(lock!.sequenceNumber);
              break;
            }
            case "renewLock": {
              const lock = lockAt(command.lock);
              const lockedUntil = store.renewLock(lock?.token ?? "no-such-lock");
              expect(lockedUntil).toBe(model.renewLock(lock?.token ?? "no-such-lock"));
              if (lockedUntil !== undefined) held.set(lock!.sequenceNumber, lockedUntil);
              break;
            }
            case "cancelScheduled":
              store.cancelScheduled([command.sequenceNumber]);
              model.cancelScheduled(command.sequenceNumber);
              break;
            case "tick":
              clock.time += command.ms;
              break;
            case "save":
              // As the emulator saves on waking up: what became due, then what changed.
              store.advance();
              save(disk, store.takeChanges());
              expect(disk.nextSequenceNumber).toBe(model.nextSequenceNumber);
              expect(
                [...disk.messages].sort((a, b) => a.sequenceNumber - b.sequenceNumber),
              ).toEqual(
                [...model.peek("main"), ...model.peek("deadLetter")]
                  .sort((a, b) => a.sequenceNumber - b.sequenceNumber)
                  .map(({ lock, position: _position, ...saved }) => ({
                    ...saved,
                    locked: lock !== undefined,
                  })),
              );
              expect(disk.duplicateIds).toEqual(model.duplicateIds);
              break;
            case "restart":
              save(disk, store.takeChanges());
              store = newStore();
              store.restore(disk);
              model.restart();
              held.clear();
              break;
          }
          expect(store.nextDueAt()).toBe(model.nextDueAt());
          for (const subQueue of ["main", "deadLetter"] as const) {
            expect(store.peek(subQueue, 0, Infinity).map(observed)).toEqual(
              model.peek(subQueue).map(observed),
            );
          }
        });
      },
    ),
    { numRuns: 300 },
  );
});

test("the priority queue hands out the smallest current priority, then the smallest item", () => {
  const operation = fc.oneof(
    { weight: 3, arbitrary: fc.tuple(fc.nat(15), fc.nat(50)) },
    { weight: 1, arbitrary: fc.tuple(fc.nat(15), fc.constant(undefined)) },
  );
  fc.assert(
    fc.property(fc.array(operation, { minLength: 150, maxLength: 400 }), (operations) => {
      const queue = new PriorityQueue<number>();
      const current = new Map<number, number>();
      return operations.every(([item, priority]) => {
        if (priority === undefined) {
          queue.delete(item);
          current.delete(item);
        } else {
          queue.set(item, priority);
          current.set(item, priority);
        }
        const [expected] = [...current].sort(([a, p], [b, q]) => p - q || a - b);
        const first = queue.first();
        return (
          first?.item === expected?.[0] &&
          first?.priority === expected?.[1] &&
          queue.get(item) === current.get(item)
        );
      });
    }),
    { numRuns: 50 },
  );
});

test("sorted numbers read on in order from any number, as chunks split and empty", () => {
  // A fill large enough to split chunks, described by two numbers so that failures shrink:
  // 0..size-1, in order (stride 1, as sequence numbers arrive) or scattered (a prime stride).
  const fill = fc.record({
    size: fc.nat(1_500),
    stride: fc.constantFrom(1, 7_919, 104_729),
  });
  const operation = fc.oneof(
    fc.record({ add: fc.nat(2_000) }),
    fc.record({ delete: fc.nat(2_000) }),
    // Deletes a whole run of numbers, as completions empty the head of a queue.
    fc.record({ deleteFrom: fc.nat(2_000), length: fc.nat(1_000) }),
    fc.record({ from: fc.integer({ min: -1, max: 2_001 }), count: fc.nat(700) }),
  );
  fc.assert(
    fc.property(fill, fc.array(operation, { maxLength: 40 }), ({ size, stride }, operations) => {
      const numbers = new SortedNumbers();
      for (let index = 0; index < size; index++) numbers.add((index * stride) % size);
      let model = Array.from({ length: size }, (_, index) => index); // ascending
      const inOrder = (from: number, count: number) =>
        model.filter((value) => value >= from).slice(0, count);
      const same = (a: number[], b: number[]) =>
        a.length === b.length && a.every((value, index) => value === b[index]);
      return (
        operations.every((next) => {
          if ("add" in next) {
            numbers.add(next.add);
            model = [...new Set([...model, next.add])].sort((a, b) => a - b);
          } else if ("delete" in next) {
            numbers.delete(next.delete);
            model = model.filter((value) => value !== next.delete);
          } else if ("deleteFrom" in next) {
            const last = next.deleteFrom + next.length;
            for (let value = next.deleteFrom; value < last; value++) numbers.delete(value);
            model = model.filter((value) => value < next.deleteFrom || value >= last);
          } else {
            return same(numbers.take(next.from, next.count), inOrder(next.from, next.count));
          }
          return true;
        }) && same(numbers.take(-1, Infinity), model)
      );
    }),
    { numRuns: 200 },
  );
});
