/**
 * The Power Automate cloud flow that goes with a linked workflow (CONTRACT section 7), as Power
 * Automate stores it: a Logic Apps workflow definition (schema 2016-06-01) plus its connection
 * references. It receives DM's document from the relay, starts an approval and posts the
 * approval's output to the relay's callback with the token the relay sent along (CONTRACT
 * section 4 headers).
 */
import { createHash } from "node:crypto";
import type { FlowAuth } from "./model";

export const WORKFLOW_DEFINITION_SCHEMA =
  "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#";
export const APPROVALS_CONNECTION = "shared_approvals";
export const APPROVALS_API_ID = "/providers/Microsoft.PowerApps/apis/shared_approvals";
/**
 * The connection reference every relay flow uses: one per environment, bound once to an
 * Approvals connection (by importing a solution package or in the maker portal).
 */
export const DEFAULT_CONNECTION_REFERENCE = "dmrelay_sharedapprovals";

export const TRIGGER_NAME = "manual";
export const APPROVAL_ACTION = "Start_and_wait_for_an_approval";
export const CALLBACK_ACTION = "Send_the_decision_to_the_relay";

/** What the template is made from: the stored link, or the administrator's answers. */
export interface FlowTemplateInput {
  workflowId: string;
  workflowName?: string;
  approvers: string[];
  flowAuth: FlowAuth;
  connectionReferenceLogicalName?: string;
}

export interface ConnectionReference {
  runtimeSource: "embedded";
  connection: { connectionReferenceLogicalName: string };
  api: { name: string };
}

export interface FlowTemplate {
  definition: Record<string, unknown>;
  connectionReferences: Record<string, ConnectionReference>;
}

/** `triggerOutputs()['headers']['<name>']`: a header the relay put on its call to the flow. */
const relayHeader = (name: string): string => `triggerOutputs()['headers']['${name}']`;

/**
 * "Who can trigger the flow" of the Request trigger: `All` is "Anyone" (the URL's `sig` is the
 * credential), `Tenant` is "Any user in my tenant" (a bearer token from the tenant is required).
 */
export const TRIGGER_AUTHENTICATION: Record<FlowAuth, "All" | "Tenant"> = {
  sas: "All",
  entra: "Tenant",
};

/**
 * Text that becomes part of a definition string verbatim: an `@` could start an expression, so
 * each one is written as an expression yielding '@'.
 */
export function literalText(text: string): string {
  return text.replace(/@/g, "@{'@'}");
}

export function flowDisplayName(input: Pick<FlowTemplateInput, "workflowId" | "workflowName">) {
  return `DM approval: ${input.workflowName ?? input.workflowId}`;
}

export function buildFlowTemplate(input: FlowTemplateInput): FlowTemplate {
  const workflow = literalText(input.workflowName ?? input.workflowId);
  const requestId = `@{${relayHeader("x-relay-request-id")}}`;
  const details = [
    "Directory Manager asks for your approval.",
    "",
    `- Workflow: ${workflow}`,
    `- Identity store: @{${relayHeader("x-relay-store-id")}}`,
    `- Request: ${requestId}`,
    "",
    // The start of DM's own document, so the approver sees what is asked.
    "```",
    "@{take(string(triggerBody()), 2000)}",
    "```",
  ].join("\n");

  const definition = {
    $schema: WORKFLOW_DEFINITION_SCHEMA,
    contentVersion: "1.0.0.0",
    parameters: {
      $connections: { defaultValue: {}, type: "Object" },
      $authentication: { defaultValue: {}, type: "SecureObject" },
    },
    triggers: {
      [TRIGGER_NAME]: {
        type: "Request",
        kind: "Http",
        inputs: {
          method: "POST",
          triggerAuthenticationType: TRIGGER_AUTHENTICATION[input.flowAuth],
          // DM's document as it is: any object; the relay does not reshape it.
          schema: { type: "object", properties: {}, additionalProperties: true },
        },
      },
    },
    actions: {
      [APPROVAL_ACTION]: {
        runAfter: {},
        type: "OpenApiConnectionWebhook",
        inputs: {
          host: {
            connectionName: APPROVALS_CONNECTION,
            operationId: "StartAndWaitForAnApproval",
            apiId: APPROVALS_API_ID,
          },
          parameters: {
            approvalType: "Basic",
            "WebhookApprovalCreationInput/title": `${workflow}: request ${requestId}`,
            "WebhookApprovalCreationInput/assignedTo": input.approvers.join(";"),
            "WebhookApprovalCreationInput/details": details,
            "WebhookApprovalCreationInput/enableNotifications": true,
            "WebhookApprovalCreationInput/enableReassignment": true,
          },
          authentication: "@parameters('$authentication')",
        },
      },
      [CALLBACK_ACTION]: {
        runAfter: { [APPROVAL_ACTION]: ["Succeeded"] },
        type: "Http",
        inputs: {
          method: "POST",
          uri: `@{${relayHeader("x-relay-callback-url")}}`,
          headers: {
            Authorization: `Bearer @{${relayHeader("x-relay-callback-token")}}`,
            "content-type": "application/json",
          },
          body: `@body('${APPROVAL_ACTION}')`,
          // The relay answers 503 while storage is briefly down: keep the decision coming.
          retryPolicy: { type: "exponential", count: 10, interval: "PT30S" },
        },
      },
    },
    outputs: {},
  };

  return {
    definition,
    connectionReferences: {
      [APPROVALS_CONNECTION]: {
        runtimeSource: "embedded",
        connection: {
          connectionReferenceLogicalName:
            input.connectionReferenceLogicalName ?? DEFAULT_CONNECTION_REFERENCE,
        },
        api: { name: APPROVALS_CONNECTION },
      },
    },
  };
}

/** The flow as Dataverse keeps it in `workflow.clientdata` and a solution in its flow JSON file. */
export function flowClientData(template: FlowTemplate): string {
  return JSON.stringify({
    properties: {
      connectionReferences: template.connectionReferences,
      definition: template.definition,
    },
    schemaVersion: "1.0.0.0",
  });
}

/**
 * The Dataverse id of a workflow's flow, derived from store and workflow (a name-based UUID), so
 * creating the flow again or importing its solution again updates the same flow.
 */
export function cloudFlowId(storeId: string, workflowId: string): string {
  const hex = createHash("sha256")
    .update(`dm-flow-relay flow\n${storeId}\n${workflowId}`)
    .digest("hex")
    .slice(0, 32)
    .split("");
  hex[12] = "5"; // version 5 (name-based)
  hex[16] = ((parseInt(hex[16] ?? "0", 16) & 0x3) | 0x8).toString(16); // RFC 4122 variant
  const text = hex.join("");
  return `${text.slice(0, 8)}-${text.slice(8, 12)}-${text.slice(12, 16)}-${text.slice(16, 20)}-${text.slice(20)}`;
}
