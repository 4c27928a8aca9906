/**
 * The relay's durable minimum as an HTTP function on the relay's own host: the request and its
 * index row in one transaction, then one message, like the baseline server's `/batch-send`, but
 * through the local host and @azure/functions as the trigger is. Beside the trigger it shows how
 * much of the trigger's cost is the host's and how much the relay's own. Loaded by the bench's
 * ingest host only (bench/http-functions.ts); it uses the host's own connection settings.
 */
import { randomUUID } from "node:crypto";
import { app } from "@azure/functions";
import { TableClient } from "@azure/data-tables";
import { ServiceBusClient } from "@azure/service-bus";

const tables = TableClient.fromConnectionString(
  process.env.AzureWebJobsStorage as string,
  "BenchHostBaseline",
  { allowInsecureConnection: true },
);
const tableReady = tables.createTable();
const sender = new ServiceBusClient(process.env.ServiceBusConnection as string).createSender(
  process.env.BENCH_QUEUE as string,
);

app.http("benchBatchSend", {
  route: "bench/batch-send",
  methods: ["POST"],
  authLevel: "anonymous",
  handler: async (request) => {
    const id = randomUUID();
    const body = await request.text();
    await tableReady;
    await tables.submitTransaction([
      ["create", { partitionKey: "bench-batch", rowKey: id, body }],
      ["create", { partitionKey: "bench-batch", rowKey: `~watch~${id}` }],
    ]);
    await sender.sendMessages({
      messageId: id,
      body: { storeId: "bench", workflowId: "baseline", requestId: id, attempt: 1, redrives: 0 },
      contentType: "application/json",
    });
    return { status: 202, jsonBody: { requestId: id, status: "queued" } };
  },
});
