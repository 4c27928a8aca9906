/** The call to a flow's HTTP trigger (CONTRACT section 4) over axios. */
import type { CallOutcome, FlowCall, FlowClient } from "../ports";
import {
  DEFAULT_TIMEOUT_MS,
  classifyTransportError,
  createHttpClient,
  deadline,
  describeAnswer,
  headerValue,
  isSuccessStatus,
  isTransientStatus,
  transientAnswer,
} from "./http-outcome";
import { tokenFailure, type TokenSource } from "./token-source";

/** Power Automate's token audience in the public cloud (`RELAY_FLOW_AUDIENCE` for others). */
export const DEFAULT_FLOW_AUDIENCE = "https://service.flow.microsoft.com/";

export interface FlowClientOptions {
  /** Source of bearer tokens for links with `flowAuth: "entra"`. */
  tokenSource: TokenSource;
  audience?: string;
  timeoutMs?: number;
}

export function createFlowClient(options: FlowClientOptions): FlowClient {
  return new HttpFlowClient(options);
}

const SERVICE = "the flow";

class HttpFlowClient implements FlowClient {
  private readonly http = createHttpClient();
  private readonly tokenSource: TokenSource;
  /** The audience plus `/.default`: `https://service.flow.microsoft.com//.default` by design. */
  private readonly scope: string;
  private readonly timeoutMs: number;

  constructor(options: FlowClientOptions) {
    this.tokenSource = options.tokenSource;
    this.scope = `${options.audience ?? DEFAULT_FLOW_AUDIENCE}/.default`;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async trigger(call: FlowCall): Promise<CallOutcome> {
    let headers = withHeader(call.headers, "content-type", "application/json");
    if (call.flowAuth === "entra") {
      let token: string;
      try {
        token = await this.tokenSource.getToken(this.scope, call.tenantId);
      } catch (error) {
        return tokenFailure(error, this.scope, call.tenantId);
      }
      headers = withHeader(headers, "authorization", `Bearer ${token}`);
    }

    let response;
    try {
      // The payload goes as the exact text DM sent; the relay never re-serialises it.
      response = await this.http.post<string>(call.requestUrl, call.payloadJson, {
        headers,
        ...deadline(this.timeoutMs),
      });
    } catch (error) {
      return classifyTransportError(error, SERVICE, this.timeoutMs);
    }

    if (isSuccessStatus(response.status)) {
      const runId = headerValue(response, "x-ms-workflow-run-id");
      return runId
        ? { kind: "ok", status: response.status, runId }
        : { kind: "ok", status: response.status };
    }
    const reason = `${SERVICE} answered ${describeAnswer(response)}`;
    return isTransientStatus(response.status)
      ? transientAnswer(response, reason)
      : { kind: "permanent", reason };
  }
}

/** A copy of `headers` with `name` set to `value`, replacing it in any letter case. */
function withHeader(
  headers: Record<string, string>,
  name: string,
  value: string,
): Record<string, string> {
  const copy = Object.fromEntries(
    Object.entries(headers).filter(([key]) => key.toLowerCase() !== name),
  );
  copy[name] = value;
  return copy;
}
