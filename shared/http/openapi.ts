/**
 * The relay's HTTP API as an OpenAPI 3.1 document, built from one route table and from the zod
 * schemas the use cases validate requests with, so the document cannot describe other bodies
 * than the ones accepted. Served at `GET /api/openapi.json` and written to `docs/openapi.json`
 * (`npm run docs`); a test checks every registered route and status code is in it.
 *
 * To document a new route: add its request schema to the use case's module (exported), then one
 * entry to ROUTES.
 */
import { z } from "zod";
import { claimBodySchema } from "../app/claim-schema";
import { flowSetupSchema } from "../app/flow-setup";
import { linkBodySchema } from "../app/links";
import { storeRegistrationSchema } from "../app/stores";
import { MAX_TRIGGER_BYTES } from "../domain/trigger-payload";
import { decisionBodySchema } from "../domain/decision";
import { requestIdSchema, storeIdSchema, workflowIdSchema } from "../domain/ids";
import {
  flowRunSchema,
  historyEntrySchema,
  recordedDecisionSchema,
} from "../domain/record-schemas";
import { REQUEST_STATES } from "../domain/model";

/**
 * How a route is protected. `authLevel` is its registration (`app.http`) with
 * RELAY_ADMIN_AUTH=key; `credential` is what the app itself checks on anonymous routes.
 */
export type AuthLevel = "anonymous" | "function" | "admin";
export type AppCredential = "trigger-key" | "callback-token";

type Method = "GET" | "PUT" | "POST" | "DELETE";

export interface ResponseDoc {
  description: string;
  /** A named component (see COMPONENTS); "problem" is application/problem+json. */
  body?: ComponentName | "problem";
  /** Media types of other, binary bodies the route may answer with instead (the solution zip). */
  binary?: string[];
}

export interface QueryParameterDoc {
  name: string;
  description: string;
  schema: z.ZodType;
}

export interface RouteDoc {
  /** The function's registered name. */
  operationId: string;
  method: Method;
  /** The route under `/api`, as registered, with `{name}` parameters. */
  path: string;
  summary: string;
  description?: string;
  tag: "Administration" | "Directory Manager" | "Flow" | "Platform";
  authLevel: AuthLevel;
  credential?: AppCredential;
  query?: QueryParameterDoc[];
  headers?: QueryParameterDoc[];
  body?: { schema: ComponentName; description: string; required: boolean };
  responses: Record<number, ResponseDoc>;
}

const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    errors: z
      .array(
        z.object({
          path: z.string().meta({ description: "JSON pointer: /field, /path/<id>, /query/<name>" }),
          message: z.string(),
        }),
      )
      .optional()
      .meta({ description: "for validation failures: each bad field" }),
  })
  .catchall(z.unknown())
  .meta({
    description: "RFC 9457 problem details; a 409 adds members saying what stands in the way",
  });

const flowHostSchema = z.object({
  host: z.string(),
  redactedUrl: z.string().meta({ description: "the flow URL with its sig as REDACTED" }),
});

const linkViewSchema = z.object({
  storeId: z.string(),
  workflowId: z.string(),
  workflowName: z.string().optional(),
  approvers: z.array(z.string()),
  flowAuth: z.enum(["sas", "entra"]),
  requestIdPointer: z.string().optional(),
  flow: flowHostSchema,
  triggerUrl: z
    .string()
    .optional()
    .meta({ description: "only in the answer of PUT: what goes into DM's Request URL" }),
  updatedAt: z.string(),
});

const requestStatusSchema = z.object({
  storeId: z.string(),
  workflowId: z.string(),
  requestId: z.string(),
  state: z.enum(REQUEST_STATES),
  decision: recordedDecisionSchema.optional(),
  dmOutcome: z.enum(["approved", "denied"]).optional(),
  flowRunId: z.string().optional(),
  flowRun: flowRunSchema
    .omit({ cancelAttempts: true })
    .extend({ portalUrl: z.string() })
    .optional(),
  nextAttemptAt: z.string().optional().meta({ description: "when a scheduled retry is due" }),
  attempts: z.object({ flow: z.number().int(), apply: z.number().int() }),
  lastError: z.string().optional(),
  redrives: z.number().int(),
  history: z.array(historyEntrySchema),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** Every schema the document names, requests (the use cases' own) and answers. */
const COMPONENTS = {
  Problem: problemSchema,
  StoreRegistrationInput: storeRegistrationSchema,
  StoreRegistration: storeRegistrationSchema.extend({
    storeId: z.string(),
    updatedAt: z.string(),
  }),
  LinkInput: linkBodySchema,
  Link: linkViewSchema,
  FlowSetupInput: flowSetupSchema,
  CreatedFlow: linkViewSchema.extend({
    cloudFlow: z.object({
      flowId: z.string(),
      environmentId: z.string(),
      name: z.string(),
      state: z.literal("on"),
    }),
  }),
  FlowTemplate: z.object({
    definition: z
      .record(z.string(), z.unknown())
      .meta({ description: "Logic Apps workflow definition (schema 2016-06-01)" }),
    connectionReferences: z.record(z.string(), z.unknown()),
  }),
  TriggerDocument: z
    .record(z.string(), z.unknown())
    .meta({ description: "any JSON object up to 256 KiB, in DM's own format" }),
  TriggerAccepted: z.object({
    requestId: z.string(),
    status: z.literal("queued"),
    duplicate: z.literal(true).optional(),
  }),
  DecisionInput: decisionBodySchema,
  DecisionAnswer: z.object({
    requestId: z.string(),
    decision: z.enum(["approved", "denied"]),
    status: z.literal("decided"),
  }),
  ClaimInput: claimBodySchema,
  ClaimAnswer: z.object({ requestId: z.string(), proceed: z.literal(true), runId: z.string() }),
  RequestStatus: requestStatusSchema,
  RequestList: z.object({
    storeId: z.string(),
    state: z.enum(REQUEST_STATES).optional(),
    requests: z.array(requestStatusSchema),
  }),
  Redriven: z.object({ requestId: z.string(), state: z.enum(REQUEST_STATES) }),
  Health: z.object({
    status: z.enum(["healthy", "unhealthy"]),
    checks: z.record(z.string(), z.enum(["ok", "failing"])),
  }),
  OpenApiDocument: z.record(z.string(), z.unknown()).meta({ description: "this document" }),
  StoreList: z.object({
    stores: z.array(storeRegistrationSchema.extend({ storeId: z.string(), updatedAt: z.string() })),
  }),
  LinkList: z.object({ storeId: z.string(), workflows: z.array(linkViewSchema) }),
  Me: z.object({
    mode: z.enum(["key", "entra"]),
    actor: z.object({ id: z.string(), name: z.string().optional() }),
    roles: z.array(z.string()),
    canChange: z.boolean().meta({ description: "whether this caller may use the change routes" }),
  }),
} satisfies Record<string, z.ZodType>;
type ComponentName = keyof typeof COMPONENTS;
/** The body of a named component, as TypeScript sees it (the console's view of the API). */
export type ComponentBody<Name extends ComponentName> = z.infer<(typeof COMPONENTS)[Name]>;

const problem = (description: string): ResponseDoc => ({ description, body: "problem" });
const invalidIds = problem("an identifier in the path, or a query parameter, is not valid");
const unavailable = problem("Table Storage or Service Bus did not answer; try again");

const approversQuery: QueryParameterDoc[] = [
  {
    name: "format",
    description: "definition (JSON, the default) or solution (a zip to import)",
    schema: z.enum(["definition", "solution"]),
  },
  {
    name: "approvers",
    description: "comma-separated approvers, for a workflow not linked yet (or linked without)",
    schema: z.string(),
  },
  {
    name: "workflowName",
    description: "the flow's display name",
    schema: flowSetupSchema.shape.workflowName,
  },
  { name: "flowAuth", description: "sas or entra", schema: flowSetupSchema.shape.flowAuth },
  {
    name: "connectionReference",
    description: "the Approvals connection reference's logical name",
    schema: flowSetupSchema.shape.connectionReferenceLogicalName,
  },
];

/** Every HTTP route the app registers (functions/), in the contract's order. */
export const ROUTES: RouteDoc[] = [
  {
    operationId: "registerStore",
    method: "PUT",
    path: "stores/{storeId}/power-automate",
    tag: "Administration",
    summary: "Register the Power Automate client of an identity store",
    description:
      "The fields of DM's Register Client dialog. URLs are https (http only to loopback with RELAY_ALLOW_LOOPBACK=true); securityServiceUrl is required with DATA_SERVICE_AUTH=dm-token.",
    authLevel: "admin",
    body: { schema: "StoreRegistrationInput", description: "the registration", required: true },
    responses: {
      200: { description: "the stored registration", body: "StoreRegistration" },
      400: problem("a field is missing or not valid (errors names each)"),
      413: problem("the body is over 64 KiB"),
      503: unavailable,
    },
  },
  {
    operationId: "getStore",
    method: "GET",
    path: "stores/{storeId}/power-automate",
    tag: "Administration",
    summary: "Read an identity store's registration",
    authLevel: "admin",
    responses: {
      200: { description: "the registration", body: "StoreRegistration" },
      400: invalidIds,
      404: problem("the store is not registered"),
      503: unavailable,
    },
  },
  {
    operationId: "linkWorkflow",
    method: "PUT",
    path: "stores/{storeId}/workflows/{workflowId}/flow",
    tag: "Administration",
    summary: "Link a workflow to its flow",
    description:
      "The flow URL must be https on a host of RELAY_ALLOWED_FLOW_HOSTS, without credentials, not a private address; loopback only when RELAY_ALLOW_LOOPBACK=true and the list names it. Re-linking keeps the trigger URL unless rotateTriggerKey is true.",
    authLevel: "admin",
    body: { schema: "LinkInput", description: "the flow and its approvers", required: true },
    responses: {
      200: { description: "the link, with the triggerUrl to paste into DM", body: "Link" },
      400: problem("a field is missing or not valid (errors names each)"),
      409: problem("the store is not registered"),
      413: problem("the body is over 64 KiB"),
      502: problem("Directory Manager refused to take the trigger URL; the link is kept"),
      503: unavailable,
    },
  },
  {
    operationId: "getLink",
    method: "GET",
    path: "stores/{storeId}/workflows/{workflowId}/flow",
    tag: "Administration",
    summary: "Read a workflow's link, without secrets",
    authLevel: "admin",
    responses: {
      200: { description: "the link (no triggerUrl, the flow URL's sig redacted)", body: "Link" },
      400: invalidIds,
      404: problem("the workflow is not linked"),
      503: unavailable,
    },
  },
  {
    operationId: "unlinkWorkflow",
    method: "DELETE",
    path: "stores/{storeId}/workflows/{workflowId}/flow",
    tag: "Administration",
    summary: "Unlink a workflow (later triggers: 404)",
    authLevel: "admin",
    responses: {
      204: { description: "unlinked" },
      400: invalidIds,
      404: problem("the workflow is not linked"),
      503: unavailable,
    },
  },
  {
    operationId: "flowTemplate",
    method: "GET",
    path: "stores/{storeId}/workflows/{workflowId}/flow-template",
    tag: "Administration",
    summary: "The workflow's flow, as a definition or a solution zip",
    description:
      "Built from the stored link; the query gives what a workflow that is not linked yet (or linked without approvers) lacks.",
    authLevel: "admin",
    query: approversQuery,
    responses: {
      200: {
        description: "the flow definition, or with ?format=solution an unmanaged solution zip",
        body: "FlowTemplate",
        binary: ["application/zip"],
      },
      400: problem("a query parameter is not valid"),
      404: problem("the workflow is not linked and the query names no approvers"),
      409: problem("the workflow is linked without approvers: give ?approvers="),
      503: unavailable,
    },
  },
  {
    operationId: "createFlow",
    method: "POST",
    path: "stores/{storeId}/workflows/{workflowId}/flow/create",
    tag: "Administration",
    summary: "Create the workflow's flow in the store's environment, turn it on and link it",
    authLevel: "admin",
    body: {
      schema: "FlowSetupInput",
      description: "optional: what the stored link does not say",
      required: false,
    },
    responses: {
      200: { description: "the link with its triggerUrl and the cloud flow", body: "CreatedFlow" },
      400: problem("a field is not valid (errors names each)"),
      404: problem("the workflow is not linked and the body names no approvers"),
      409: problem("the store is not registered, or the link has no approvers"),
      413: problem("the body is over 64 KiB"),
      502: problem("Dataverse or Power Automate refused a call (upstream names it)"),
      503: unavailable,
    },
  },
  {
    operationId: "trigger",
    method: "POST",
    path: "stores/{storeId}/workflows/{workflowId}/trigger",
    tag: "Directory Manager",
    summary: "A workflow request from Directory Manager",
    description:
      "The trigger URL of a link: DM posts its workflow request here in place of the flow's URL. The request id is read from the document (or the link's requestIdPointer), else derived from a hash of the workflow and the document.",
    authLevel: "anonymous",
    credential: "trigger-key",
    body: {
      schema: "TriggerDocument",
      description: `DM's document, up to ${MAX_TRIGGER_BYTES / 1024} KiB`,
      required: true,
    },
    responses: {
      202: { description: "queued (duplicate: true for a known request)", body: "TriggerAccepted" },
      400: problem("not JSON, not an object, or a request id that is not valid"),
      401: problem("the sig is missing or wrong"),
      404: problem("the store or the workflow link is unknown"),
      413: problem("the body is over 256 KiB"),
      415: problem("the content type is not JSON"),
      503: problem("recorded but not queued, or storage did not answer: send it again"),
    },
  },
  {
    operationId: "claim",
    method: "POST",
    path: "stores/{storeId}/requests/{requestId}/claim",
    tag: "Flow",
    summary: "A flow run claims the request before its approval",
    description:
      "The first action of a flow made from the template; only the run that holds the claim goes on.",
    authLevel: "anonymous",
    credential: "callback-token",
    body: { schema: "ClaimInput", description: "the run, from workflow()", required: true },
    responses: {
      200: { description: "this run holds the claim (also for a repeat)", body: "ClaimAnswer" },
      400: problem("a field is missing or not valid (errors names each)"),
      401: problem("the callback token is missing, wrong, expired or another request's"),
      404: problem("the request is unknown"),
      409: problem(
        "another run holds the claim (proceed: false, claimedBy), or the request is decided or final (proceed: false, state)",
      ),
      503: unavailable,
    },
  },
  {
    operationId: "decision",
    method: "POST",
    path: "stores/{storeId}/requests/{requestId}/decision",
    tag: "Flow",
    summary: "The approval's outcome, from the flow",
    description:
      "Either the relay's own shape or the output body of Start and wait for an approval as it is.",
    authLevel: "anonymous",
    credential: "callback-token",
    headers: [
      {
        name: "x-relay-run-id",
        description: "the flow run deciding; another run than the one that claimed gets 409",
        schema: z.string().max(128),
      },
    ],
    body: { schema: "DecisionInput", description: "the decision", required: true },
    responses: {
      200: { description: "the same decision again: nothing changes", body: "DecisionAnswer" },
      202: { description: "recorded, to be written to DM", body: "DecisionAnswer" },
      400: problem("not JSON, or an outcome other than approve/reject/deny"),
      401: problem("the callback token is missing, wrong, expired or another request's"),
      404: problem("the request is unknown"),
      409: problem("a different decision stands, or DM decided first (decision, decidedBy, state)"),
      503: problem("recorded but not queued, or storage did not answer: send it again"),
    },
  },
  {
    operationId: "requestStatus",
    method: "GET",
    path: "stores/{storeId}/requests/{requestId}",
    tag: "Administration",
    summary: "Where a request stands, with its history",
    authLevel: "admin",
    responses: {
      200: { description: "the request", body: "RequestStatus" },
      400: invalidIds,
      404: problem("the request is unknown"),
      503: unavailable,
    },
  },
  {
    operationId: "listRequests",
    method: "GET",
    path: "stores/{storeId}/requests",
    tag: "Administration",
    summary: "A store's requests, optionally in one state",
    authLevel: "admin",
    query: [
      { name: "state", description: "only requests in this state", schema: z.enum(REQUEST_STATES) },
    ],
    responses: {
      200: { description: "the requests", body: "RequestList" },
      400: problem("an identifier or the state is not valid"),
      503: unavailable,
    },
  },
  {
    operationId: "redrive",
    method: "POST",
    path: "stores/{storeId}/requests/{requestId}/redrive",
    tag: "Administration",
    summary: "Queue a failed or stuck request again from the step it failed or waits for",
    authLevel: "admin",
    responses: {
      202: { description: "queued again", body: "Redriven" },
      400: invalidIds,
      404: problem("the request is unknown"),
      409: problem("the request is neither failed nor stuck (state)"),
      503: unavailable,
    },
  },
  {
    operationId: "health",
    method: "GET",
    path: "health",
    tag: "Platform",
    summary: "Whether Table Storage and Service Bus answer",
    authLevel: "anonymous",
    responses: {
      200: { description: "healthy", body: "Health" },
      503: { description: "a check failed (checks names it)", body: "Health" },
    },
  },
  {
    operationId: "listStores",
    method: "GET",
    path: "stores",
    tag: "Administration",
    summary: "Every registered identity store",
    authLevel: "admin",
    responses: { 200: { description: "the registrations", body: "StoreList" }, 503: unavailable },
  },
  {
    operationId: "listWorkflows",
    method: "GET",
    path: "stores/{storeId}/workflows",
    tag: "Administration",
    summary: "A store's workflow links, without secrets",
    authLevel: "admin",
    responses: {
      200: { description: "the links", body: "LinkList" },
      400: invalidIds,
      404: problem("the store is not registered"),
      503: unavailable,
    },
  },
  {
    operationId: "me",
    method: "GET",
    path: "me",
    tag: "Administration",
    summary: "Who the caller is and what it may do (the console hides buttons from readers)",
    authLevel: "admin",
    responses: { 200: { description: "the caller", body: "Me" } },
  },
  {
    operationId: "console",
    method: "GET",
    path: "console/{*path}",
    tag: "Platform",
    summary: "The web console's page, its assets and its sign-in settings (config.json)",
    authLevel: "anonymous",
    responses: {
      200: {
        description: "a file of the console",
        binary: ["text/html", "application/javascript"],
      },
      400: problem("the path is not valid"),
      404: problem("no such file"),
      503: problem("the console is not built (npm run build)"),
    },
  },
  {
    operationId: "openapi",
    method: "GET",
    path: "openapi.json",
    tag: "Platform",
    summary: "This document",
    authLevel: "anonymous",
    responses: { 200: { description: "the OpenAPI document", body: "OpenApiDocument" } },
  },
];

const PATH_IDS: Record<string, z.ZodType> = {
  storeId: storeIdSchema,
  workflowId: workflowIdSchema,
  requestId: requestIdSchema,
};

type JsonObject = Record<string, unknown>;

const JSON_SCHEMA_OPTIONS = { target: "draft-2020-12", io: "input" } as const;

function jsonSchema(schema: z.ZodType): JsonObject {
  const { $schema: _schema, ...rest } = z.toJSONSchema(schema, JSON_SCHEMA_OPTIONS) as JsonObject;
  return rest;
}

function componentSchemas(): JsonObject {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(COMPONENTS)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    ...JSON_SCHEMA_OPTIONS,
    uri: (id) => `#/components/schemas/${id}`,
  });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, schema]) => {
      const { $schema: _schema, $id: _id, ...rest } = schema as JsonObject;
      return [id, rest];
    }),
  );
}

const ref = (name: ComponentName): JsonObject => ({ $ref: `#/components/schemas/${name}` });

const ADMIN_SECURITY = [{ functionKey: [] }, { functionKeyQuery: [] }, { entra: [] }];
const SECURITY: Record<AppCredential, JsonObject[]> = {
  "trigger-key": [{ triggerKey: [] }],
  "callback-token": [{ callbackToken: [] }],
};

function operation(route: RouteDoc): JsonObject {
  const pathIds = [...route.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1] as string);
  const parameters = [
    ...pathIds.map((name) => ({
      name,
      in: "path",
      required: true,
      schema: jsonSchema(PATH_IDS[name] as z.ZodType),
    })),
    ...(route.query ?? []).map((parameter) => ({
      name: parameter.name,
      in: "query",
      required: false,
      description: parameter.description,
      schema: jsonSchema(parameter.schema),
    })),
    ...(route.headers ?? []).map((parameter) => ({
      name: parameter.name,
      in: "header",
      required: false,
      description: parameter.description,
      schema: jsonSchema(parameter.schema),
    })),
  ];
  const responses: Record<number, ResponseDoc> = { ...route.responses };
  if (route.authLevel !== "anonymous") {
    responses[401] = problem("no key or token, or a wrong one");
    responses[403] = problem("with Entra sign-in: a token without the app role the route needs");
  }
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description && { description: route.description }),
    tags: [route.tag],
    security:
      route.authLevel !== "anonymous"
        ? ADMIN_SECURITY
        : route.credential
          ? SECURITY[route.credential]
          : [],
    ...(parameters.length > 0 && { parameters }),
    ...(route.body && {
      requestBody: {
        required: route.body.required,
        description: route.body.description,
        content: { "application/json": { schema: ref(route.body.schema) } },
      },
    }),
    responses: Object.fromEntries(
      Object.entries(responses).map(([status, response]) => [
        status,
        {
          description: response.description,
          ...(response.body && {
            content: {
              [response.body === "problem" ? "application/problem+json" : "application/json"]: {
                schema: ref(response.body === "problem" ? "Problem" : response.body),
              },
              ...Object.fromEntries(
                (response.binary ?? []).map((mediaType) => [
                  mediaType,
                  { schema: { type: "string", contentMediaType: mediaType } },
                ]),
              ),
            },
          }),
        },
      ]),
    ),
  };
}

/** The call the relay makes to a flow (CONTRACT section 4), as an OpenAPI webhook. */
function flowCall(): JsonObject {
  const header = (name: string, description: string) => ({
    name,
    in: "header",
    required: true,
    description,
    schema: { type: "string" },
  });
  return {
    post: {
      operationId: "callFlow",
      summary: "The relay calls the linked flow's HTTP POST URL with DM's document",
      tags: ["Flow"],
      parameters: [
        header("x-relay-request-id", "the requestId"),
        header("x-relay-store-id", "the storeId"),
        header("x-relay-workflow-id", "the workflowId"),
        header("x-relay-callback-url", "where the flow posts its decision"),
        header("x-relay-callback-token", "bearer token for the decision and the claim"),
        header("x-relay-claim-url", "where the flow claims the request first"),
        header("x-relay-attempt", "1, 2, ..."),
        header("x-ms-client-tracking-id", "the requestId"),
      ],
      requestBody: {
        required: true,
        content: { "application/json": { schema: ref("TriggerDocument") } },
      },
      responses: {
        200: { description: "triggered" },
        202: { description: "triggered (x-ms-workflow-run-id is kept)" },
        429: { description: "retried with backoff, honouring Retry-After" },
        "5XX": { description: "retried with backoff" },
        400: { description: "permanent: the request is flow-failed" },
      },
    },
  };
}

/** The OpenAPI document; `serverUrl` is the relay's base URL when it is known. */
export function openApiDocument(serverUrl?: string): JsonObject {
  const paths: Record<string, JsonObject> = {};
  for (const route of ROUTES)
    (paths[`/${route.path}`] ??= {})[route.method.toLowerCase()] = operation(route);
  return {
    openapi: "3.1.0",
    info: {
      title: "dm-flow-relay",
      version: "1",
      summary: "Relays Directory Manager workflow requests to Power Automate approval flows",
      description:
        "Errors are application/problem+json (RFC 9457); no answer carries a flow URL's sig, a callback token, a trigger key or any other secret. The contract: docs/contract.md.",
    },
    servers: [
      serverUrl
        ? { url: `${serverUrl}/api` }
        : {
            url: "{relay}/api",
            variables: {
              relay: { default: "http://localhost:7071", description: "RELAY_PUBLIC_BASE_URL" },
            },
          },
    ],
    tags: [
      {
        name: "Administration",
        description: "admin routes (function key, or Entra with RELAY_ADMIN_AUTH=entra)",
      },
      { name: "Directory Manager", description: "called by DM" },
      {
        name: "Flow",
        description: "called by the Power Automate flow, and the relay's call to it",
      },
      { name: "Platform", description: "anonymous" },
    ],
    paths,
    webhooks: { flowCall: flowCall() },
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        functionKey: {
          type: "apiKey",
          in: "header",
          name: "x-functions-key",
          description:
            "a function or host key (locally RELAY_LOCAL_KEY), with RELAY_ADMIN_AUTH=key",
        },
        functionKeyQuery: { type: "apiKey", in: "query", name: "code" },
        entra: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description:
            "with RELAY_ADMIN_AUTH=entra: an Entra token for the relay's API with app role Relay.Admin (any admin route) or Relay.Reader (GET admin routes)",
        },
        triggerKey: {
          type: "apiKey",
          in: "query",
          name: "sig",
          description: "the link's trigger key, part of its triggerUrl",
        },
        callbackToken: {
          type: "http",
          scheme: "bearer",
          description: "the x-relay-callback-token the relay sent the flow, valid for one request",
        },
      },
    },
  };
}
