/**
 * The Power Automate cloud flow that goes with a linked workflow (CONTRACT section 7), as Power
 * Automate stores it: a Logic Apps workflow definition (schema 2016-06-01) plus its connection
 * references. It receives DM's document from the relay, claims the request (section 4b) so that
 * only one run of it goes on, starts an approval and posts the approval's output to the relay's
 * callback with the token the relay sent along (section 4 headers, section 5).
 *
 * The run's paths, by the claim's outcome (runAfter: an action whose conditions are not met is
 * Skipped, and a Terminate in a Skipped or untaken branch never runs, so each path has its own):
 *
 *     Claim_the_request ─Succeeded─▶ Claimed (If proceed = true)
 *       │                 yes: Start_and_wait_for_an_approval ─▶ Send_the_decision_to_the_relay
 *       │                 no:  Terminate_not_proceeding (Cancelled)
 *       └─Failed, TimedOut─▶ Claim_refused (If status = 409)
 *                         yes: Terminate_claim_refused (Cancelled)
 *                         no:  Terminate_claim_failed (Failed: the relay calls the flow again)
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
export const CLAIM_ACTION = "Claim_the_request";
export const CLAIMED_CONDITION = "Claimed";
export const NOT_PROCEEDING_TERMINATE = "Terminate_not_proceeding";
export const CLAIM_REFUSED_CONDITION = "Claim_refused";
export const CLAIM_REFUSED_TERMINATE = "Terminate_claim_refused";
export const CLAIM_FAILED_TERMINATE = "Terminate_claim_failed";
export const APPROVAL_ACTION = "Start_and_wait_for_an_approval";
export const CALLBACK_ACTION = "Send_the_decision_to_the_relay";

/** An HTTP action's `retryPolicy`: durations in ISO 8601. */
export interface RetryPolicy {
  type: "exponential";
  count: number;
  interval: string;
  minimumInterval?: string;
  maximumInterval?: string;
}

/**
 * The claim's retries. An HTTP action retries only 408, 429, 5xx and connection failures, so a
 * 409 (another run has the request) ends the run at once. Retry n waits a random time between
 * 2^(n-2) and 2^(n-1) intervals (within the minimum and maximum): 6 retries from 15 s, at most
 * 5 min apart, ride out a relay restart or a storage outage for about 8 to 13 minutes, and a run
 * that gives up has ended before reconciliation calls the flow again
 * (`RELAY_CLAIM_TIMEOUT_MINUTES`, default 15), so two runs of one request rarely overlap (and
 * the claim keeps it harmless when they do).
 */
export const CLAIM_RETRY_POLICY: RetryPolicy = {
  type: "exponential",
  count: 6,
  interval: "PT15S",
  minimumInterval: "PT5S",
  maximumInterval: "PT5M",
};

/** The decision's retries: the relay answers 503 while storage is briefly down. */
export const CALLBACK_RETRY_POLICY: RetryPolicy = {
  type: "exponential",
  count: 10,
  interval: "PT30S",
};

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
/** This run's name, which the claim records and the decision repeats as `x-relay-run-id`. */
const RUN_NAME = "@{workflow()['run']['name']}";
/** The claim's HTTP status; `actions()` also holds for a claim that got no answer. */
const CLAIM_STATUS = `actions('${CLAIM_ACTION}')?['outputs']?['statusCode']`;

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
      [CLAIM_ACTION]: {
        runAfter: {},
        type: "Http",
        inputs: {
          method: "POST",
          uri: `@{${relayHeader("x-relay-claim-url")}}`,
          headers: {
            Authorization: `Bearer @{${relayHeader("x-relay-callback-token")}}`,
            "content-type": "application/json",
          },
          body: {
            runId: RUN_NAME,
            flowName: "@{workflow()['name']}",
            environmentName: "@{workflow()['tags']['environmentName']}",
          },
          retryPolicy: CLAIM_RETRY_POLICY,
        },
      },
      [CLAIMED_CONDITION]: {
        runAfter: { [CLAIM_ACTION]: ["Succeeded"] },
        type: "If",
        expression: {
          and: [{ equals: [`@body('${CLAIM_ACTION}')?['proceed']`, true] }],
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
                // The relay refuses a decision from a run other than the one that claimed.
                "x-relay-run-id": RUN_NAME,
              },
              body: `@body('${APPROVAL_ACTION}')`,
              retryPolicy: CALLBACK_RETRY_POLICY,
            },
          },
        },
        else: {
          actions: {
            // A 200 always says proceed; anything else is not a go-ahead.
            [NOT_PROCEEDING_TERMINATE]: {
              runAfter: {},
              type: "Terminate",
              inputs: { runStatus: "Cancelled" },
            },
          },
        },
      },
      // The claim itself runs right after the trigger, so it is never Skipped.
      [CLAIM_REFUSED_CONDITION]: {
        runAfter: { [CLAIM_ACTION]: ["Failed", "TimedOut"] },
        type: "If",
        expression: { and: [{ equals: [`@${CLAIM_STATUS}`, 409] }] },
        actions: {
          // Another run claimed the request, or it is decided already: nothing left to do.
          [CLAIM_REFUSED_TERMINATE]: {
            runAfter: {},
            type: "Terminate",
            inputs: { runStatus: "Cancelled" },
          },
        },
        else: {
          actions: {
            [CLAIM_FAILED_TERMINATE]: {
              runAfter: {},
              type: "Terminate",
              inputs: {
                runStatus: "Failed",
                runError: {
                  code: "ClaimFailed",
                  message: `The relay's claim ended @{actions('${CLAIM_ACTION}')?['status']} (HTTP status @{coalesce(${CLAIM_STATUS}, 'none')}); the relay calls the flow again.`,
                },
              },
            },
          },
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
