import { z } from "zod";
import { checkFlowUrl, redactUrl } from "../domain/flow-url";
import type { StoreRegistration, WorkflowLink } from "../domain/model";
import { DEFAULT_CALLS_PER_SECOND, MAX_CALLS_PER_SECOND } from "../domain/pacing";
import { jsonPointerPattern } from "../domain/trigger-payload";
import { newTriggerKey } from "../security/tokens";
import type { RelayDeps } from "./deps";
import { conflict, notFound, upstream } from "./errors";
import { parseBody } from "./validation";

/** Limits that keep a link well inside a Table row (a String property holds 32 K characters). */
const MAX_FLOW_URL_LENGTH = 4096;
const MAX_APPROVERS = 50;
/** RFC 5321's longest mailbox; a UPN has the same shape. */
const MAX_APPROVER_LENGTH = 320;
const MAX_REQUEST_ID_POINTER_LENGTH = 512;

/** One approver: an email address or a UPN (`alice@contoso.com`). */
const approverSchema = z
  .email({ message: "must be an email address" })
  .max(MAX_APPROVER_LENGTH, { message: `must be at most ${MAX_APPROVER_LENGTH} characters` });

export const approversSchema = z
  .array(approverSchema, { message: "must be a list of email addresses" })
  .max(MAX_APPROVERS, { message: `must name at most ${MAX_APPROVERS} approvers` });

export const workflowNameSchema = z
  .string({ message: "must be text" })
  .trim()
  .min(1, { message: "must not be empty" })
  .max(256, { message: "must be at most 256 characters" });

/**
 * The body of `PUT .../flow` (CONTRACT section 2), as the OpenAPI document shows it; the flow URL
 * is also checked against the settings' allow-list by `linkSchema`.
 */
export const linkBodySchema = z.object({
  requestUrl: z
    .string({ message: "is required" })
    .max(MAX_FLOW_URL_LENGTH, { message: `must be at most ${MAX_FLOW_URL_LENGTH} characters` })
    .meta({ format: "uri", description: "the flow's HTTP POST URL" }),
  workflowName: workflowNameSchema.optional(),
  approvers: approversSchema.default([]),
  flowAuth: z
    .enum(["sas", "entra"], { message: "must be sas or entra" })
    .optional()
    .meta({ description: "default: sas when the URL carries sig, else entra" }),
  requestIdPointer: z
    .string({ message: "must be a JSON pointer such as /request/id" })
    .max(MAX_REQUEST_ID_POINTER_LENGTH, {
      message: `must be at most ${MAX_REQUEST_ID_POINTER_LENGTH} characters`,
    })
    .regex(jsonPointerPattern, { message: "must be a JSON pointer such as /request/id" })
    .optional(),
  rotateTriggerKey: z.boolean({ message: "must be true or false" }).default(false),
  configureDirectoryManager: z.boolean({ message: "must be true or false" }).default(false).meta({
    description:
      "write the trigger URL into DM's workflow route (its msFlowRequestUrl) through the Data service",
  }),
  maxCallsPerSecond: z
    .number({ message: "must be a whole number" })
    .int({ message: "must be a whole number" })
    .min(1, { message: "must be at least 1" })
    .max(MAX_CALLS_PER_SECOND, { message: `must be at most ${MAX_CALLS_PER_SECOND}` })
    .optional()
    .meta({
      description: `flow calls per second dispatch keeps to (default ${DEFAULT_CALLS_PER_SECOND}; Power Automate allows 150)`,
    }),
  claims: z.boolean({ message: "must be true or false" }).optional().meta({
    description:
      "the flow claims each request before its approval (made from the relay's template); default: kept while the flow URL stays, and learnt from the first claim",
  }),
});

function linkSchema(deps: RelayDeps) {
  return linkBodySchema.extend({
    requestUrl: linkBodySchema.shape.requestUrl.superRefine((value, ctx) => {
      const check = checkFlowUrl(value, deps.settings.flowUrlPolicy);
      if (!check.ok) ctx.addIssue({ code: "custom", message: check.message });
    }),
  });
}

export interface LinkView {
  storeId: string;
  workflowId: string;
  workflowName?: string;
  approvers: string[];
  flowAuth: WorkflowLink["flowAuth"];
  requestIdPointer?: string;
  claims: boolean;
  maxCallsPerSecond: number;
  flow: { host: string; redactedUrl: string };
  triggerUrl?: string;
  /** Set when the body asked the relay to configure DM itself. */
  directoryManager?: { configured: true };
  updatedAt: string;
}

/** Links a DM workflow to its flow; the answer's triggerUrl is what goes into DM's Request URL. */
export async function linkWorkflow(
  deps: RelayDeps,
  storeId: string,
  workflowId: string,
  body: string,
): Promise<LinkView> {
  const input = parseBody(linkSchema(deps), body);
  const store = await deps.stores.get(storeId);
  if (!store)
    throw conflict(`store ${storeId} is not registered; register its Power Automate client first`);
  const existing = await deps.links.get(storeId, workflowId);
  const link: WorkflowLink = {
    storeId,
    workflowId,
    ...(input.workflowName && { workflowName: input.workflowName }),
    approvers: input.approvers,
    // A URL with its own signature is called as it is; otherwise the relay signs in to Entra.
    flowAuth:
      input.flowAuth ?? (new URL(input.requestUrl).searchParams.has("sig") ? "sas" : "entra"),
    requestUrl: input.requestUrl,
    triggerKey: existing && !input.rotateTriggerKey ? existing.triggerKey : newTriggerKey(),
    ...(input.requestIdPointer && { requestIdPointer: input.requestIdPointer }),
    ...((input.claims ?? (existing?.requestUrl === input.requestUrl && existing.claims)) && {
      claims: true,
    }),
    ...(input.maxCallsPerSecond && { maxCallsPerSecond: input.maxCallsPerSecond }),
    updatedAt: deps.clock.now().toISOString(),
  };
  await deps.links.put(link);
  const view = { ...linkView(link), triggerUrl: triggerUrl(deps, link) };
  if (!input.configureDirectoryManager) return view;
  await pointWorkflowRouteAt(deps, store, workflowId, view.triggerUrl);
  return { ...view, directoryManager: { configured: true } };
}

/**
 * DM's own setting of the workflow, through its documented route API (CONTRACT 2): the route is
 * read and saved back with `msFlowRequestUrl` set to the relay's trigger URL, so no step in DM's
 * Admin Center is left. Running it again writes the same value. A refusal keeps the link.
 */
async function pointWorkflowRouteAt(
  deps: RelayDeps,
  store: StoreRegistration,
  workflowId: string,
  url: string,
): Promise<void> {
  const refused = (call: string, reason: string) =>
    upstream(
      `Directory Manager: ${call} failed: ${reason}; the link is kept, so it is safe to run again`,
      {
        upstream: { call: `Directory Manager: ${call}`, reason },
        triggerUrl: url,
      },
    );
  const read = await deps.dataService.workflowRoute(store, workflowId);
  if (read.kind !== "ok") throw refused(`read workflow route ${workflowId}`, read.reason);
  const saved = await deps.dataService.saveWorkflowRoute(store, {
    ...read.route,
    msFlowRequestUrl: url,
  });
  if (saved.kind !== "ok") throw refused(`save workflow route ${workflowId}`, saved.reason);
}

export async function getLink(
  deps: RelayDeps,
  storeId: string,
  workflowId: string,
): Promise<LinkView> {
  const link = await deps.links.get(storeId, workflowId);
  if (!link) throw notFound(`workflow ${workflowId} of store ${storeId} is not linked`);
  return linkView(link);
}

/** The store's links without their secrets; 404 when the store is not registered. */
export async function listLinks(
  deps: RelayDeps,
  storeId: string,
): Promise<{ storeId: string; workflows: LinkView[] }> {
  if (!(await deps.stores.get(storeId))) throw notFound(`store ${storeId} is not registered`);
  return { storeId, workflows: (await deps.links.list(storeId)).map(linkView) };
}

export async function unlinkWorkflow(
  deps: RelayDeps,
  storeId: string,
  workflowId: string,
): Promise<void> {
  if (!(await deps.links.delete(storeId, workflowId)))
    throw notFound(`workflow ${workflowId} of store ${storeId} is not linked`);
}

/** The link without its secrets (flow signature, trigger key). */
function linkView(link: WorkflowLink): LinkView {
  return {
    storeId: link.storeId,
    workflowId: link.workflowId,
    ...(link.workflowName && { workflowName: link.workflowName }),
    approvers: link.approvers,
    flowAuth: link.flowAuth,
    ...(link.requestIdPointer && { requestIdPointer: link.requestIdPointer }),
    claims: link.claims === true,
    maxCallsPerSecond: link.maxCallsPerSecond ?? DEFAULT_CALLS_PER_SECOND,
    flow: { host: new URL(link.requestUrl).host, redactedUrl: redactUrl(link.requestUrl) },
    updatedAt: link.updatedAt,
  };
}

function triggerUrl(deps: RelayDeps, link: WorkflowLink): string {
  return (
    `${deps.settings.publicBaseUrl}/api/stores/${encodeURIComponent(link.storeId)}` +
    `/workflows/${encodeURIComponent(link.workflowId)}/trigger?sig=${encodeURIComponent(link.triggerKey)}`
  );
}
