/** The relay's admin API as the CLI calls it: base URL and admin key, answers or one-line failures. */
import axios, { type AxiosInstance } from "axios";

export interface RelayConnection {
  /** The relay's base URL, e.g. https://dm-relay.azurewebsites.net (routes are under /api). */
  url: string;
  /** The admin key (Azure: the function app's master key; locally RELAY_LOCAL_KEY). */
  key: string;
  timeoutMs?: number;
}

/** A failure the CLI reports in one line and exits non-zero for. */
export class CliFailure extends Error {
  override name = "CliFailure";
}

export interface RelayAnswer {
  status: number;
  headers: Record<string, string>;
  bytes: Buffer;
}

export class RelayApi {
  private readonly http: AxiosInstance;

  constructor(private readonly connection: RelayConnection) {
    this.http = axios.create({
      baseURL: `${connection.url.replace(/\/+$/, "")}/api/`,
      timeout: connection.timeoutMs ?? 120_000,
      validateStatus: () => true,
      responseType: "arraybuffer",
      maxRedirects: 0,
    });
  }

  /** JSON in, JSON out; a non-2xx answer becomes a CliFailure with the problem's detail. */
  async json<T = Record<string, unknown>>(
    method: string,
    route: string,
    body?: unknown,
  ): Promise<T> {
    const answer = await this.send(method, route, body);
    const text = answer.bytes.toString("utf8");
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** The answer as bytes (a solution zip), with its headers; non-2xx is a CliFailure. */
  async send(method: string, route: string, body?: unknown): Promise<RelayAnswer> {
    let response;
    try {
      response = await this.http.request<ArrayBuffer>({
        method,
        url: route,
        headers: {
          "x-functions-key": this.connection.key,
          ...(body !== undefined && { "content-type": "application/json" }),
        },
        ...(body !== undefined && { data: JSON.stringify(body) }),
      });
    } catch (error) {
      const code = axios.isAxiosError(error) ? (error.code ?? error.message) : String(error);
      throw new CliFailure(`cannot reach the relay at ${this.connection.url}: ${code}`);
    }
    const bytes = Buffer.from(response.data);
    if (response.status < 200 || response.status >= 300)
      throw new CliFailure(describeFailure(response.status, bytes.toString("utf8")));
    const headers = Object.fromEntries(
      Object.entries(response.headers).map(([name, value]) => [name, String(value)]),
    );
    return { status: response.status, headers, bytes };
  }
}

/** "HTTP 404 Not found: workflow x is not linked", with each field error of a 400. */
export function describeFailure(status: number, text: string): string {
  let problem: { title?: unknown; detail?: unknown; errors?: unknown } | undefined;
  try {
    problem = JSON.parse(text) as typeof problem;
  } catch {
    problem = undefined;
  }
  const title = typeof problem?.title === "string" ? ` ${problem.title}` : "";
  const detail = typeof problem?.detail === "string" ? `: ${problem.detail}` : "";
  const errors = Array.isArray(problem?.errors)
    ? (problem.errors as { path?: unknown; message?: unknown }[])
        .map((error) => `${String(error.path)} ${String(error.message)}`)
        .join("; ")
    : "";
  const hint = status === 401 && !problem ? ": the admin key is missing or wrong" : "";
  return `HTTP ${status}${title}${detail}${hint}${errors ? ` (${errors})` : ""}`;
}
