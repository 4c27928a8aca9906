/**
 * Dataverse's Web API and the Power Automate API over axios, for creating a store's flow: where
 * the environment is, save and turn on the flow, and read its trigger URL. Every failure comes
 * back as a PlatformFailure naming the call and the likely cause, never as a throw.
 */
import type { AxiosResponse } from "axios";
import type { PowerPlatformCredentialConfig } from "../config";
import type {
  CloudFlowRecord,
  FlowRunRef,
  PlatformAnswer,
  PlatformFailure,
  PowerPlatformClient,
  PowerPlatformTarget,
} from "../ports";
import {
  DEFAULT_TIMEOUT_MS,
  classifyTransportError,
  createHttpClient,
  deadline,
  describeAnswer,
  describeError,
  headerValue,
  isSuccessStatus,
  parseJson,
  parseRetryAfter,
  propertyOf,
} from "./http-outcome";
import { CredentialTokenSource, lazyCredential, type TokenSource } from "./token-source";

export interface PowerPlatformClientOptions {
  /** e.g. `https://{org}.{region}.dynamics.com`. */
  dataverseUrlTemplate: string;
  /** The Dataverse token audience, same placeholders. */
  dataverseAudienceTemplate: string;
  /** e.g. `https://api.flow.microsoft.com`. */
  flowApiUrl: string;
  /** Power Automate's token audience (`RELAY_FLOW_AUDIENCE`). */
  flowAudience: string;
  /** The identity the calls for a store are made as. */
  tokensFor(target: PowerPlatformTarget): TokenSource;
  timeoutMs?: number;
}

export function createPowerPlatformClient(
  options: PowerPlatformClientOptions,
): PowerPlatformClient {
  return new HttpPowerPlatformClient(options);
}

/**
 * The identity for a store's calls: its registered app (clientId in its tenant) with the secret or
 * certificate from the settings, one cached credential per app; else the relay's own identity.
 */
export function powerPlatformTokenSources(
  credential: PowerPlatformCredentialConfig,
  relayIdentity: TokenSource,
): (target: PowerPlatformTarget) => TokenSource {
  const sources = new Map<string, TokenSource>();
  return (target) => {
    if (credential.kind === "relay-identity") return relayIdentity;
    const key = `${target.tenantId}/${target.clientId}`;
    let source = sources.get(key);
    if (!source) {
      source = new CredentialTokenSource(
        lazyCredential(({ ClientSecretCredential, ClientCertificateCredential }) =>
          credential.kind === "client-secret"
            ? new ClientSecretCredential(target.tenantId, target.clientId, credential.secret)
            : new ClientCertificateCredential(target.tenantId, target.clientId, {
                certificatePath: credential.certificatePath,
              }),
        ),
      );
      sources.set(key, source);
    }
    return source;
  };
}

const ODATA_HEADERS = {
  accept: "application/json",
  "odata-maxversion": "4.0",
  "odata-version": "4.0",
};
const FLOW_API_VERSION = "2016-11-01";

/** Entra's "consent missing" error: the app was never granted the permission by an admin. */
const CONSENT_MISSING = /AADSTS65001|consent/i;

type Call = { name: string; scope: string; target: PowerPlatformTarget };

class HttpPowerPlatformClient implements PowerPlatformClient {
  private readonly http = createHttpClient();
  private readonly timeoutMs: number;

  constructor(private readonly options: PowerPlatformClientOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async environmentId(target: PowerPlatformTarget): Promise<PlatformAnswer<string>> {
    const call = this.dataverseCall("Dataverse: read the environment id", target);
    const answer = await this.send(call, {
      method: "GET",
      url: this.dataverseUrl(
        target,
        "RetrieveCurrentOrganization(AccessType=Microsoft.Dynamics.CRM.EndpointAccessType'Default')",
      ),
    });
    if (!answer.ok) return answer;
    const environmentId = propertyOf(
      propertyOf(parseJson(answer.value.data), "Detail"),
      "EnvironmentId",
    );
    return typeof environmentId === "string" && environmentId
      ? { ok: true, value: environmentId }
      : refused(call.name, "the answer holds no Detail.EnvironmentId");
  }

  async saveFlow(
    target: PowerPlatformTarget,
    flow: CloudFlowRecord,
  ): Promise<PlatformAnswer<void>> {
    const read = this.dataverseCall("Dataverse: look for the flow", target);
    const existing = await this.send(
      read,
      {
        method: "GET",
        url: this.dataverseUrl(target, `workflows(${flow.flowId})?$select=statecode`),
      },
      [404],
    );
    if (!existing.ok) return existing;
    const content = { name: flow.name, description: flow.description, clientdata: flow.clientData };

    if (existing.value.status === 404) {
      const created = await this.send(this.dataverseCall("Dataverse: create the flow", target), {
        method: "POST",
        url: this.dataverseUrl(target, "workflows"),
        data: {
          workflowid: flow.flowId,
          category: 5, // modern flow
          type: 1, // definition
          primaryentity: "none",
          ...content,
        },
      });
      return created.ok ? { ok: true, value: undefined } : created;
    }

    // A flow that is on is turned off before its definition changes, as the designer does.
    if (propertyOf(parseJson(existing.value.data), "statecode") === 1) {
      const off = await this.setState(target, flow.flowId, "Dataverse: turn the flow off", 0, 1);
      if (!off.ok) return off;
    }
    const updated = await this.send(this.dataverseCall("Dataverse: update the flow", target), {
      method: "PATCH",
      url: this.dataverseUrl(target, `workflows(${flow.flowId})`),
      headers: { "if-match": "*" },
      data: content,
    });
    return updated.ok ? { ok: true, value: undefined } : updated;
  }

  activateFlow(target: PowerPlatformTarget, flowId: string): Promise<PlatformAnswer<void>> {
    return this.setState(target, flowId, "Dataverse: turn the flow on", 1, 2);
  }

  async triggerUrl(
    target: PowerPlatformTarget,
    environmentId: string,
    flowId: string,
  ): Promise<PlatformAnswer<string>> {
    const call: Call = {
      name: "Power Automate: read the trigger URL",
      scope: `${this.options.flowAudience}/.default`,
      target,
    };
    const answer = await this.send(call, {
      method: "POST",
      url:
        `${this.options.flowApiUrl}/providers/Microsoft.ProcessSimple/environments/` +
        `${encodeURIComponent(environmentId)}/flows/${encodeURIComponent(flowId)}` +
        `/triggers/manual/listCallbackUrl?api-version=${FLOW_API_VERSION}`,
    });
    if (!answer.ok) return answer;
    // Power Automate wraps the answer in `response`; Logic Apps' shape has `value` at the top.
    const json = parseJson(answer.value.data);
    const url = propertyOf(propertyOf(json, "response") ?? json, "value");
    return typeof url === "string" && url
      ? { ok: true, value: url }
      : refused(call.name, "the answer holds no trigger URL");
  }

  async cancelRun(target: PowerPlatformTarget, run: FlowRunRef): Promise<PlatformAnswer<void>> {
    const call: Call = {
      name: "Power Automate: cancel the flow run",
      scope: `${this.options.flowAudience}/.default`,
      target,
    };
    // 404 and 409: the run has ended already (or never existed), so there is nothing to cancel.
    const answer = await this.send(
      call,
      {
        method: "POST",
        url:
          `${this.options.flowApiUrl}/providers/Microsoft.ProcessSimple/environments/` +
          `${encodeURIComponent(run.environmentName)}/flows/${encodeURIComponent(run.flowName)}` +
          `/runs/${encodeURIComponent(run.runId)}/cancel?api-version=${FLOW_API_VERSION}`,
      },
      [404, 409],
    );
    return answer.ok ? { ok: true, value: undefined } : answer;
  }

  private setState(
    target: PowerPlatformTarget,
    flowId: string,
    name: string,
    statecode: number,
    statuscode: number,
  ): Promise<PlatformAnswer<void>> {
    return this.send(this.dataverseCall(name, target), {
      method: "PATCH",
      url: this.dataverseUrl(target, `workflows(${flowId})`),
      headers: { "if-match": "*" },
      data: { statecode, statuscode },
    }).then((answer) => (answer.ok ? { ok: true, value: undefined } : answer));
  }

  private dataverseCall(name: string, target: PowerPlatformTarget): Call {
    return {
      name,
      scope: `${fill(this.options.dataverseAudienceTemplate, target)}/.default`,
      target,
    };
  }

  private dataverseUrl(target: PowerPlatformTarget, path: string): string {
    return `${fill(this.options.dataverseUrlTemplate, target)}/api/data/v9.2/${path}`;
  }

  /** One call with a token for its scope; 2xx (and the `expected` statuses) are answers. */
  private async send(
    call: Call,
    request: { method: string; url: string; headers?: Record<string, string>; data?: unknown },
    expected: number[] = [],
  ): Promise<PlatformAnswer<AxiosResponse<string>>> {
    let token: string;
    try {
      token = await this.options.tokensFor(call.target).getToken(call.scope, call.target.tenantId);
    } catch (error) {
      const reason = `no token for ${call.scope} in tenant ${call.target.tenantId}: ${describeError(error)}`;
      return fail({
        call: call.name,
        cause: CONSENT_MISSING.test(String(error)) ? "consent" : "unauthorized",
        reason,
      });
    }
    let response: AxiosResponse<string>;
    try {
      response = await this.http.request<string>({
        method: request.method,
        url: request.url,
        headers: {
          ...ODATA_HEADERS,
          ...(request.data !== undefined && { "content-type": "application/json" }),
          ...request.headers,
          authorization: `Bearer ${token}`,
        },
        data: request.data === undefined ? undefined : JSON.stringify(request.data),
        ...deadline(this.timeoutMs),
      });
    } catch (error) {
      const outcome = classifyTransportError(
        error,
        call.name.split(":")[0] ?? call.name,
        this.timeoutMs,
      );
      return fail({ call: call.name, cause: "unreachable", reason: outcome.reason });
    }
    if (isSuccessStatus(response.status) || expected.includes(response.status))
      return { ok: true, value: response };
    return fail(failureOf(call.name, response));
  }
}

function fill(template: string, target: PowerPlatformTarget): string {
  return template.replace("{org}", target.organizationCode).replace("{region}", target.region);
}

function fail(failure: PlatformFailure): { ok: false; failure: PlatformFailure } {
  return { ok: false, failure };
}

function refused(call: string, reason: string): { ok: false; failure: PlatformFailure } {
  return fail({ call, cause: "refused", reason });
}

/** What an error answer most likely means, for an administrator to act on. */
function failureOf(call: string, response: AxiosResponse<string>): PlatformFailure {
  const answer = describeAnswer(response);
  const status = response.status;
  if ((status === 401 || status === 403) && CONSENT_MISSING.test(String(response.data)))
    return { call, status, cause: "consent", reason: `consent is missing: ${answer}` };
  if (status === 401 || status === 403)
    return { call, status, cause: "unauthorized", reason: `not allowed: ${answer}` };
  if (status === 404)
    return { call, status, cause: "not-found", reason: `environment or flow not found: ${answer}` };
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(headerValue(response, "retry-after"));
    return {
      call,
      status,
      cause: "throttled",
      reason: `throttled: ${answer}`,
      ...(retryAfterMs !== undefined && { retryAfterMs }),
    };
  }
  return { call, status, cause: "refused", reason: answer };
}
