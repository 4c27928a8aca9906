import { app } from "@azure/functions";
import { applyDecision } from "../shared/app/apply-decision";
import { APPROVAL_DECISIONS_QUEUE } from "../shared/ports";
import { queueHandler } from "../shared/queue-handler";

app.serviceBusQueue("apply", {
  queueName: APPROVAL_DECISIONS_QUEUE,
  connection: "ServiceBusConnection",
  handler: queueHandler(applyDecision),
});
