/** A real HTTP server on 127.0.0.1 that records requests and answers as a test scripts it. */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  method: string;
  /** Path and query as sent. */
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface ScriptedAnswer {
  status: number;
  headers?: Record<string, string>;
  /** A string is sent as it is; anything else as JSON. */
  body?: unknown;
}

/** "hang" keeps the connection open without answering, until the server closes. */
export type Responder = (
  request: ReceivedRequest,
) => ScriptedAnswer | "hang" | Promise<ScriptedAnswer | "hang">;

export class FakeHttpServer {
  readonly requests: ReceivedRequest[] = [];
  private responder: Responder = () => ({ status: 404 });

  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => void this.answer(req, Buffer.concat(chunks), res));
  });

  private constructor() {}

  static async start(): Promise<FakeHttpServer> {
    const fake = new FakeHttpServer();
    await new Promise<void>((resolve) => fake.server.listen(0, "127.0.0.1", resolve));
    return fake;
  }

  get baseUrl(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** Replaces the script and forgets the requests received so far. */
  respondWith(responder: Responder): void {
    this.requests.length = 0;
    this.responder = responder;
  }

  /** Answers the scripted answers in turn, repeating the last one. */
  respondInTurn(...answers: ScriptedAnswer[]): void {
    let next = 0;
    this.respondWith(() => answers[Math.min(next++, answers.length - 1)]);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async answer(
    req: http.IncomingMessage,
    body: Buffer,
    res: http.ServerResponse,
  ): Promise<void> {
    const request: ReceivedRequest = {
      method: req.method ?? "",
      url: req.url ?? "",
      headers: req.headers,
      body,
    };
    this.requests.push(request);
    const answer = await this.responder(request);
    if (answer === "hang") return;
    const text =
      answer.body === undefined || typeof answer.body === "string"
        ? (answer.body ?? "")
        : JSON.stringify(answer.body);
    const contentType =
      typeof answer.body === "string" ? "text/plain" : "application/json; charset=utf-8";
    res.writeHead(answer.status, {
      ...(text ? { "content-type": contentType } : {}),
      ...answer.headers,
    });
    res.end(text);
  }
}

/** A URL on which nothing listens (a port that was just freed), for connection-refused cases. */
export async function refusedUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
