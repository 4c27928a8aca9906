import { app } from "@azure/functions";
import { dispatchToFlow } from "../shared/app/dispatch";
import { WORKFLOW_EVENTS_QUEUE } from "../shared/ports";
import { queueHandler } from "../shared/queue-handler";

app.serviceBusQueue("dispatch", {
  queueName: WORKFLOW_EVENTS_QUEUE,
  connection: "ServiceBusConnection",
  handler: queueHandler(dispatchToFlow),
});
