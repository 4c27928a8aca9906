import type { QueueSettings } from "../../dev/servicebus-emulator/config";
import { QueueStore } from "../../dev/servicebus-emulator/queue-store";
import { emptyDisk, save } from "../support/queue-disk";

// The queue state on its own, with a hand-driven clock: time-based rules without waiting.

function createStore(
  overrides: Partial<QueueSettings> = {},
  options: { recordChanges?: boolean; time?: number } = {},
) {
  const clock = { time: options.time ?? 1_000_000, now: () => clock.time };
  let tokens = 0;
  const settings: QueueSettings = {
    name: "q",
    lockDurationMs: 30_000,
    maxDeliveryCount: 3,
    duplicateDetectionWindowMs: undefined,
    defaultMessageTimeToLiveMs: Number.POSITIVE_INFINITY,
    deadLetteringOnMessageExpiration: false,
    ...overrides,
  };
  const store = new QueueStore<string>(settings, clock, () => `token-${++tokens}`, {
    recordChanges: options.recordChanges,
  });
  const send = (body: string, options: { messageId?: string; ttl?: number; at?: number } = {}) =>
    store.send(body, {
      messageId: options.messageId ?? body,
      timeToLiveMs: options.ttl,
      scheduledEnqueueAt: options.at,
    });
  return { store, clock, send };
}

test("a locked message is not handed to a competing receiver until its lock expires", () => {
  const { store, clock, send } = createStore();
  send("a");
  const first = store.receive("main", "peekLock")!;
  const lockToken = first.lock!.token;
  expect(store.receive("main", "peekLock")).toBeUndefined();
  expect(store.nextDueAt()).toBe(clock.time + 30_000);

  clock.time += 30_000;
  const second = store.receive("main", "peekLock")!;
  expect(second.payload).toBe("a");
  expect(second.deliveryAttempts).toBe(2);
  expect(store.settle(lockToken, { kind: "complete" })).toBe("lockLost");
  expect(store.settle(second.lock!.token, { kind: "complete" })).toBe("settled");
  expect(store.peek("main", 0, 10)).toEqual([]);
});

test("renewLock extends the lock by the lock duration", () => {
  const { store, clock, send } = createStore();
  send("a");
  const message = store.receive("main", "peekLock")!;
  clock.time += 20_000;
  expect(store.renewLock(message.lock!.token)).toBe(clock.time + 30_000);
  clock.time += 20_000;
  expect(store.receive("main", "peekLock")).toBeUndefined();
});

test("the last failed delivery at MaxDeliveryCount dead-letters the message", () => {
  const { store, send } = createStore({ maxDeliveryCount: 2 });
  send("poison");
  for (let attempt = 1; attempt <= 2; attempt++) {
    const message = store.receive("main", "peekLock")!;
    store.settle(message.lock!.token, { kind: "abandon" });
  }
  expect(store.receive("main", "peekLock")).toBeUndefined();
  const dead = store.receive("deadLetter", "receiveAndDelete")!;
  expect(dead.propertyUpdates).toMatchObject({ DeadLetterReason: "MaxDeliveryCountExceeded" });
});

test("duplicates are dropped within the detection window only", () => {
  const { store, clock, send } = createStore({ duplicateDetectionWindowMs: 60_000 });
  expect(send("a", { messageId: "id-1" }).duplicate).toBe(false);
  clock.time += 59_999;
  expect(send("b", { messageId: "id-1" }).duplicate).toBe(true);
  clock.time += 1;
  expect(send("c", { messageId: "id-1" }).duplicate).toBe(false);
  expect(store.peek("main", 0, 10).map((message) => message.payload)).toEqual(["a", "c"]);
});

test("scheduled messages become active at their time, behind what was already enqueued", () => {
  const { store, clock, send } = createStore();
  const { sequenceNumber } = send("later", { at: clock.time + 5_000 });
  send("now");
  expect(store.nextDueAt()).toBe(clock.time + 5_000);
  clock.time += 5_000;
  expect(store.receive("main", "receiveAndDelete")!.payload).toBe("now");
  const later = store.receive("main", "receiveAndDelete")!;
  expect(later.sequenceNumber).toBe(sequenceNumber);
  expect(later.enqueuedAt).toBe(clock.time);
});

test("expired messages are dropped, or dead-lettered when the queue says so", () => {
  for (const deadLetteringOnMessageExpiration of [false, true]) {
    const { store, clock, send } = createStore({
      defaultMessageTimeToLiveMs: 10_000,
      deadLetteringOnMessageExpiration,
    });
    send("short", { ttl: 1_000 });
    send("default");
    clock.time += 1_000;
    expect(store.peek("main", 0, 10).map((message) => message.payload)).toEqual(["default"]);
    clock.time += 9_000;
    expect(store.peek("main", 0, 10)).toEqual([]);
    const deadLettered = store.peek("deadLetter", 0, 10);
    expect(deadLettered).toHaveLength(deadLetteringOnMessageExpiration ? 2 : 0);
    deadLettered.forEach((message) =>
      expect(message.propertyUpdates.DeadLetterReason).toBe("TTLExpiredException"),
    );
  }
});

test("deferred messages are only received by sequence number", () => {
  const { store, send } = createStore();
  const { sequenceNumber } = send("a");
  store.settle(store.receive("main", "peekLock")!.lock!.token, { kind: "defer" });
  expect(store.receive("main", "peekLock")).toBeUndefined();
  expect(store.receiveDeferred("main", [sequenceNumber + 1], "peekLock")).toEqual({
    notFound: sequenceNumber + 1,
  });
  const result = store.receiveDeferred("main", [sequenceNumber], "peekLock");
  expect("messages" in result && result.messages[0].payload).toBe("a");
});

/** What a store's changes leave on disk, folded as the message journal writes them. */
test("takeChanges hands over sends, deliveries, settlements and duplicate ids once", () => {
  const { store, clock, send } = createStore(
    { duplicateDetectionWindowMs: 60_000 },
    { recordChanges: true },
  );
  send("a", { messageId: "id-1" });
  expect(store.takeChanges()).toEqual({
    nextSequenceNumber: 2,
    saved: [
      expect.objectContaining({
        sequenceNumber: 1,
        payload: "a",
        subQueue: "main",
        deliveryAttempts: 0,
        locked: false,
      }),
    ],
    removed: [],
    duplicateIds: new Map([["id-1", clock.time + 60_000]]),
  });
  expect(store.takeChanges()).toEqual({
    nextSequenceNumber: undefined,
    saved: [],
    removed: [],
    duplicateIds: new Map(),
  });

  const { lock } = store.receive("main", "peekLock")!;
  expect(store.takeChanges().saved).toEqual([
    expect.objectContaining({ sequenceNumber: 1, deliveryAttempts: 1, locked: true }),
  ]);
  store.settle(lock!.token, { kind: "complete" });
  clock.time += 60_000;
  store.advance();
  expect(store.takeChanges()).toMatchObject({
    saved: [],
    removed: [1],
    duplicateIds: new Map([["id-1", undefined]]),
  });
});

test("without recordChanges there is nothing to hand over", () => {
  const { store, send } = createStore({ duplicateDetectionWindowMs: 60_000 });
  send("a", { messageId: "id-1" });
  store.receive("main", "peekLock");
  expect(store.takeChanges()).toEqual({
    nextSequenceNumber: undefined,
    saved: [],
    removed: [],
    duplicateIds: new Map(),
  });
});

test("a store restored from its saved changes carries on where the old one stopped", () => {
  const settings = { maxDeliveryCount: 2, duplicateDetectionWindowMs: 60_000 };
  const before = createStore(settings, { recordChanges: true });
  const disk = emptyDisk();
  const { send, store, clock } = before;
  send("locked");
  send("dead");
  send("deferred");
  send("poison");
  const received = [1, 2, 3, 4].map(() => store.receive("main", "peekLock")!);
  store.settle(received[1].lock!.token, { kind: "deadLetter", reason: "Bad", description: "why" });
  store.settle(received[2].lock!.token, { kind: "defer" });
  store.settle(received[3].lock!.token, { kind: "abandon" });
  save(disk, store.takeChanges());
  store.receive("main", "peekLock"); // the poison message's last attempt, locked at the restart
  send("ready", { messageId: "ready-id" });
  const scheduled = send("scheduled", { at: clock.time + 5_000 });
  save(disk, store.takeChanges());

  const after = createStore(settings, { recordChanges: true, time: clock.time + 1_000 });
  after.store.restore(disk);
  // Released locks count their delivery; a last attempt goes to the dead-letter queue.
  const first = after.store.receive("main", "peekLock")!;
  expect([first.payload, first.deliveryAttempts]).toEqual(["locked", 2]);
  expect(after.store.receive("main", "receiveAndDelete")!.payload).toBe("ready");
  expect(after.store.receive("main", "receiveAndDelete")).toBeUndefined();
  const deadLetters = after.store.peek("deadLetter", 0, 10);
  expect(deadLetters.map((m) => [m.payload, m.propertyUpdates.DeadLetterReason])).toEqual([
    ["dead", "Bad"],
    ["poison", "MaxDeliveryCountExceeded"],
  ]);
  expect(after.store.takeChanges().saved.map((m) => [m.payload, m.subQueue])).toEqual(
    expect.arrayContaining([
      ["locked", "main"],
      ["poison", "deadLetter"],
    ]),
  );
  const deferred = after.store.receiveDeferred("main", [3], "receiveAndDelete");
  expect("messages" in deferred && deferred.messages[0].payload).toBe("deferred");
  // Duplicate detection and sequence numbers go on; the scheduled message keeps its time.
  expect(after.send("again", { messageId: "ready-id" }).duplicate).toBe(true);
  expect(after.send("new").sequenceNumber).toBe(scheduled.sequenceNumber + 2);
  after.clock.time = clock.time + 5_000;
  after.store.settle(first.lock!.token, { kind: "complete" });
  expect(after.store.receive("main", "receiveAndDelete")!.payload).toBe("new");
  const arrived = after.store.receive("main", "receiveAndDelete")!;
  expect([arrived.payload, arrived.enqueuedAt]).toEqual(["scheduled", clock.time + 5_000]);
});
