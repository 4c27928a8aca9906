/** CONTRACT section 7: the flow template's structure, and every expression in it. */
import fc from "fast-check";
import {
  APPROVAL_ACTION,
  CALLBACK_ACTION,
  DEFAULT_CONNECTION_REFERENCE,
  WORKFLOW_DEFINITION_SCHEMA,
  buildFlowTemplate,
  flowClientData,
  type FlowTemplateInput,
} from "../../shared/domain/flow-template";
import {
  ExpressionError,
  callsIn,
  evaluateValue,
  parseExpression,
  parseTemplateString,
  stringsIn,
  type Expression,
  type RunContext,
} from "../support/workflow-expressions";

const input: FlowTemplateInput = {
  workflowId: "group-join",
  workflowName: "Group join approval",
  approvers: ["alice@contoso.com", "bob@contoso.com"],
  flowAuth: "sas",
};
/** The headers of CONTRACT section 4. */
const RELAY_HEADERS = [
  "x-relay-request-id",
  "x-relay-store-id",
  "x-relay-workflow-id",
  "x-relay-callback-url",
  "x-relay-callback-token",
  "x-relay-attempt",
];

interface Action {
  type: string;
  runAfter: Record<string, string[]>;
  inputs: {
    host: { connectionName: string };
    parameters: Record<string, unknown>;
    retryPolicy: unknown;
    [name: string]: unknown;
  };
}
type Triggers = Record<
  string,
  { type: string; kind: string; inputs: { triggerAuthenticationType: string; schema: Schema } }
>;
interface Schema {
  type: string;
  additionalProperties?: unknown;
  required?: string[];
}
const actionsOf = (definition: Record<string, unknown>) =>
  definition.actions as Record<string, Action>;

/** The expressions of every string in the definition (throws on a malformed one). */
function expressionsIn(value: unknown): { pointer: string; expression: Expression }[] {
  return stringsIn(value).flatMap(({ pointer, value: text }) => {
    const parsed = parseTemplateString(text);
    if (parsed.kind === "expression") return [{ pointer, expression: parsed.expression }];
    if (parsed.kind === "interpolation")
      return parsed.parts
        .filter((part): part is Expression => typeof part !== "string")
        .map((expression) => ({ pointer, expression }));
    return [];
  });
}

const run = (extra: Partial<RunContext> = {}): RunContext => ({
  trigger: {
    headers: {
      "x-relay-request-id": "1001",
      "x-relay-store-id": "contoso",
      "x-relay-callback-url": "https://relay.example/api/stores/contoso/requests/1001/decision",
      "x-relay-callback-token": "v1.claims.mac",
    },
    body: { WorkflowRequestID: 1001, requester: "bob@contoso.com" },
  },
  actionBodies: { [APPROVAL_ACTION]: { outcome: "Approve", responses: [] } },
  parameters: { $authentication: {}, $connections: {} },
  ...extra,
});

describe("the WDL expression parser of the tests", () => {
  it.each([
    ["triggerOutputs()['headers']['x-a']", ["triggerOutputs"]],
    ["body('Start')?['outcome']", ["body"]],
    ["take(string(triggerBody()), 2000)", ["take", "string", "triggerBody"]],
    ["concat('it''s', ' ', parameters('$x').a?.b)", ["concat", "parameters"]],
  ])("parses %s", (source, calls) => {
    expect(callsIn(parseExpression(source)).map((call) => call.name)).toEqual(calls);
  });

  it.each([
    ["triggerOutputs()['headers'", 'expected "]"'],
    ["nosuch('x')", "unknown function nosuch"],
    ["body('a', 'b')", "body takes 1..1 arguments"],
    ["'open", "unterminated string literal"],
    ["triggerBody() extra", "unexpected text"],
    ["triggerBody()?", "expected [ or . after ?"],
  ])("refuses %s", (source, message) => {
    expect(() => parseExpression(source)).toThrow(ExpressionError);
    expect(() => parseExpression(source)).toThrow(message);
  });

  it("reads text, whole expressions, @@ escapes and interpolations", () => {
    expect(parseTemplateString("plain a@b.c")).toEqual({ kind: "text", text: "plain a@b.c" });
    expect(parseTemplateString("@@x")).toEqual({ kind: "text", text: "@x" });
    expect(parseTemplateString("@body('x')").kind).toBe("expression");
    expect(evaluateValue("a @{'}'} b @{concat('c', 'd')}", run())).toBe("a } b cd");
    expect(() => parseTemplateString("a @{body('x') b")).toThrow(ExpressionError);
  });
});

describe("the flow template", () => {
  const template = buildFlowTemplate(input);
  const definition = template.definition;
  const actions = actionsOf(definition);

  it("is a 2016-06-01 workflow definition with the $connections and $authentication parameters", () => {
    expect(definition.$schema).toBe(WORKFLOW_DEFINITION_SCHEMA);
    expect(definition.contentVersion).toBe("1.0.0.0");
    expect(definition.parameters).toEqual({
      $connections: { defaultValue: {}, type: "Object" },
      $authentication: { defaultValue: {}, type: "SecureObject" },
    });
  });

  it("starts with a manual HTTP Request trigger that takes any JSON object", () => {
    const triggers = definition.triggers as Triggers;
    expect(Object.keys(triggers)).toEqual(["manual"]);
    expect(triggers.manual).toMatchObject({ type: "Request", kind: "Http" });
    expect(triggers.manual?.inputs.schema.type).toBe("object");
    expect(triggers.manual?.inputs.schema.additionalProperties).not.toBe(false);
    expect(triggers.manual?.inputs.schema.required ?? []).toEqual([]);
  });

  it.each([
    ["sas", "All"],
    ["entra", "Tenant"],
  ] as const)("with flowAuth %s lets %s trigger the flow", (flowAuth, who) => {
    const triggers = buildFlowTemplate({ ...input, flowAuth }).definition.triggers as Triggers;
    expect(triggers.manual?.inputs.triggerAuthenticationType).toBe(who);
  });

  it("starts and waits for an approval assigned to the link's approvers", () => {
    const approval = actions[APPROVAL_ACTION];
    expect(approval).toMatchObject({
      type: "OpenApiConnectionWebhook",
      runAfter: {},
      inputs: {
        host: {
          connectionName: "shared_approvals",
          operationId: "StartAndWaitForAnApproval",
          apiId: "/providers/Microsoft.PowerApps/apis/shared_approvals",
        },
        parameters: {
          approvalType: "Basic",
          "WebhookApprovalCreationInput/assignedTo": "alice@contoso.com;bob@contoso.com",
          "WebhookApprovalCreationInput/enableNotifications": true,
          "WebhookApprovalCreationInput/enableReassignment": true,
        },
        authentication: "@parameters('$authentication')",
      },
    });
    const parameters = evaluateValue(approval?.inputs.parameters, run()) as Record<string, string>;
    expect(parameters["WebhookApprovalCreationInput/title"]).toBe(
      "Group join approval: request 1001",
    );
    expect(parameters["WebhookApprovalCreationInput/details"]).toContain("- Request: 1001");
    expect(parameters["WebhookApprovalCreationInput/details"]).toContain(
      '{"WorkflowRequestID":1001,"requester":"bob@contoso.com"}',
    );
  });

  it("posts the approval's output body to the callback URL with the callback token", () => {
    const callback = actions[CALLBACK_ACTION];
    expect(callback?.type).toBe("Http");
    expect(callback?.runAfter).toEqual({ [APPROVAL_ACTION]: ["Succeeded"] });
    expect(callback?.inputs.retryPolicy).toEqual({
      type: "exponential",
      count: 10,
      interval: "PT30S",
    });
    expect(evaluateValue(callback?.inputs, run())).toEqual({
      method: "POST",
      uri: "https://relay.example/api/stores/contoso/requests/1001/decision",
      headers: { Authorization: "Bearer v1.claims.mac", "content-type": "application/json" },
      body: { outcome: "Approve", responses: [] },
      retryPolicy: { type: "exponential", count: 10, interval: "PT30S" },
    });
  });

  it("chains every action after an existing one, from a single first action, without cycles", () => {
    const names = Object.keys(actions);
    const first = names.filter((name) => Object.keys(actions[name]?.runAfter ?? {}).length === 0);
    expect(first).toEqual([APPROVAL_ACTION]);
    for (const action of Object.values(actions))
      for (const [after, statuses] of Object.entries(action.runAfter)) {
        expect(names).toContain(after);
        expect(
          statuses.every((s) => ["Succeeded", "Failed", "Skipped", "TimedOut"].includes(s)),
        ).toBe(true);
      }
    // Walking runAfter back from any action ends at the first one.
    for (const name of names) {
      const seen = new Set<string>();
      for (
        let at: string | undefined = name;
        at;
        at = Object.keys(actions[at]?.runAfter ?? {})[0]
      ) {
        expect(seen.has(at)).toBe(false);
        seen.add(at);
      }
    }
  });

  it("references the approvals connection for every connector action", () => {
    expect(template.connectionReferences).toEqual({
      shared_approvals: {
        runtimeSource: "embedded",
        connection: { connectionReferenceLogicalName: DEFAULT_CONNECTION_REFERENCE },
        api: { name: "shared_approvals" },
      },
    });
    for (const action of Object.values(actions))
      if (action.type.startsWith("OpenApiConnection"))
        expect(Object.keys(template.connectionReferences)).toContain(
          action.inputs.host.connectionName,
        );
    const custom = buildFlowTemplate({ ...input, connectionReferenceLogicalName: "new_appr_1" });
    expect(custom.connectionReferences.shared_approvals?.connection).toEqual({
      connectionReferenceLogicalName: "new_appr_1",
    });
  });

  it("uses only expressions that parse, actions that exist and the relay's headers", () => {
    const expressions = expressionsIn(definition);
    expect(expressions.length).toBeGreaterThanOrEqual(6);
    const calls = expressions.flatMap(({ expression }) => callsIn(expression));
    for (const call of calls.filter((c) => c.name === "body" || c.name === "outputs"))
      expect(Object.keys(actions)).toContain((call.args[0] as { value: string }).value);
    for (const call of calls.filter((c) => c.name === "parameters"))
      expect(Object.keys(definition.parameters as object)).toContain(
        (call.args[0] as { value: string }).value,
      );
    const headers = [...JSON.stringify(definition).matchAll(/\['headers'\]\['([^']+)'\]/g)].map(
      (match) => match[1],
    );
    expect(headers.length).toBeGreaterThan(0);
    for (const header of headers) expect(RELAY_HEADERS).toContain(header);
  });

  it("keeps any workflow name literal, whatever @, quotes or braces it holds", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), (workflowName) => {
        const built = buildFlowTemplate({ ...input, workflowName });
        for (const { value } of stringsIn(built.definition)) parseTemplateString(value);
        const title = evaluateValue(
          actionsOf(built.definition)[APPROVAL_ACTION]?.inputs.parameters[
            "WebhookApprovalCreationInput/title"
          ],
          run(),
        );
        expect(title).toBe(`${workflowName}: request 1001`);
      }),
    );
  });

  it("is stored as Power Automate's clientdata", () => {
    expect(JSON.parse(flowClientData(template))).toEqual({
      properties: {
        connectionReferences: template.connectionReferences,
        definition: template.definition,
      },
      schemaVersion: "1.0.0.0",
    });
  });
});
