import type { QueueSettings } from "../../dev/servicebus-emulator/config";
import { QueueStore } from "../../dev/servicebus-emulator/queue-store";

// The queue state on its own, with a hand-driven clock: time-based rules without waiting.

function createStore(overrides: Partial<QueueSettings> = {}) {
  const clock = { time: 1_000_000, now: () => clock.time };
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
  const store = new QueueStore<string>(settings, clock, () => `token-${++tokens}`);
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
