/** The relay's admin API as the CLI calls it: base URL and credentials, answers or failures. */
import { STATUS_CODES } from "node:http";
import axios, { type AxiosInstance } from "axios";

/** A failure as `--json` prints it: the API's problem+json members, or the CLI's own. */
export interface FailureReport {
  /** The relay's HTTP status; null when no answer came (unreachable, bad options, no sign-in). */
  status: number | null;
  title: string;
  detail?: string;
  errors?: { path?: unknown; message?: unknown }[];
  [member: string]: unknown;
}

/** A failure the CLI reports (one line, or JSON under --json) and exits with code 1 for. */
export class CliFailure extends Error {
  override name = "CliFailure";
  readonly report: FailureReport;

  constructor(message: string, report: FailureReport) {
    super(message);
    this.report = report;
  }
}

/** A failure before or without an answer from the relay: `detail` is the whole line. */
export function localFailure(title: string, detail: string): CliFailure {
  return new CliFailure(detail, { status: null, title, detail });
}

export interface RelayConnection {
  /** The relay's base URL, e.g. https://dm-relay.azurewebsites.net (routes are under /api). */
  url: string;
  /** The headers that prove who calls: `x-functions-key`, or `authorization: Bearer ...`. */
  credentials: () => Promise<Record<string, string>>;
  /** What a 401 without a problem body most likely means, for the failure line. */
  unauthorizedHint: string;
  timeoutMs?: number;
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
    const credentials = await this.connection.credentials();
    let response;
    try {
      response = await this.http.request<ArrayBuffer>({
        method,
        url: route,
        headers: {
          ...credentials,
          ...(body !== undefined && { "content-type": "application/json" }),
        },
        ...(body !== undefined && { data: JSON.stringify(body) }),
      });
    } catch (error) {
      const code = axios.isAxiosError(error) ? (error.code ?? error.message) : String(error);
      throw localFailure(
        "Cannot reach the relay",
        `cannot reach the relay at ${this.connection.url}: ${code}`,
      );
    }
    const bytes = Buffer.from(response.data);
    if (response.status < 200 || response.status >= 300)
      throw httpFailure(response.status, bytes.toString("utf8"), this.connection.unauthorizedHint);
    const headers = Object.fromEntries(
      Object.entries(response.headers).map(([name, value]) => [name, String(value)]),
    );
    return { status: response.status, headers, bytes };
  }
}

/**
 * A non-2xx answer: the line reads "HTTP 404 Not found: workflow x is not linked", with each field
 * error of a 400; the report keeps the problem's members, so scripts see what the API said.
 */
export function httpFailure(status: number, text: string, unauthorizedHint: string): CliFailure {
  let problem: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    problem = typeof parsed === "object" && parsed !== null ? (parsed as typeof problem) : {};
  } catch {
    problem = undefined;
  }
  const title = typeof problem?.title === "string" ? problem.title : undefined;
  const hint = status === 401 && !problem ? unauthorizedHint : undefined;
  const detail = typeof problem?.detail === "string" ? problem.detail : hint;
  const errors = Array.isArray(problem?.errors)
    ? (problem.errors as { path?: unknown; message?: unknown }[])
    : undefined;
  const listed = errors
    ?.map((error) => `${String(error.path)} ${String(error.message)}`)
    .join("; ");
  const line = `HTTP ${status}${title ? ` ${title}` : ""}${detail ? `: ${detail}` : ""}${listed ? ` (${listed})` : ""}`;
  return new CliFailure(line, {
    ...problem,
    status,
    title: title ?? STATUS_CODES[status] ?? `HTTP ${status}`,
    ...(detail !== undefined && { detail }),
    ...(errors && { errors }),
  });
}
