import { randomUUID } from "node:crypto";
import { message as rheaMessage, string_to_uuid, types, uuid_to_string } from "rhea";
import type { Message } from "rhea";
import type { SendOptions, StoredMessage } from "./queue-store";

/** Message format of a batch transfer: each data section of the body is one encoded message. */
export const BATCH_MESSAGE_FORMAT = 0x80013700;

const UINT32_MAX = 0xffffffff;

const MESSAGE_STATE_CODE = { active: 0, deferred: 1, scheduled: 2 } as const;

export const ANNOTATION = {
  sequenceNumber: "x-opt-sequence-number",
  enqueuedTime: "x-opt-enqueued-time",
  lockedUntil: "x-opt-locked-until",
  scheduledEnqueueTime: "x-opt-scheduled-enqueue-time",
  messageState: "x-opt-message-state",
} as const;

/** The messages carried by one transfer: itself, or the messages inside a batch. */
export function messagesOfTransfer(
  payload: Message | Buffer,
  format: number | undefined,
): Message[] {
  if (!Buffer.isBuffer(payload)) return [payload];
  if (format !== BATCH_MESSAGE_FORMAT) {
    throw new Error(`unsupported message format ${format}`);
  }
  const envelope = rheaMessage.decode(payload);
  const body = envelope.body as { content: Buffer | Buffer[]; multiple?: boolean } | undefined;
  if (!body) return [];
  const encodedMessages = body.multiple ? (body.content as Buffer[]) : [body.content as Buffer];
  return encodedMessages.map(decodeMessage);
}

/** Reads an AMQP long (a number, or 8 big-endian bytes when rhea cannot fit it in a number). */
export function toLongNumber(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  if (Buffer.isBuffer(value) && value.length === 8) return Number(value.readBigInt64BE());
  throw new Error(`expected a long, got ${typeof value}`);
}

function toTimestamp(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime();
  if (typeof value === "number") return value;
  return undefined;
}

/** Duplicate detection compares message ids by value and type (strings, numbers, binaries). */
function messageIdKey(messageId: unknown): string {
  if (Buffer.isBuffer(messageId)) return `binary:${messageId.toString("hex")}`;
  return `${typeof messageId}:${String(messageId)}`;
}

/**
 * How the broker enqueues a sent message: its id (one is assigned when missing, as Azure
 * does; receivers and the SDK's lock renewal rely on it), TTL and scheduled enqueue time.
 */
export function sendOptionsOf(message: Message): SendOptions {
  if (message.message_id === undefined || message.message_id === null) {
    message.message_id = randomUUID().replace(/-/g, "");
  }
  return {
    messageId: messageIdKey(message.message_id),
    timeToLiveMs: message.ttl,
    scheduledEnqueueAt: toTimestamp(message.message_annotations?.[ANNOTATION.scheduledEnqueueTime]),
  };
}

/*
 * Lock tokens. The SDK reads the 16-byte delivery tag as a .NET Guid (first three groups
 * little-endian), while $management requests carry the token as an AMQP uuid in RFC order.
 * The emulator names a lock by its RFC string and swaps the byte order for the delivery tag.
 */
function swapGuidByteOrder(bytes: Buffer): Buffer {
  const order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
  return Buffer.from(order.map((index) => bytes[index]));
}

export function lockTokenToDeliveryTag(lockToken: string): Buffer {
  return swapGuidByteOrder(string_to_uuid(lockToken));
}

export function deliveryTagToLockToken(tag: Buffer | string): string {
  return uuid_to_string(swapGuidByteOrder(Buffer.isBuffer(tag) ? tag : Buffer.from(tag)));
}

export function lockTokenToUuid(lockToken: string) {
  return types.wrap_uuid(string_to_uuid(lockToken));
}

export function lockTokenFromUuid(value: unknown): string {
  if (Buffer.isBuffer(value) && value.length === 16) return uuid_to_string(value);
  if (typeof value === "string") return value.toLowerCase();
  throw new Error("malformed lock token");
}

export interface OutgoingView {
  /** Peeked messages report their state and the deliveries so far, and carry no lock. */
  purpose: "delivery" | "peek";
}

/**
 * The message a receiver sees: the bare message as sent, plus the broker's header and
 * annotations (sequence number, enqueued time, lock expiry, state) and settlement-time
 * property updates such as DeadLetterReason.
 */
export function toOutgoingMessage(stored: StoredMessage<Message>, view: OutgoingView): Message {
  const sent = stored.payload;
  const annotations: Record<string, unknown> = {
    ...(sent.message_annotations ?? {}),
    [ANNOTATION.sequenceNumber]: types.wrap_long(stored.sequenceNumber),
    [ANNOTATION.enqueuedTime]: types.wrap_timestamp(stored.enqueuedAt),
    [ANNOTATION.messageState]: types.wrap_int(MESSAGE_STATE_CODE[stored.state]),
  };
  if (stored.lock && view.purpose === "delivery") {
    annotations[ANNOTATION.lockedUntil] = types.wrap_timestamp(stored.lock.lockedUntil);
  }
  const outgoing: Message = {
    ...sent,
    // header: the deliveries before this one (peek: all deliveries so far)
    delivery_count:
      view.purpose === "delivery" ? stored.deliveryAttempts - 1 : stored.deliveryAttempts,
    message_annotations: annotations,
  };
  delete outgoing.delivery_annotations;
  if (stored.timeToLiveMs <= UINT32_MAX) outgoing.ttl = stored.timeToLiveMs;
  if (Object.keys(stored.propertyUpdates).length > 0) {
    outgoing.application_properties = {
      ...(sent.application_properties ?? {}),
      ...stored.propertyUpdates,
    };
  }
  return outgoing;
}

export function encodeMessage(message: Message): Buffer {
  return rheaMessage.encode(message);
}

export function decodeMessage(encoded: Buffer): Message {
  return rheaMessage.decode(encoded) as unknown as Message;
}
