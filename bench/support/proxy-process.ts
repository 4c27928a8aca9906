/**
 * The bench's counting proxies, in a process of their own so that counting does not load the
 * processes being measured: an HTTP proxy in front of Azurite (every request is one Table
 * transaction; a `$batch` counts as one) and a TCP proxy in front of the Service Bus emulator that
 * reads AMQP frame headers and counts transfers and dispositions (sends, deliveries, settlements).
 * Started with `fork(this, [azuritePort, emulatorPort])`; answers "counts" messages over IPC.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import net from "node:net";

export interface ProxyCounts {
  table: { requests: number; batches: number; reads: number; writes: number };
  serviceBus: { sends: number; deliveries: number; settlements: number };
}

export type ProxyMessage =
  | { kind: "ready"; tablePort: number; serviceBusPort: number }
  | { kind: "counts"; counts: ProxyCounts };

const [azuritePort, emulatorPort] = process.argv.slice(2).map(Number);
const counts: ProxyCounts = {
  table: { requests: 0, batches: 0, reads: 0, writes: 0 },
  serviceBus: { sends: 0, deliveries: 0, settlements: 0 },
};

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const tableProxy = http.createServer((req, res) => {
  counts.table.requests += 1;
  if (req.url?.includes("$batch")) counts.table.batches += 1;
  else if (req.method === "GET") counts.table.reads += 1;
  else counts.table.writes += 1;
  const upstream = http.request(
    {
      host: "127.0.0.1",
      port: azuritePort,
      method: req.method,
      path: req.url,
      headers: req.headers,
      agent,
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on("error", () => res.destroy());
  req.pipe(upstream);
});

/** AMQP 1.0 performative codes (section 2.7 of the spec). */
const TRANSFER = 0x14;
const DISPOSITION = 0x15;

/** Calls `onPerformative` with the code of each AMQP frame read from a byte stream. */
function frameReader(onPerformative: (code: number) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    for (;;) {
      // A protocol header ("AMQP" and four version bytes) starts SASL and then AMQP.
      if (pending.length >= 8 && pending.toString("latin1", 0, 4) === "AMQP") {
        pending = pending.subarray(8);
        continue;
      }
      if (pending.length < 8) return;
      const size = pending.readUInt32BE(0);
      if (pending.length < size) return;
      const body = (pending[4] as number) * 4;
      // Type 0 is an AMQP frame; its body opens with a described type: 0x00, 0x53 <code>.
      if (pending[5] === 0 && size > body + 2 && pending[body] === 0 && pending[body + 1] === 0x53)
        onPerformative(pending[body + 2] as number);
      pending = pending.subarray(size);
    }
  };
}

const serviceBusProxy = net.createServer((client) => {
  const broker = net.connect(emulatorPort as number, "127.0.0.1");
  const fromClient = frameReader((code) => {
    if (code === TRANSFER) counts.serviceBus.sends += 1;
    if (code === DISPOSITION) counts.serviceBus.settlements += 1;
  });
  const fromBroker = frameReader((code) => {
    if (code === TRANSFER) counts.serviceBus.deliveries += 1;
  });
  client.on("data", (chunk: Buffer) => {
    fromClient(chunk);
    broker.write(chunk);
  });
  broker.on("data", (chunk: Buffer) => {
    fromBroker(chunk);
    client.write(chunk);
  });
  client.on("close", () => broker.destroy());
  broker.on("close", () => client.destroy());
  client.on("error", () => broker.destroy());
  broker.on("error", () => client.destroy());
});

const listen = (server: net.Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
  );

void Promise.all([listen(tableProxy), listen(serviceBusProxy)]).then(
  ([tablePort, serviceBusPort]) => {
    const send = (message: ProxyMessage) => process.send?.(message);
    send({ kind: "ready", tablePort, serviceBusPort });
    process.on("message", (message) => {
      if (message === "counts") send({ kind: "counts", counts });
    });
    process.on("disconnect", () => process.exit(0));
  },
);
