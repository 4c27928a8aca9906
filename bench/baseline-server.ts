/**
 * The bench's baselines, in a process of their own as the relay's host is: three pipelines on
 * `node:http` that do the durable minimum of a trigger with the relay's own SDKs, on the same
 * emulators. `POST /hello` answers at once; `POST /send` sends one Service Bus message;
 * `POST /insert-send` inserts one Table entity holding the body, then sends one message;
 * `POST /batch-send` inserts two entities of one partition in one transaction (the relay's own
 * minimum: a request and its index row), then sends one message.
 * Settings: BENCH_TABLES (connection string), BENCH_SERVICE_BUS (connection string),
 * BENCH_QUEUE. Prints "listening <port>" when ready.
 */
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { TableClient } from "@azure/data-tables";
import { ServiceBusClient } from "@azure/service-bus";

const tables = TableClient.fromConnectionString(
  process.env.BENCH_TABLES as string,
  "BenchBaseline",
  { allowInsecureConnection: true },
);
const serviceBus = new ServiceBusClient(process.env.BENCH_SERVICE_BUS as string);
const sender = serviceBus.createSender(process.env.BENCH_QUEUE as string);

async function send(id: string): Promise<void> {
  await sender.sendMessages({
    messageId: id,
    body: { storeId: "bench", workflowId: "baseline", requestId: id, attempt: 1, redrives: 0 },
    contentType: "application/json",
  });
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const id = randomUUID();
    const body = Buffer.concat(chunks).toString("utf8");
    const answer = (status: number) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify({ requestId: id, status: "queued" }));
    };
    const fail = () => answer(500);
    if (req.url === "/hello") return answer(200);
    if (req.url === "/send") return void send(id).then(() => answer(202), fail);
    if (req.url === "/insert-send")
      return void tables
        .createEntity({ partitionKey: "bench", rowKey: id, body })
        .then(() => send(id))
        .then(() => answer(202), fail);
    if (req.url === "/batch-send")
      return void tables
        .submitTransaction([
          ["create", { partitionKey: "bench-batch", rowKey: id, body }],
          ["create", { partitionKey: "bench-batch", rowKey: `~watch~${id}` }],
        ])
        .then(() => send(id))
        .then(() => answer(202), fail);
    answer(404);
  });
});

void tables.createTable().then(() =>
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
  }),
);
process.on("SIGTERM", () => {
  server.close();
  void serviceBus.close().finally(() => process.exit(0));
});
