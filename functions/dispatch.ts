import { app } from "@azure/functions";
import { WORKFLOW_EVENTS_QUEUE } from "../shared/ports";
import { queueHandler } from "../shared/runtime";

app.serviceBusQueue("dispatch", {
  queueName: WORKFLOW_EVENTS_QUEUE,
  connection: "ServiceBusConnection",
  handler: queueHandler((useCases) => useCases.dispatchToFlow),
});
