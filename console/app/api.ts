/**
 * The relay's admin API as the console calls it (CONTRACT sections 1, 2, 6, 7, 8, and `/api/me`).
 * Every call carries the session's credential; a refusal becomes an ApiError with the problem's
 * detail, which the pages show as it is.
 */

import { REQUEST_STATES, type RequestState } from "../../shared/domain/model";
import type { ComponentBody } from "../../shared/http/openapi";

export { REQUEST_STATES, type RequestState };

// The answers' shapes are the OpenAPI document's own (shared/http/openapi.ts), so the console and
// the document cannot drift apart; type-only, nothing of it reaches the bundle.
export type Me = ComponentBody<"Me">;
export type StoreRegistration = ComponentBody<"StoreRegistration">;
export type WorkflowLinkView = ComponentBody<"Link">;
export type RequestStatus = ComponentBody<"RequestStatus">;
export type HistoryEntry = RequestStatus["history"][number];
export type HealthReport = ComponentBody<"Health">;

/** What `config.json` tells the console before anyone signs in. */
export interface ConsoleSettings {
  auth: "key" | "entra";
  tenantId?: string;
  authority?: string;
  clientId?: string;
  apiScope?: string;
  stuckAfterMinutes: number;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** The credential of the signed-in admin, as request headers. */
export type Credential = () => Promise<Record<string, string>>;

/** The admin API lives beside the console: `<prefix>/console/` is the page, `<prefix>/` the API. */
export const API_BASE = new URL("../", document.baseURI).toString();

const segment = encodeURIComponent;

export class RelayApi {
  constructor(private readonly credential: Credential) {}

  me(): Promise<Me> {
    return this.json<Me>("GET", "me");
  }
  stores(): Promise<{ stores: StoreRegistration[] }> {
    return this.json("GET", "stores");
  }
  workflows(storeId: string): Promise<{ storeId: string; workflows: WorkflowLinkView[] }> {
    return this.json("GET", `stores/${segment(storeId)}/workflows`);
  }
  requests(storeId: string, state?: RequestState): Promise<{ requests: RequestStatus[] }> {
    const query = state ? `?state=${segment(state)}` : "";
    return this.json("GET", `stores/${segment(storeId)}/requests${query}`);
  }
  request(storeId: string, requestId: string): Promise<RequestStatus> {
    return this.json("GET", `stores/${segment(storeId)}/requests/${segment(requestId)}`);
  }
  redrive(storeId: string, requestId: string): Promise<{ requestId: string; state: RequestState }> {
    return this.json("POST", `stores/${segment(storeId)}/requests/${segment(requestId)}/redrive`);
  }
  /** Re-saves a link (PUT .../flow), the only answer that carries its trigger URL. */
  saveLink(link: WorkflowLinkView, requestUrl: string, rotateTriggerKey: boolean) {
    return this.json<WorkflowLinkView>("PUT", linkRoute(link), {
      requestUrl,
      ...(link.workflowName && { workflowName: link.workflowName }),
      approvers: link.approvers,
      flowAuth: link.flowAuth,
      ...(link.requestIdPointer && { requestIdPointer: link.requestIdPointer }),
      rotateTriggerKey,
    });
  }
  createFlow(link: WorkflowLinkView) {
    return this.json<WorkflowLinkView & { cloudFlow: { name: string; environmentId: string } }>(
      "POST",
      `${linkRoute(link)}/create`,
      {},
    );
  }
  /** The flow template (JSON) or the solution (zip), as a file to save. */
  async template(
    link: WorkflowLinkView,
    format: "definition" | "solution",
  ): Promise<{ blob: Blob; fileName: string }> {
    const route =
      `stores/${segment(link.storeId)}/workflows/${segment(link.workflowId)}/flow-template` +
      (format === "solution" ? "?format=solution" : "");
    const response = await this.send("GET", route);
    const disposition = response.headers.get("content-disposition") ?? "";
    const fileName =
      /filename="([^"]+)"/.exec(disposition)?.[1] ?? `${link.storeId}-${link.workflowId}-flow.json`;
    return { blob: await response.blob(), fileName };
  }
  /** Health answers 503 with its report when a dependency fails, so both are a report. */
  async health(): Promise<HealthReport> {
    const response = await fetch(new URL("health", API_BASE), { cache: "no-store" });
    if (response.status !== 200 && response.status !== 503)
      throw new ApiError(response.status, `health answered ${response.status}`);
    return (await response.json()) as HealthReport;
  }

  private async json<T>(method: string, route: string, body?: unknown): Promise<T> {
    const response = await this.send(method, route, body);
    return (await response.json()) as T;
  }

  private async send(method: string, route: string, body?: unknown): Promise<Response> {
    const response = await fetch(new URL(route, API_BASE), {
      method,
      cache: "no-store",
      headers: {
        ...(await this.credential()),
        ...(body !== undefined && { "content-type": "application/json" }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw new ApiError(response.status, await problemText(response));
    return response;
  }
}

function linkRoute(link: WorkflowLinkView): string {
  return `stores/${segment(link.storeId)}/workflows/${segment(link.workflowId)}/flow`;
}

/** The problem's detail and field errors, or the status when the answer is not a problem. */
async function problemText(response: Response): Promise<string> {
  const fallback = `the relay answered ${response.status} ${response.statusText}`.trim();
  try {
    const problem = (await response.json()) as {
      title?: string;
      detail?: string;
      errors?: { path: string; message: string }[];
    };
    const fields = (problem.errors ?? []).map((error) => `${error.path} ${error.message}`);
    return [problem.detail ?? problem.title ?? fallback, ...fields].join("; ");
  } catch {
    return fallback;
  }
}

export async function loadSettings(): Promise<ConsoleSettings> {
  const response = await fetch(new URL("config.json", document.baseURI), { cache: "no-store" });
  if (!response.ok) throw new ApiError(response.status, await problemText(response));
  return (await response.json()) as ConsoleSettings;
}
