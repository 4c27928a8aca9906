import { randomUUID } from "node:crypto";
import {
  parseServiceBusConnectionString,
  ServiceBusClient,
  type ProcessErrorArgs,
  type ServiceBusReceivedMessage,
  type ServiceBusReceiver,
} from "@azure/service-bus";
import type { RpcTypedData } from "./core-api";
import type { RegisteredFunction } from "./core-module";
import { invokeFunction } from "./invoke";
import type { LoadedApp } from "./load-app";
import { describeError, logHost } from "./log";
import type { ServiceBusHostOptions } from "./settings";
import { StartupError } from "./startup-error";
import { waitAtMost } from "./wait";

/** The connection setting the Functions host uses when a trigger names none. */
const DEFAULT_CONNECTION_SETTING = "AzureWebJobsServiceBus";

export interface ServiceBusTrigger {
  fn: RegisteredFunction;
  /** The queue, or the topic when `subscriptionName` is set. */
  entityName: string;
  subscriptionName?: string;
  connectionSetting: string;
  connectionString: string;
  autoCompleteMessages: boolean;
  /** "binary" passes the body as bytes; otherwise it is passed as text, as the host does. */
  dataType: string | undefined;
}

/**
 * The app's Service Bus triggers, resolved against the settings. A missing connection setting or
 * an option the local host cannot honour is a startup error, so nothing silently never fires.
 */
export function serviceBusTriggers(
  app: LoadedApp,
  options: ServiceBusHostOptions,
  env: NodeJS.ProcessEnv = process.env,
): ServiceBusTrigger[] {
  const triggers: ServiceBusTrigger[] = [];
  for (const fn of app.functions) {
    const binding = Object.values(fn.metadata.bindings).find(
      (b) => b.type?.toLowerCase() === "servicebustrigger",
    );
    if (!binding) continue;
    const name = fn.metadata.name;
    if (binding.isSessionsEnabled === true) {
      throw new StartupError(
        `Function "${name}": session-enabled Service Bus triggers are not supported by the local host.`,
      );
    }
    if (binding.cardinality === "many") {
      throw new StartupError(
        `Function "${name}": Service Bus triggers with cardinality "many" are not supported by the local host.`,
      );
    }
    const connectionSetting =
      typeof binding.connection === "string" && binding.connection
        ? binding.connection
        : DEFAULT_CONNECTION_SETTING;
    const connectionString = env[connectionSetting];
    if (!connectionString) {
      throw new StartupError(
        `Function "${name}" needs the Service Bus connection setting "${connectionSetting}", which is not set.`,
      );
    }
    checkConnectionString(connectionSetting, connectionString);
    const queueName = typeof binding.queueName === "string" ? binding.queueName : undefined;
    const topicName = typeof binding.topicName === "string" ? binding.topicName : undefined;
    const subscriptionName =
      typeof binding.subscriptionName === "string" ? binding.subscriptionName : undefined;
    const entityName = queueName ?? topicName;
    if (!entityName || (topicName && !subscriptionName)) {
      throw new StartupError(
        `Function "${name}" names no Service Bus queue or topic subscription.`,
      );
    }
    triggers.push({
      fn,
      entityName,
      subscriptionName,
      connectionSetting,
      connectionString,
      autoCompleteMessages:
        typeof binding.autoCompleteMessages === "boolean"
          ? binding.autoCompleteMessages
          : options.autoCompleteMessages,
      dataType: binding.dataType ?? undefined,
    });
  }
  return triggers;
}

/**
 * Refuses a connection string the SDK would only fail on when connecting (or, for a missing key,
 * with a message that names no setting). The value itself is never repeated: it holds a key.
 */
function checkConnectionString(setting: string, connectionString: string): void {
  const refuse = (reason: string): never => {
    throw new StartupError(
      `Setting ${setting} is not a valid Service Bus connection string: ${reason}`,
    );
  };
  let parts: ReturnType<typeof parseServiceBusConnectionString>;
  try {
    parts = parseServiceBusConnectionString(connectionString);
  } catch (error) {
    return refuse((error as Error).message);
  }
  let endpoint: URL | undefined;
  try {
    endpoint = new URL(parts.endpoint);
  } catch {
    // reported below
  }
  if (endpoint?.protocol !== "sb:" || !endpoint.hostname) {
    refuse("Endpoint must look like sb://<namespace>.servicebus.windows.net/");
  }
  if (!parts.sharedAccessSignature && !(parts.sharedAccessKeyName && parts.sharedAccessKey)) {
    refuse("it needs SharedAccessKeyName and SharedAccessKey, or SharedAccessSignature");
  }
}

/** The message body as the Functions host hands it to a Node.js function. */
function messageBodyData(body: unknown, dataType: string | undefined): RpcTypedData {
  if (body instanceof Uint8Array) {
    return dataType === "binary" ? { bytes: body } : { string: Buffer.from(body).toString("utf8") };
  }
  if (typeof body === "string") return { string: body };
  if (body === undefined || body === null) return { string: "" };
  return { json: JSON.stringify(body) };
}

/**
 * Trigger metadata with the host's PascalCase names; the library camel-cases them (and the keys
 * inside ApplicationProperties, as it does in Azure) when it builds `context.triggerMetadata`.
 */
function messageTriggerMetadata(message: ServiceBusReceivedMessage): Record<string, RpcTypedData> {
  const applicationProperties = JSON.stringify(message.applicationProperties ?? {});
  const metadata: Record<string, RpcTypedData> = {
    // The AMQP header counts earlier deliveries (the JS SDK passes it on as is); the host
    // reports the .NET SDK's count, which includes the current delivery.
    DeliveryCount: { int: (message.deliveryCount ?? 0) + 1 },
    ApplicationProperties: { json: applicationProperties },
    UserProperties: { json: applicationProperties },
  };
  const text: Record<string, string | number | Buffer | undefined> = {
    MessageId: message.messageId,
    LockToken: message.lockToken,
    CorrelationId: message.correlationId,
    ContentType: message.contentType,
    Subject: message.subject,
    To: message.to,
    ReplyTo: message.replyTo,
    SessionId: message.sessionId,
    EnqueuedTimeUtc: message.enqueuedTimeUtc?.toISOString(),
  };
  for (const [name, value] of Object.entries(text)) {
    if (value !== undefined) metadata[name] = { string: String(value) };
  }
  if (message.sequenceNumber !== undefined) {
    metadata.SequenceNumber = { int: message.sequenceNumber.toNumber() };
  }
  return metadata;
}

/**
 * Runs a Service Bus function once with `input` as the message body, as the admin API does: the
 * body is passed as text (parsed as JSON by the library when it is JSON) and the trigger
 * metadata is that of a first delivery, since no queue is involved.
 */
export function runServiceBusFunctionNow(
  app: LoadedApp,
  trigger: ServiceBusTrigger,
  input: string,
): Promise<void> {
  const now = new Date().toISOString();
  return invokeFunction(app, trigger.fn, {
    reason: "This function was programmatically called via the host APIs.",
    triggerData: messageBodyData(Buffer.from(input), trigger.dataType),
    triggerMetadata: {
      MessageId: { string: randomUUID().replace(/-/g, "") },
      DeliveryCount: { int: 1 },
      EnqueuedTimeUtc: { string: now },
      ApplicationProperties: { json: "{}" },
      UserProperties: { json: "{}" },
    },
  }).then(
    () => undefined,
    () => undefined, // logged with its stack by invokeFunction; there is no message to abandon
  );
}

export interface RunningServiceBusListeners {
  /** Stops receiving, waits (bounded) for running invocations to settle, then disconnects. */
  close(timeoutMs: number): Promise<void>;
}

/**
 * Receives from each trigger's queue in peek-lock mode and settles like the Functions host:
 * complete when the function succeeds, abandon when it throws (so the entity's MaxDeliveryCount
 * dead-letters a message that keeps failing). With autoCompleteMessages off, nothing is settled.
 */
export function startServiceBusListeners(
  app: LoadedApp,
  triggers: ServiceBusTrigger[],
  options: ServiceBusHostOptions,
): RunningServiceBusListeners {
  if (triggers.length > 0 && options.prefetchCount > 0) {
    // The JS SDK's streaming receiver asks for maxConcurrentCalls messages at a time and has no
    // separate prefetch setting, so this host.json value cannot be honoured.
    logHost(
      "warning",
      `host.json serviceBus.prefetchCount=${options.prefetchCount} is not applied locally.`,
    );
  }
  const clients = new Map<string, ServiceBusClient>();
  const receivers: ServiceBusReceiver[] = [];
  const subscriptions: { close(): Promise<void> }[] = [];
  const inFlight = new Set<Promise<void>>();

  for (const trigger of triggers) {
    let client = clients.get(trigger.connectionString);
    if (!client) {
      client = new ServiceBusClient(trigger.connectionString);
      clients.set(trigger.connectionString, client);
    }
    const receiverOptions = {
      receiveMode: "peekLock" as const,
      maxAutoLockRenewalDurationInMs: options.maxAutoLockRenewalDurationMs,
      // Bodies stay bytes so they reach the function as the host would pass them (text).
      skipParsingBodyAsJson: true,
    };
    const receiver = trigger.subscriptionName
      ? client.createReceiver(trigger.entityName, trigger.subscriptionName, receiverOptions)
      : client.createReceiver(trigger.entityName, receiverOptions);
    receivers.push(receiver);
    const entityPath = trigger.subscriptionName
      ? `${trigger.entityName}/Subscriptions/${trigger.subscriptionName}`
      : trigger.entityName;

    const processMessage = async (message: ServiceBusReceivedMessage): Promise<void> => {
      let succeeded = false;
      try {
        await invokeFunction(app, trigger.fn, {
          reason: `New ServiceBus message detected on '${entityPath}'`,
          triggerData: messageBodyData(message.body, trigger.dataType),
          triggerMetadata: messageTriggerMetadata(message),
        });
        succeeded = true;
      } catch {
        // Already logged with its stack by invokeFunction; the message is abandoned below.
      }
      if (!trigger.autoCompleteMessages) return;
      try {
        if (succeeded) await receiver.completeMessage(message);
        else await receiver.abandonMessage(message);
      } catch (error) {
        logHost(
          "error",
          `Could not ${succeeded ? "complete" : "abandon"} message ${message.messageId} on '${entityPath}': ${describeError(error)}`,
        );
      }
    };

    subscriptions.push(
      receiver.subscribe(
        {
          // Tracked so shutdown can let running invocations finish before disconnecting.
          processMessage: (message) => {
            const invocation = processMessage(message).finally(() => inFlight.delete(invocation));
            inFlight.add(invocation);
            return invocation;
          },
          processError: async (args: ProcessErrorArgs) => {
            logHost(
              "warning",
              `Service Bus ${args.errorSource} error on '${args.entityPath}': ${args.error.message}`,
            );
          },
        },
        // Settlement is done above, never by the SDK, so a throw cannot be settled twice.
        { autoCompleteMessages: false, maxConcurrentCalls: options.maxConcurrentCalls },
      ),
    );
  }

  return {
    async close(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      // Stopping drains the links' credit; bounded because it can wait on an unreachable broker.
      await waitAtMost(
        Promise.allSettled(subscriptions.map((s) => s.close())),
        deadline - Date.now(),
      );
      await waitAtMost(Promise.allSettled([...inFlight]), deadline - Date.now());
      if (inFlight.size > 0) {
        logHost(
          "warning",
          `${inFlight.size} Service Bus invocation(s) still running at shutdown; their messages will be redelivered.`,
        );
      }
      await waitAtMost(Promise.allSettled(receivers.map((r) => r.close())), CLOSE_GRACE_MS);
      await waitAtMost(
        Promise.allSettled([...clients.values()].map((c) => c.close())),
        CLOSE_GRACE_MS,
      );
    },
  };
}

/** How long disconnecting may take after the shutdown budget for invocations is spent. */
const CLOSE_GRACE_MS = 2_000;
