import type { TokenCredential } from "@azure/identity";
import { ServiceBusClient, type ServiceBusSender } from "@azure/service-bus";
import {
  WORKFLOW_EVENTS_QUEUE,
  type HealthProbe,
  type MessageQueue,
  type OutgoingMessage,
  type QueueName,
} from "../ports";

/** A connection string (keys or the local emulator), or the namespace and a managed identity. */
export type ServiceBusConnection =
  { connectionString: string } | { fullyQualifiedNamespace: string; credential: TokenCredential };

const HEALTH_TIMEOUT_MS = 5000;

/** Sends step messages to the relay's queues; one AMQP connection, one sender per queue. */
export class ServiceBusMessageQueue implements MessageQueue {
  private readonly client: ServiceBusClient;
  private readonly senders = new Map<QueueName, ServiceBusSender>();

  /**
   * Peeks one message of `workflow-events`: a request the broker itself must answer, that needs
   * the same Listen right the triggers use and changes nothing on the queue.
   */
  readonly health: HealthProbe = {
    name: "service-bus",
    check: async () => {
      const receiver = this.client.createReceiver(WORKFLOW_EVENTS_QUEUE);
      try {
        await receiver.peekMessages(1, { abortSignal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
      } finally {
        await receiver.close();
      }
    },
  };

  constructor(connection: ServiceBusConnection) {
    this.client =
      "connectionString" in connection
        ? new ServiceBusClient(connection.connectionString)
        : new ServiceBusClient(connection.fullyQualifiedNamespace, connection.credential);
  }

  async send(queue: QueueName, message: OutgoingMessage): Promise<void> {
    const { body } = message;
    await this.sender(queue).sendMessages({
      // Deterministic ids let the queue's duplicate detection drop a second send of one step.
      messageId: message.messageId,
      body,
      contentType: "application/json",
      applicationProperties: {
        storeId: body.storeId,
        workflowId: body.workflowId,
        requestId: body.requestId,
        attempt: body.attempt,
      },
      scheduledEnqueueTimeUtc: message.notBefore,
    });
  }

  /** Closes the connection and, with it, every sender. */
  async close(): Promise<void> {
    await this.client.close();
  }

  private sender(queue: QueueName): ServiceBusSender {
    let sender = this.senders.get(queue);
    if (!sender) {
      sender = this.client.createSender(queue);
      this.senders.set(queue, sender);
    }
    return sender;
  }
}
