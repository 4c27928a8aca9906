import { app } from "@azure/functions";
import { APPROVAL_DECISIONS_QUEUE } from "../shared/ports";
import { queueHandler } from "../shared/runtime";

app.serviceBusQueue("apply", {
  queueName: APPROVAL_DECISIONS_QUEUE,
  connection: "ServiceBusConnection",
  handler: queueHandler((useCases) => useCases.applyDecision),
});
