import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Answer only after this long (a slow flow; the caller may be gone by then). */
  delayMs?: number;
}

export interface RunningServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

/**
 * A plain node:http server on 127.0.0.1 that hands each request, body read, to `handle`; with
 * `tls` (PEM key and certificate) it speaks https instead.
 */
export async function serve(
  port: number,
  handle: (request: ReceivedRequest) => Promise<Reply | "hang"> | Reply | "hang",
  tls?: { key: string; cert: string },
): Promise<RunningServer> {
  const listener: http.RequestListener = async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    let reply: Reply | "hang";
    try {
      reply = await handle({
        method: req.method ?? "GET",
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      });
    } catch (error) {
      reply = { status: 500, body: { error: String(error) } };
    }
    if (reply === "hang") return; // never answers: the caller's timeout is under test
    if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
    if (res.destroyed) return;
    const body =
      reply.body === undefined
        ? ""
        : typeof reply.body === "string"
          ? reply.body
          : JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      ...(reply.body !== undefined &&
        typeof reply.body !== "string" && { "content-type": "application/json" }),
      ...reply.headers,
    });
    res.end(body);
  };
  const server = tls ? https.createServer(tls, listener) : http.createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    port: actual,
    url: `${tls ? "https" : "http"}://127.0.0.1:${actual}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
