import type { InvocationContext, ServiceBusQueueHandler } from "@azure/functions";
import type { Invocation, RelayDeps } from "./app/deps";
import { parseStepMessage } from "./app/step-message";
import { getRelay } from "./composition";
import { contextLogger } from "./http/handler";
import type { StepMessage } from "./ports";

export type StepUseCase = (
  deps: RelayDeps,
  message: StepMessage,
  invocation: Invocation,
) => Promise<void>;

/**
 * A Service Bus trigger: a throw leaves the message to be abandoned and redelivered (and
 * dead-lettered after MaxDeliveryCount), which is what a failed Table or queue write needs.
 */
export function queueHandler(useCase: StepUseCase): ServiceBusQueueHandler {
  return async (body: unknown, context: InvocationContext) => {
    const message = parseStepMessage(body);
    const log = contextLogger(context).with({
      storeId: message.storeId,
      workflowId: message.workflowId,
      requestId: message.requestId,
      deliveryCount: context.triggerMetadata?.deliveryCount as number | undefined,
    });
    try {
      await useCase(await getRelay(), message, { log });
    } catch (error) {
      log.error("step failed; Service Bus will deliver the message again", {
        error: error instanceof Error ? error.message : String(error),
      });
      throw error;
    }
  };
}
