import { types } from "rhea";
import type { Message } from "rhea";
import {
  decodeMessage,
  encodeMessage,
  lockTokenFromUuid,
  lockTokenToUuid,
  toLongNumber,
  toOutgoingMessage,
  sendOptionsOf,
} from "./amqp-codec";
import type { QueueStore, ReceiveMode, Settlement, SubQueue } from "./queue-store";

/** The queue (or dead-letter sub-queue) a `<entity>/$management` request is about. */
export interface ManagementTarget {
  store: QueueStore<Message>;
  subQueue: SubQueue;
}

export interface ManagementResponse {
  statusCode: number;
  statusDescription?: string;
  errorCondition?: string;
  body?: unknown;
}

type RequestBody = Record<string, unknown>;

const OPERATION = {
  peek: "com.microsoft:peek-message",
  renewLock: "com.microsoft:renew-lock",
  scheduleMessages: "com.microsoft:schedule-message",
  cancelScheduled: "com.microsoft:cancel-scheduled-message",
  updateDisposition: "com.microsoft:update-disposition",
  receiveBySequenceNumber: "com.microsoft:receive-by-sequence-number",
} as const;

const ok = (body?: unknown): ManagementResponse => ({ statusCode: 200, body });

function failure(statusCode: number, errorCondition: string, description: string) {
  return { statusCode, errorCondition, statusDescription: description };
}

const lockLost = (lockToken: string) =>
  failure(
    410,
    "com.microsoft:message-lock-lost",
    `The lock supplied (${lockToken}) is invalid. Either the lock expired, or the message has already been removed from the queue.`,
  );

function arrayField(body: RequestBody, name: string): unknown[] {
  const value = body[name];
  if (!Array.isArray(value)) throw new Error(`missing "${name}"`);
  return value;
}

function peek(target: ManagementTarget, body: RequestBody): ManagementResponse {
  const from = toLongNumber(body["from-sequence-number"]);
  const count = Number(body["message-count"]);
  const messages = target.store.peek(target.subQueue, from, count);
  if (messages.length === 0) return { statusCode: 204, statusDescription: "No messages" };
  return ok({
    messages: messages.map((stored) => ({
      message: encodeMessage(toOutgoingMessage(stored, { purpose: "peek" })),
    })),
  });
}

function renewLock(target: ManagementTarget, body: RequestBody): ManagementResponse {
  const expirations: Date[] = [];
  for (const token of arrayField(body, "lock-tokens").map(lockTokenFromUuid)) {
    const lockedUntil = target.store.renewLock(token);
    if (lockedUntil === undefined) return lockLost(token);
    expirations.push(new Date(lockedUntil));
  }
  return ok({ expirations });
}

function scheduleMessages(target: ManagementTarget, body: RequestBody): ManagementResponse {
  const sequenceNumbers = arrayField(body, "messages").map((entry) => {
    const message = decodeMessage((entry as RequestBody).message as Buffer);
    return target.store.send(message, sendOptionsOf(message)).sequenceNumber;
  });
  return ok({ "sequence-numbers": types.wrap_array(sequenceNumbers, 0x81, undefined) });
}

function cancelScheduled(target: ManagementTarget, body: RequestBody): ManagementResponse {
  target.store.cancelScheduled(arrayField(body, "sequence-numbers").map(toLongNumber));
  return ok();
}

const DISPOSITIONS: Record<string, Settlement["kind"]> = {
  completed: "complete",
  abandoned: "abandon",
  defered: "defer", // sic: the SDK's spelling
  suspended: "deadLetter",
};

function updateDisposition(target: ManagementTarget, body: RequestBody): ManagementResponse {
  const kind = DISPOSITIONS[String(body["disposition-status"])];
  if (!kind) {
    return failure(400, "com.microsoft:argument-error", "unknown disposition-status");
  }
  const propertiesToModify = body["properties-to-modify"] as Record<string, unknown> | undefined;
  const settlement: Settlement =
    kind === "deadLetter"
      ? {
          kind,
          reason: body["deadletter-reason"] as string | undefined,
          description: body["deadletter-description"] as string | undefined,
          propertiesToModify,
        }
      : kind === "complete"
        ? { kind }
        : { kind, propertiesToModify };
  for (const token of arrayField(body, "lock-tokens").map(lockTokenFromUuid)) {
    const result = target.store.settle(token, settlement);
    if (result === "lockLost") return lockLost(token);
    if (result === "notAllowed") {
      return failure(
        400,
        "amqp:not-allowed",
        "A dead-lettered message cannot be dead-lettered again.",
      );
    }
  }
  return ok();
}

function receiveBySequenceNumber(target: ManagementTarget, body: RequestBody): ManagementResponse {
  const mode: ReceiveMode =
    Number(body["receiver-settle-mode"]) === 0 ? "receiveAndDelete" : "peekLock";
  const sequenceNumbers = arrayField(body, "sequence-numbers").map(toLongNumber);
  const result = target.store.receiveDeferred(target.subQueue, sequenceNumbers, mode);
  if ("notFound" in result) {
    return failure(
      404,
      "com.microsoft:message-not-found",
      `Failed to lock one or more specified messages. The deferred message with sequence number ${result.notFound} was not found.`,
    );
  }
  return ok({
    messages: result.messages.map((stored) => ({
      ...(stored.lock ? { "lock-token": lockTokenToUuid(stored.lock.token) } : {}),
      message: encodeMessage(toOutgoingMessage(stored, { purpose: "delivery" })),
    })),
  });
}

const HANDLERS: Record<
  string,
  (target: ManagementTarget, body: RequestBody) => ManagementResponse
> = {
  [OPERATION.peek]: peek,
  [OPERATION.renewLock]: renewLock,
  [OPERATION.scheduleMessages]: scheduleMessages,
  [OPERATION.cancelScheduled]: cancelScheduled,
  [OPERATION.updateDisposition]: updateDisposition,
  [OPERATION.receiveBySequenceNumber]: receiveBySequenceNumber,
};

/** Answers one request sent to `<queue>/$management`. */
export function handleManagementRequest(
  target: ManagementTarget,
  request: Message,
): ManagementResponse {
  const operation = String(request.application_properties?.operation ?? "");
  const handler = HANDLERS[operation];
  if (!handler) {
    return failure(
      501,
      "amqp:not-implemented",
      `The operation "${operation}" is not supported by this emulator (sessions, rules and topics are not).`,
    );
  }
  try {
    return handler(target, (request.body ?? {}) as RequestBody);
  } catch (error) {
    return failure(400, "com.microsoft:argument-error", (error as Error).message);
  }
}
