import { z } from "zod";
import { checkFlowUrl, redactUrl } from "../domain/flow-url";
import type { WorkflowLink } from "../domain/model";
import { DEFAULT_CALLS_PER_SECOND, MAX_CALLS_PER_SECOND } from "../domain/pacing";
import { jsonPointerPattern } from "../domain/trigger-payload";
import { newTriggerKey } from "../security/tokens";
import type { RelayDeps } from "./deps";
import { conflict, notFound } from "./errors";
import { parseBody } from "./validation";

function linkSchema(deps: RelayDeps) {
  return z.object({
    requestUrl: z.string({ message: "is required" }).superRefine((value, ctx) => {
      const check = checkFlowUrl(value, deps.settings.flowUrlPolicy);
      if (!check.ok) ctx.addIssue({ code: "custom", message: check.message });
    }),
    workflowName: z.string().trim().min(1).max(256).optional(),
    approvers: z
      .array(z.email({ message: "must be an email address" }))
      .max(50)
      .default([]),
    flowAuth: z.enum(["sas", "entra"]).optional(),
    requestIdPointer: z
      .string()
      .regex(jsonPointerPattern, { message: "must be a JSON pointer such as /request/id" })
      .optional(),
    rotateTriggerKey: z.boolean().default(false),
    maxCallsPerSecond: z.number().int().min(1).max(MAX_CALLS_PER_SECOND).optional(),
  });
}

export interface LinkView {
  storeId: string;
  workflowId: string;
  workflowName?: string;
  approvers: string[];
  flowAuth: WorkflowLink["flowAuth"];
  requestIdPointer?: string;
  maxCallsPerSecond: number;
  flow: { host: string; redactedUrl: string };
  triggerUrl?: string;
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
  if (!(await deps.stores.get(storeId)))
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
    ...(input.maxCallsPerSecond && { maxCallsPerSecond: input.maxCallsPerSecond }),
    updatedAt: deps.clock.now().toISOString(),
  };
  await deps.links.put(link);
  return { ...linkView(link), triggerUrl: triggerUrl(deps, link) };
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
