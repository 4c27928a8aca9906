/**
 * Setting a workflow's flow up: its template (CONTRACT section 7), the same as a solution to
 * import, or created and turned on in the store's environment and linked in one call.
 */
import JSZip from "jszip";
import { z } from "zod";
import { buildSolution } from "../domain/flow-solution";
import {
  buildFlowTemplate,
  cloudFlowId,
  flowClientData,
  flowDisplayName,
  type FlowTemplate,
  type FlowTemplateInput,
} from "../domain/flow-template";
import type { PlatformAnswer, PowerPlatformTarget } from "../ports";
import type { RelayDeps } from "./deps";
import { RelayProblem, conflict, invalid, notFound, upstream } from "./errors";
import { approversSchema, linkWorkflow, workflowNameSchema, type LinkView } from "./links";
import { fieldErrors, parseBody } from "./validation";

/** What the administrator may say about the flow; the stored link fills in the rest. */
export const flowSetupSchema = z.object({
  workflowName: workflowNameSchema.optional(),
  approvers: approversSchema.min(1).optional(),
  flowAuth: z.enum(["sas", "entra"]).optional(),
  connectionReferenceLogicalName: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]+$/, {
      message: "must be a connection reference's logical name such as dmrelay_sharedapprovals",
    })
    .max(100)
    .optional(),
  configureDirectoryManager: z.boolean({ message: "must be true or false" }).optional(),
});
type FlowSetupAnswers = z.infer<typeof flowSetupSchema>;

export type TemplateFormat = "definition" | "solution";

export interface TemplateQuery {
  get(name: string): string | null;
}

/** The query of `GET .../flow-template`: `format`, and answers for a workflow not linked yet. */
function parseTemplateQuery(query: TemplateQuery): {
  format: TemplateFormat;
  answers: FlowSetupAnswers;
} {
  const format = query.get("format") ?? "definition";
  const raw = {
    workflowName: query.get("workflowName") ?? undefined,
    approvers: query
      .get("approvers")
      ?.split(/[,;]/)
      .map((approver) => approver.trim())
      .filter(Boolean),
    flowAuth: query.get("flowAuth") ?? undefined,
    connectionReferenceLogicalName: query.get("connectionReference") ?? undefined,
  };
  const parsed = flowSetupSchema.safeParse(raw);
  const errors = parsed.success
    ? []
    : fieldErrors(parsed.error).map((error) => ({ ...error, path: `/query${error.path}` }));
  const isFormat = format === "definition" || format === "solution";
  if (!isFormat) errors.push({ path: "/query/format", message: "must be definition or solution" });
  if (!parsed.success || !isFormat) throw invalid("the query is not valid", errors);
  return { format, answers: parsed.data };
}

/** Where the administrator's answers came from: the template's query or create-flow's body. */
type AnswersIn = "query" | "body";

/** The template's input: the administrator's answers over the stored link. */
async function templateInput(
  deps: RelayDeps,
  storeId: string,
  workflowId: string,
  answers: FlowSetupAnswers,
  answersIn: AnswersIn,
): Promise<FlowTemplateInput> {
  const link = await deps.links.get(storeId, workflowId);
  const approvers = answers.approvers ?? link?.approvers;
  if (!approvers || approvers.length === 0) {
    const give = answersIn === "query" ? "?approvers=a@x.com,b@x.com" : '"approvers": [...]';
    if (!link)
      throw notFound(
        `workflow ${workflowId} of store ${storeId} is not linked; link it or give ${give}`,
      );
    // The link exists, so not 404: it lacks what the flow needs, which the caller can give.
    throw new RelayProblem(
      "conflict",
      "Conflict",
      `workflow ${workflowId} of store ${storeId} is linked without approvers; give ${give} or link it again with approvers`,
      [
        {
          path: answersIn === "query" ? "/query/approvers" : "/approvers",
          message: "the link has no approvers; name at least one",
        },
      ],
    );
  }
  const workflowName = answers.workflowName ?? link?.workflowName;
  return {
    workflowId,
    ...(workflowName && { workflowName }),
    approvers,
    // "Anyone" with the URL's signature works whatever tenant the relay's identity lives in.
    flowAuth: answers.flowAuth ?? link?.flowAuth ?? "sas",
    ...(answers.connectionReferenceLogicalName && {
      connectionReferenceLogicalName: answers.connectionReferenceLogicalName,
    }),
  };
}

export type FlowTemplateAnswer =
  | { format: "definition"; template: FlowTemplate }
  | { format: "solution"; fileName: string; zip: Buffer };

export async function getFlowTemplate(
  deps: RelayDeps,
  storeId: string,
  workflowId: string,
  query: TemplateQuery,
): Promise<FlowTemplateAnswer> {
  const { format, answers } = parseTemplateQuery(query);
  const input = await templateInput(deps, storeId, workflowId, answers, "query");
  const template = buildFlowTemplate(input);
  if (format === "definition") return { format, template };
  const solution = buildSolution({
    storeId,
    workflowId,
    flowName: flowDisplayName(input),
    template,
  });
  return { format, fileName: solution.fileName, zip: await zipOf(solution.files) };
}

/** A fixed timestamp, so the same solution always zips to the same bytes. */
const ZIP_DATE = new Date("2020-01-01T00:00:00Z");

async function zipOf(files: Map<string, string>): Promise<Buffer> {
  const zip = new JSZip();
  for (const [path, content] of files)
    zip.file(path, content, { date: ZIP_DATE, createFolders: false });
  return zip.generateAsync({ type: "nodebuffer", compression: "DEFLATE" });
}

export interface CreatedFlow extends LinkView {
  cloudFlow: { flowId: string; environmentId: string; name: string; state: "on" };
}

/**
 * Creates (or updates) the workflow's flow in the store's environment, turns it on, reads its
 * trigger URL and links the workflow to it: the answer's triggerUrl goes into DM.
 */
export async function createFlow(
  deps: RelayDeps,
  storeId: string,
  workflowId: string,
  body: string,
): Promise<CreatedFlow> {
  const answers = parseBody(flowSetupSchema, body.trim() === "" ? "{}" : body);
  const registration = await deps.stores.get(storeId);
  if (!registration)
    throw conflict(`store ${storeId} is not registered; register its Power Automate client first`);
  const input = await templateInput(deps, storeId, workflowId, answers, "body");
  const target: PowerPlatformTarget = {
    organizationCode: registration.organizationCode,
    region: registration.region,
    tenantId: registration.tenantId,
    clientId: registration.clientId,
  };
  const flowId = cloudFlowId(storeId, workflowId);
  const name = flowDisplayName(input);
  const platform = deps.powerPlatform;

  const environmentId = succeeded(await platform.environmentId(target));
  succeeded(
    await platform.saveFlow(target, {
      flowId,
      name,
      description: `Approval flow of Directory Manager workflow ${workflowId} (store ${storeId}), relayed by dm-flow-relay.`,
      clientData: flowClientData(buildFlowTemplate(input)),
    }),
  );
  succeeded(await platform.activateFlow(target, flowId));
  const requestUrl = succeeded(await platform.triggerUrl(target, environmentId, flowId));

  const existing = await deps.links.get(storeId, workflowId);
  const link = await linkWorkflow(
    deps,
    storeId,
    workflowId,
    JSON.stringify({
      requestUrl,
      ...(input.workflowName && { workflowName: input.workflowName }),
      approvers: input.approvers,
      flowAuth: input.flowAuth,
      ...(existing?.requestIdPointer && { requestIdPointer: existing.requestIdPointer }),
      // The relay's template claims each request (CONTRACT 4b).
      claims: true,
      ...(answers.configureDirectoryManager && { configureDirectoryManager: true }),
    }),
  );
  return { ...link, cloudFlow: { flowId, environmentId, name, state: "on" } };
}

/** The value of a successful call; a failed one becomes a 502 naming the call and its cause. */
function succeeded<T>(answer: PlatformAnswer<T>): T {
  if (answer.ok) return answer.value;
  const { call, cause, status, reason, retryAfterMs } = answer.failure;
  throw upstream(`${call} failed: ${reason}`, {
    upstream: {
      call,
      cause,
      ...(status !== undefined && { status }),
      ...(retryAfterMs !== undefined && { retryAfterSeconds: Math.ceil(retryAfterMs / 1000) }),
    },
  });
}
