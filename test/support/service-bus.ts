import type { ServiceBusReceivedMessage, ServiceBusReceiver } from "@azure/service-bus";

/** Receives until `count` messages arrived or `timeoutMs` passed. */
export async function receiveCount(
  receiver: ServiceBusReceiver,
  count: number,
  timeoutMs = 5_000,
): Promise<ServiceBusReceivedMessage[]> {
  const received: ServiceBusReceivedMessage[] = [];
  const deadline = Date.now() + timeoutMs;
  while (received.length < count && Date.now() < deadline) {
    const batch = await receiver.receiveMessages(count - received.length, {
      maxWaitTimeInMs: Math.max(100, deadline - Date.now()),
    });
    received.push(...batch);
  }
  return received;
}
