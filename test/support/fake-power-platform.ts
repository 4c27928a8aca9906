/**
 * Dataverse and the Power Automate API on 127.0.0.1, as far as creating a flow needs them:
 * Dataverse on `<server>/<org>.<region>/api/data/v9.2/...` (org "noconsent" answers 401 with
 * AADSTS65001, org "gone" 404), listCallbackUrl on the other server (org "busy" answers 429),
 * its trigger URLs pointing at `flowUrl()` with `sig=created-<flowId>`.
 */
import { FakeHttpServer, type ReceivedRequest } from "../adapters/http/fake-http-server";

export const DATAVERSE_API = "api/data/v9.2";
export const CURRENT_ORGANIZATION =
  "RetrieveCurrentOrganization(AccessType=Microsoft.Dynamics.CRM.EndpointAccessType'Default')";

export const environmentIdOf = (org: string, region: string): string => `env-${org}-${region}`;

export interface FakePowerPlatform {
  dataverse: FakeHttpServer;
  flowApi: FakeHttpServer;
  /** Flows Dataverse holds, by `<org>.<region>/<workflowid>`. */
  flows: Map<string, { statecode: number; record: Record<string, unknown> }>;
  /** The relay settings that point at these servers. */
  settings: Record<string, string>;
  close(): Promise<void>;
}

export async function startFakePowerPlatform(flowUrl: () => string): Promise<FakePowerPlatform> {
  const dataverse = await FakeHttpServer.start();
  const flowApi = await FakeHttpServer.start();
  const flows: FakePowerPlatform["flows"] = new Map();

  dataverse.respondWith((request: ReceivedRequest) => {
    const url = new URL(request.url, "http://x");
    const [, environment = "", ...rest] = decodeURIComponent(url.pathname).split("/");
    const [org = "", region = ""] = environment.split(".");
    const path = rest.join("/");
    if (org === "noconsent")
      return {
        status: 401,
        body: {
          error: {
            code: "0x80072560",
            message:
              "AADSTS65001: The user or administrator has not consented to use the application.",
          },
        },
      };
    if (org === "gone")
      return { status: 404, body: { error: { code: "0x0", message: "Organization not found" } } };
    if (path === `${DATAVERSE_API}/${CURRENT_ORGANIZATION}`)
      return {
        status: 200,
        body: { Detail: { EnvironmentId: environmentIdOf(org, region), UrlName: org } },
      };
    if (request.method === "POST" && path === `${DATAVERSE_API}/workflows`) {
      const record = JSON.parse(request.body.toString()) as Record<string, unknown>;
      flows.set(`${environment}/${String(record.workflowid)}`, { statecode: 0, record });
      return { status: 204 };
    }
    const id = new RegExp(`^${DATAVERSE_API}/workflows\\(([^)]+)\\)$`).exec(path)?.[1];
    const flow = flows.get(`${environment}/${id}`);
    if (!id || !flow) return { status: 404, body: { error: { message: "workflow not found" } } };
    if (request.method === "GET") return { status: 200, body: { statecode: flow.statecode } };
    const change = JSON.parse(request.body.toString()) as Record<string, unknown>;
    if (typeof change.statecode === "number") flow.statecode = change.statecode;
    else Object.assign(flow.record, change);
    return { status: 204 };
  });

  flowApi.respondWith((request: ReceivedRequest) => {
    const url = new URL(request.url, "http://x");
    const match =
      /^\/providers\/Microsoft\.ProcessSimple\/environments\/([^/]+)\/flows\/([^/]+)\/triggers\/manual\/listCallbackUrl$/.exec(
        url.pathname,
      );
    if (!match || request.method !== "POST") return { status: 404 };
    const [, environmentId = "", flowId = ""] = match;
    if (environmentId.includes("-busy-"))
      return {
        status: 429,
        headers: { "retry-after": "7" },
        body: { error: { code: "TooManyRequests", message: "Rate limit is exceeded." } },
      };
    return {
      status: 200,
      body: {
        response: {
          value: `${flowUrl()}?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=created-${flowId}`,
          method: "POST",
        },
      },
    };
  });

  return {
    dataverse,
    flowApi,
    flows,
    settings: {
      POWER_PLATFORM_DATAVERSE_URL_TEMPLATE: `${dataverse.baseUrl}/{org}.{region}`,
      POWER_PLATFORM_DATAVERSE_AUDIENCE_TEMPLATE: "https://{org}.{region}.dynamics.com",
      POWER_AUTOMATE_API_URL: flowApi.baseUrl,
    },
    close: async () => {
      await Promise.all([dataverse.close(), flowApi.close()]);
    },
  };
}
