import { randomUUID } from "node:crypto";
import type { AddressInfo, Server, Socket } from "node:net";
import { create_container, message as rheaMessage } from "rhea";
import type {
  AmqpError,
  Connection,
  Container,
  Delivery,
  EventContext,
  Message,
  Receiver,
  Sender,
} from "rhea";
import {
  deliveryTagToLockToken,
  lockTokenToDeliveryTag,
  messagesOfTransfer,
  toOutgoingMessage,
  sendOptionsOf,
} from "./amqp-codec";
import type { EmulatorConfig, QueueSettings } from "./config";
import { handleManagementRequest } from "./management";
import type { ManagementResponse } from "./management";
import type { JournalChanges, MessageJournal } from "./message-journal";
import { QueueStore } from "./queue-store";
import type { Clock, ReceiveMode, Settlement, StoredMessage, SubQueue } from "./queue-store";

/** Largest message accepted and advertised on links (Azure Standard tier: 256 KB). */
const MAX_MESSAGE_SIZE = 256 * 1024;
const SESSION_FILTER = "com.microsoft:session-filter";
const DEAD_LETTER_SEGMENT = "$deadletterqueue";
const MANAGEMENT_SEGMENT = "$management";
const CBS_ADDRESS = "$cbs";

/*
 * rhea's typings leave out link state this server needs: the attach it answers with, the
 * sender's credit bookkeeping (see Consumer and answerDrain), and the call that makes the
 * connection write pending frames.
 */
interface LinkInternals {
  local: {
    attach: {
      source?: unknown;
      target?: unknown;
      snd_settle_mode?: number;
      rcv_settle_mode?: number;
      max_message_size?: number;
    };
  };
  remote: { attach?: { source?: unknown; target?: unknown } };
}
interface SenderInternals extends LinkInternals {
  credit: number;
  delivery_count: number;
  _draining: boolean;
  _drained: boolean;
  _get_drain(): boolean;
  session: { outgoing: { available(): number } };
  connection: { _register(): void };
}
interface DeliveryInternals {
  remote_settled: boolean;
}

const internals = <T>(value: unknown) => value as T;

/** Delivery outcomes rhea implements but does not declare. */
type DescribedOutcome = { described(): unknown };
const outcomes = rheaMessage as unknown as {
  accepted(): DescribedOutcome;
  rejected(fields: { error: AmqpError }): DescribedOutcome;
};

interface QueueEntity {
  settings: QueueSettings;
  store: QueueStore<Message>;
  consumers: Record<SubQueue, Consumer[]>;
  /** Round-robin position per sub-queue, so competing receivers share the load. */
  nextConsumer: Record<SubQueue, number>;
}

/** A receiver attached to a queue: messages flow to it as its link credit allows. */
interface Consumer {
  sender: Sender;
  queue: QueueEntity;
  subQueue: SubQueue;
  mode: ReceiveMode;
  /** Delivery count up to which the receiver has granted credit (AMQP flow control). */
  creditLimit: number;
  /** Deliveries sent on this link, plus credit consumed by drains. */
  deliveriesIssued: number;
}

type ResolvedAddress =
  | { kind: "cbs" }
  | { kind: "queue" | "management"; queue: QueueEntity; subQueue: SubQueue }
  | { kind: "refused"; error: AmqpError };

export interface ServerOptions {
  host: string;
  port: number;
  config: EmulatorConfig;
  log: (line: string) => void;
  clock: Clock;
  /** Where the queues are kept; without one they live in memory only. */
  journal?: MessageJournal;
}

/** An AMQP 1.0 endpoint that behaves like a Service Bus namespace with the configured queues. */
export class EmulatorServer {
  private readonly container: Container = create_container({
    id: "servicebus-emulator",
    // Settlement is the broker's decision (complete/abandon/defer/dead-letter), never automatic.
    autoaccept: false,
    autosettle: false,
    treat_modified_as_released: false,
  });
  private readonly queues = new Map<string, QueueEntity>();
  private readonly consumersBySender = new Map<Sender, Consumer>();
  private readonly sockets = new Set<Socket>();
  private listener: Server | undefined;
  private wakeUpTimer: NodeJS.Timeout | undefined;
  private confirmations = Promise.resolve();

  constructor(private readonly options: ServerOptions) {
    for (const settings of options.config.queues) {
      this.queues.set(settings.name.toLowerCase(), {
        settings,
        store: new QueueStore<Message>(settings, options.clock, randomUUID, {
          recordChanges: options.journal !== undefined,
        }),
        consumers: { main: [], deadLetter: [] },
        nextConsumer: { main: 0, deadLetter: 0 },
      });
    }
    this.container.on("sender_open", (context: EventContext) => this.onSenderOpen(context));
    this.container.on("receiver_open", (context: EventContext) => this.onReceiverOpen(context));
    this.container.on("message", (context: EventContext) => this.onMessage(context));
    for (const event of ["sender_flow", "sendable"]) {
      this.container.on(event, (context: EventContext) => this.onCredit(context.sender!));
    }
    this.container.on("sender_draining", (context: EventContext) => this.onDrain(context.sender!));
    for (const event of ["accepted", "released", "modified", "rejected"]) {
      this.container.on(event, (context: EventContext) => this.onDisposition(context));
    }
    this.container.on("sender_close", (context: EventContext) =>
      this.removeConsumer(context.sender!),
    );
    this.container.on("disconnected", (context: EventContext) =>
      this.onConnectionGone(context.connection),
    );
    this.container.on("connection_close", (context: EventContext) =>
      this.onConnectionGone(context.connection),
    );
    for (const event of ["error", "connection_error", "protocol_error"]) {
      this.container.on(event, (payload: unknown) =>
        this.options.log(`AMQP ${event}: ${describe(payload)}`),
      );
    }
  }

  get queueNames(): string[] {
    return [...this.queues.values()].map((queue) => queue.settings.name);
  }

  /** Restores the saved queues, then listens; resolves with the bound port. */
  async listen(): Promise<number> {
    const { journal } = this.options;
    if (journal) {
      for (const queue of this.queues.values()) {
        queue.store.restore(await journal.load(queue.settings.name));
      }
    }
    const port = await this.bind();
    // Restoring may have changed messages (locks released), and scheduled ones need a timer.
    this.afterStateChange();
    return port;
  }

  /** Rejects when the port is taken. */
  private bind(): Promise<number> {
    return new Promise((resolve, reject) => {
      const listener = this.container.listen({ host: this.options.host, port: this.options.port });
      listener.on("connection", (socket: Socket) => {
        this.sockets.add(socket);
        socket.on("close", () => this.sockets.delete(socket));
      });
      listener.once("error", (error: NodeJS.ErrnoException) => {
        reject(
          error.code === "EADDRINUSE"
            ? new Error(`Port ${this.options.port} on ${this.options.host} is already in use`)
            : error,
        );
      });
      listener.once("listening", () => {
        this.listener = listener;
        resolve((listener.address() as AddressInfo).port);
      });
    });
  }

  async close(): Promise<void> {
    clearTimeout(this.wakeUpTimer);
    const listener = this.listener;
    this.listener = undefined;
    if (!listener) return;
    const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
    // Clients that are still connected get disconnected; a restart frees the locks they held.
    // Destroying with an error is what makes rhea tear its side down (it listens for "error"
    // and "end", not "close"); otherwise its heartbeat timer keeps the process alive.
    for (const socket of this.sockets) socket.destroy(new Error("the emulator is shutting down"));
    await closed;
  }

  // ---- attach ----------------------------------------------------------------------------

  private resolveAddress(address: string | undefined): ResolvedAddress {
    if (!address) return refused("amqp:invalid-field", "The link has no address.");
    if (address === CBS_ADDRESS) return { kind: "cbs" };
    const segments = address.split("/");
    const isManagement = segments[segments.length - 1].toLowerCase() === MANAGEMENT_SEGMENT;
    if (isManagement) segments.pop();
    if (segments.some((segment) => segment.toLowerCase() === "subscriptions")) {
      return refused(
        "amqp:not-implemented",
        `Topics and subscriptions are not supported by this emulator (address "${address}").`,
      );
    }
    const isDeadLetter = segments.length === 2 && segments[1].toLowerCase() === DEAD_LETTER_SEGMENT;
    const queue = this.queues.get(segments[0].toLowerCase());
    if (!queue || (segments.length === 2 && !isDeadLetter) || segments.length > 2) {
      return refused(
        "amqp:not-found",
        `The messaging entity '${address}' could not be found. Queues of this emulator: ${this.queueNames.join(", ")}.`,
      );
    }
    return {
      kind: isManagement ? "management" : "queue",
      queue,
      subQueue: isDeadLetter ? "deadLetter" : "main",
    };
  }

  /** The peer attached a receiving link: we send from a queue, or answer $cbs/$management on it. */
  private onSenderOpen(context: EventContext): void {
    const sender = context.sender!;
    const link = internals<SenderInternals>(sender);
    const source = sender.source as
      { address?: string; filter?: Record<string, unknown> } | undefined;
    const resolved = this.resolveAddress(source?.address);
    echoTermini(link);
    if (resolved.kind === "refused") return this.refuse(sender, resolved.error);
    if (resolved.kind !== "queue") {
      link.local.attach.snd_settle_mode = 1; // replies go out pre-settled
      return;
    }
    if (source?.filter && SESSION_FILTER in source.filter) {
      return this.refuse(sender, {
        condition: "amqp:not-implemented",
        description: "Sessions are not supported by this emulator.",
      });
    }
    // Mirror the receiver's settle modes: presettled deliveries mean receiveAndDelete.
    link.local.attach.snd_settle_mode = sender.snd_settle_mode;
    link.local.attach.rcv_settle_mode = sender.rcv_settle_mode;
    link.local.attach.max_message_size = MAX_MESSAGE_SIZE;
    answerEveryDrain(link);
    const consumer: Consumer = {
      sender,
      queue: resolved.queue,
      subQueue: resolved.subQueue,
      mode: sender.snd_settle_mode === 1 ? "receiveAndDelete" : "peekLock",
      creditLimit: 0,
      deliveriesIssued: 0,
    };
    resolved.queue.consumers[resolved.subQueue].push(consumer);
    this.consumersBySender.set(sender, consumer);
  }

  /** The peer attached a sending link: to a queue, or requests to $cbs/$management. */
  private onReceiverOpen(context: EventContext): void {
    const receiver = context.receiver!;
    const link = internals<LinkInternals>(receiver);
    const target = receiver.target as { address?: string } | undefined;
    const resolved = this.resolveAddress(target?.address);
    echoTermini(link);
    link.local.attach.max_message_size = MAX_MESSAGE_SIZE;
    if (resolved.kind === "refused") return this.refuse(receiver, resolved.error);
    if (resolved.kind === "queue" && resolved.subQueue === "deadLetter") {
      return this.refuse(receiver, {
        condition: "amqp:not-allowed",
        description: "Messages cannot be sent to a dead-letter queue.",
      });
    }
  }

  private refuse(link: Sender | Receiver, error: AmqpError): void {
    this.options.log(
      `refused attach of link "${link.name}": ${error.condition} ${error.description}`,
    );
    link.close(error);
  }

  // ---- incoming messages -----------------------------------------------------------------

  private onMessage(context: EventContext): void {
    const receiver = context.receiver!;
    const delivery = context.delivery!;
    const address = (receiver.target as { address?: string } | undefined)?.address;
    const resolved = this.resolveAddress(address);
    try {
      const answer = this.apply(resolved, context);
      this.whenDurable(
        () => {
          answer();
          delivery.accept();
        },
        (error) => delivery.reject({ condition: "amqp:internal-error", description: error }),
      );
      // New messages, or a settlement through $management (abandon, dead-letter), can make
      // messages available: receivers may already hold credit.
      if (resolved.kind === "queue" || resolved.kind === "management") {
        this.pumpQueue(resolved.queue);
      }
    } catch (error) {
      this.options.log(`rejected a message sent to "${address}": ${describe(error)}`);
      delivery.reject({ condition: "amqp:decode-error", description: describe(error) });
    }
    this.afterStateChange();
  }

  /** Applies a message sent to an entity; returns the reply to send once that is durable. */
  private apply(resolved: ResolvedAddress, context: EventContext): () => void {
    switch (resolved.kind) {
      case "cbs":
        return this.reply(
          context,
          { statusCode: 202, statusDescription: "Accepted" },
          "status-code",
        );
      case "management": {
        const response = handleManagementRequest(
          { store: resolved.queue.store, subQueue: resolved.subQueue },
          context.message as Message,
        );
        return this.reply(context, response, "statusCode");
      }
      case "queue":
        this.enqueue(resolved.queue, context);
        return () => undefined;
      case "refused":
        return () => undefined;
    }
  }

  private enqueue(queue: QueueEntity, context: EventContext): void {
    const messages = messagesOfTransfer(
      context.message as Message | Buffer,
      (context as { format?: number }).format,
    );
    for (const message of messages) queue.store.send(message, sendOptionsOf(message));
  }

  /**
   * The answer to a $cbs or $management request, sent on the link whose address is the
   * request's reply-to; throws at once when there is no such link.
   */
  private reply(
    context: EventContext,
    response: ManagementResponse,
    statusKey: "status-code" | "statusCode",
  ): () => void {
    const request = context.message as Message;
    // The SDK's reply link is named after, or targets, the reply-to address (same session).
    const replySender = context.session!.find_sender(
      (sender: Sender) =>
        sender.name === request.reply_to ||
        (sender.target as { address?: string } | undefined)?.address === request.reply_to,
    ) as Sender | undefined;
    if (!replySender) throw new Error(`no reply link for "${String(request.reply_to)}"`);
    const descriptionKey = statusKey === "statusCode" ? "statusDescription" : "status-description";
    const properties: Record<string, unknown> = { [statusKey]: response.statusCode };
    if (response.statusDescription) properties[descriptionKey] = response.statusDescription;
    if (response.errorCondition) properties.errorCondition = response.errorCondition;
    return () =>
      replySender.send({
        correlation_id: request.message_id,
        application_properties: properties,
        body: response.body,
      });
  }

  // ---- outgoing messages -----------------------------------------------------------------

  private onCredit(sender: Sender): void {
    const consumer = this.consumersBySender.get(sender);
    if (!consumer) return;
    const link = internals<SenderInternals>(sender);
    // rhea has just applied the peer's flow: credit + delivery_count is the granted limit.
    consumer.creditLimit = link.credit + link.delivery_count;
    this.pump(consumer.queue, consumer.subQueue);
    this.afterStateChange();
  }

  /** A draining receiver gets what is available now, and its remaining credit is consumed. */
  private onDrain(sender: Sender): void {
    const consumer = this.consumersBySender.get(sender);
    if (!consumer) return;
    this.pump(consumer.queue, consumer.subQueue);
    consumer.deliveriesIssued = Math.max(consumer.deliveriesIssued, consumer.creditLimit);
    // After the deliveries just made, which wait for the disk too.
    const drained = () => {
      sender.set_drained(true);
      // rhea writes the flow on its next pass over the connection, which only its own calls
      // schedule; a drain answered after the disk write has to ask for one.
      internals<SenderInternals>(sender).connection._register();
    };
    this.whenDurable(drained, drained);
  }

  private availableCredit(consumer: Consumer): number {
    const link = internals<SenderInternals>(consumer.sender);
    if (!consumer.sender.is_open() || link.session.outgoing.available() <= 0) return 0;
    return consumer.creditLimit - consumer.deliveriesIssued;
  }

  private pumpQueue(queue: QueueEntity): void {
    this.pump(queue, "main");
    this.pump(queue, "deadLetter");
  }

  /** Hands available messages to consumers with credit, round-robin. */
  private pump(queue: QueueEntity, subQueue: SubQueue): void {
    const consumers = queue.consumers[subQueue];
    let idleInARow = 0;
    while (consumers.length > 0 && idleInARow < consumers.length) {
      const index = queue.nextConsumer[subQueue] % consumers.length;
      queue.nextConsumer[subQueue] = index + 1;
      const consumer = consumers[index];
      if (this.availableCredit(consumer) <= 0) {
        idleInARow++;
        continue;
      }
      const message = queue.store.receive(subQueue, consumer.mode);
      if (!message) return;
      this.deliver(consumer, message);
      idleInARow = 0;
    }
  }

  /** The delivery goes out once its delivery count is on disk, so a restart counts it. */
  private deliver(consumer: Consumer, message: StoredMessage<Message>): void {
    const outgoing = toOutgoingMessage(message, { purpose: "delivery" });
    const tag = lockTokenToDeliveryTag(message.lock?.token ?? randomUUID());
    consumer.deliveriesIssued++;
    this.whenDurable(() => {
      // A link that closed meanwhile: the message stays locked until its lock expires.
      if (consumer.sender.is_open()) consumer.sender.send(outgoing, tag);
    });
  }

  // ---- settlement ------------------------------------------------------------------------

  private onDisposition(context: EventContext): void {
    const delivery = context.delivery!;
    const consumer = this.consumersBySender.get(context.sender!);
    const settlement = consumer && settlementOf(delivery);
    if (!consumer || !settlement) return;
    const result = consumer.queue.store.settle(deliveryTagToLockToken(delivery.tag), settlement);
    const outcome =
      result === "settled"
        ? outcomes.accepted()
        : outcomes.rejected({
            error:
              result === "lockLost"
                ? {
                    condition: "com.microsoft:message-lock-lost",
                    description:
                      "The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue.",
                  }
                : {
                    condition: "amqp:not-allowed",
                    description: "A dead-lettered message cannot be dead-lettered again.",
                  },
          });
    const answer = (settledOutcome: DescribedOutcome) => {
      delivery.update(true, settledOutcome.described());
      // Both sides are done once we settle: let rhea drop the delivery from its session window.
      internals<DeliveryInternals>(delivery).remote_settled = true;
    };
    this.whenDurable(
      () => answer(outcome),
      (error) =>
        answer(
          outcomes.rejected({ error: { condition: "amqp:internal-error", description: error } }),
        ),
    );
    // Abandon makes the message available again; dead-lettering makes it available in the DLQ.
    this.pumpQueue(consumer.queue);
    this.afterStateChange();
  }

  // ---- link and connection teardown ------------------------------------------------------

  private removeConsumer(sender: Sender): void {
    const consumer = this.consumersBySender.get(sender);
    if (!consumer) return;
    this.consumersBySender.delete(sender);
    const consumers = consumer.queue.consumers[consumer.subQueue];
    consumers.splice(consumers.indexOf(consumer), 1);
    // Messages it holds stay locked until their lock expires, as in Azure.
  }

  private onConnectionGone(connection: Connection): void {
    for (const sender of [...this.consumersBySender.keys()]) {
      if (sender.connection === connection) this.removeConsumer(sender);
    }
  }

  // ---- durability ------------------------------------------------------------------------

  /**
   * Runs `confirm` once every change so far is on disk, so that nothing the emulator confirms
   * to a client (a send, a schedule, a settlement, a delivery and its count) is lost if the
   * process is killed. Without a journal it runs at once.
   */
  private whenDurable(confirm: () => void, onFailure?: (description: string) => void): void {
    const { journal } = this.options;
    if (!journal) return confirm();
    const written = journal.commit(() => this.takeChanges());
    written.catch(() => undefined); // handled below, possibly after it settled
    // Confirmations go out in the order the changes were made (deliveries before a drain).
    this.confirmations = this.confirmations
      .then(() => written)
      .then(confirm, (error: unknown) =>
        onFailure?.(`The emulator could not save the change: ${describe(error)}`),
      )
      .catch((error: unknown) => this.options.log(`could not answer a client: ${describe(error)}`));
  }

  private takeChanges(): JournalChanges {
    return [...this.queues.values()].map((queue) => ({
      queueName: queue.settings.name,
      changes: queue.store.takeChanges(),
    }));
  }

  // ---- time ------------------------------------------------------------------------------

  /** Wakes up when the next lock expires, scheduled message is due or message expires. */
  private afterStateChange(): void {
    // Changes nobody waits for (lock expiry, scheduled enqueue, expiry) are saved too.
    this.whenDurable(() => undefined);
    clearTimeout(this.wakeUpTimer);
    this.wakeUpTimer = undefined;
    if (!this.listener) return;
    const dueTimes = [...this.queues.values()]
      .map((queue) => queue.store.nextDueAt())
      .filter((due): due is number => due !== undefined);
    if (dueTimes.length === 0) return;
    const delay = Math.max(0, Math.min(...dueTimes) - this.options.clock.now());
    this.wakeUpTimer = setTimeout(() => this.onWakeUp(), Math.min(delay, 2 ** 31 - 1));
  }

  private onWakeUp(): void {
    for (const queue of this.queues.values()) {
      queue.store.advance();
      this.pumpQueue(queue);
    }
    this.afterStateChange();
  }
}

function refused(condition: string, description: string): ResolvedAddress {
  return { kind: "refused", error: { condition, description } };
}

/** Answer the attach with the peer's own source and target, as a broker does. */
function echoTermini(link: LinkInternals): void {
  link.local.attach.source = link.remote.attach?.source;
  link.local.attach.target = link.remote.attach?.target;
}

/*
 * rhea only marks a flow as "drained" while the sender still holds credit. When the last
 * deliveries are in flight as the receiver asks to drain, the answer would lack the flag and
 * the SDK would wait for it until it times out. Every drain gets a drained flow here.
 */
function answerEveryDrain(link: SenderInternals): void {
  const consumeCredit = link._get_drain.bind(link);
  link._get_drain = () => {
    if (!(link._draining && link._drained)) return false;
    consumeCredit();
    return true;
  };
}

/** The settlement a receiver asked for, from the outcome of its disposition. */
function settlementOf(delivery: Delivery): Settlement | undefined {
  const state = delivery.remote_state as
    | {
        error?: AmqpError & { info?: Record<string, unknown> };
        undeliverable_here?: boolean;
        message_annotations?: Record<string, unknown>;
      }
    | undefined;
  const stateName = (delivery.remote_state?.constructor as { composite_type?: string } | undefined)
    ?.composite_type;
  switch (stateName) {
    case "accepted":
      return { kind: "complete" };
    case "released":
      return { kind: "abandon" };
    case "modified":
      return {
        kind: state?.undeliverable_here ? "defer" : "abandon",
        propertiesToModify: state?.message_annotations,
      };
    case "rejected": {
      const { DeadLetterReason, DeadLetterErrorDescription, ...propertiesToModify } =
        state?.error?.info ?? {};
      return {
        kind: "deadLetter",
        reason: DeadLetterReason as string | undefined,
        description: DeadLetterErrorDescription as string | undefined,
        propertiesToModify,
      };
    }
    default:
      return undefined;
  }
}

function describe(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value === "object" && value !== null) {
    const { condition, description } = value as Partial<AmqpError>;
    if (condition) return `${condition} ${description ?? ""}`.trim();
  }
  return String(value);
}
