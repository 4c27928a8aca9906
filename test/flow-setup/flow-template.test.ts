/**
 * CONTRACT section 7: the flow template's structure, every expression in it, and every path a
 * run of it takes (the claim of section 4b first), played by the run-after simulator.
 */
import fc from "fast-check";
import {
  APPROVAL_ACTION,
  CALLBACK_ACTION,
  CLAIMED_CONDITION,
  CLAIM_ACTION,
  CLAIM_FAILED_TERMINATE,
  CLAIM_REFUSED_CONDITION,
  CLAIM_REFUSED_TERMINATE,
  DEFAULT_CONNECTION_REFERENCE,
  NOT_PROCEEDING_TERMINATE,
  WORKFLOW_DEFINITION_SCHEMA,
  buildFlowTemplate,
  flowClientData,
  type FlowTemplateInput,
} from "../../shared/domain/flow-template";
import { startFakeClaimRelay, type FakeClaimRelay } from "../support/fake-claim-relay";
import {
  allActions,
  simulateRun,
  type ActionDefinition,
  type CallAnswer,
  type RunOutcome,
} from "../support/flow-run-simulator";
import {
  ExpressionError,
  callsIn,
  evaluateCondition,
  evaluateValue,
  parseExpression,
  parseTemplateString,
  stringsIn,
  type Expression,
  type RunContext,
  type WorkflowInfo,
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
  "x-relay-claim-url",
  "x-ms-client-tracking-id",
];

interface Action extends ActionDefinition {
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

/** The run of a flow as Power Automate describes it to `workflow()`. */
const WORKFLOW: WorkflowInfo = {
  name: "5f0c3a1e-6d1b-4c55-9a8e-0f1ce0d1f0a1",
  run: { name: "08584712345678901234567890123CU12" },
  tags: { environmentName: "Default-3f2504e0-4f89-11d3-9a0c-0305e82c3301" },
};
const TRIGGER: RunContext["trigger"] = {
  headers: {
    "x-relay-request-id": "1001",
    "x-relay-store-id": "contoso",
    "x-relay-callback-url": "https://relay.example/api/stores/contoso/requests/1001/decision",
    "x-relay-callback-token": "v1.claims.mac",
    "x-relay-claim-url": "https://relay.example/api/stores/contoso/requests/1001/claim",
  },
  body: { WorkflowRequestID: 1001, requester: "bob@contoso.com" },
};
const APPROVAL_OUTPUT = { outcome: "Approve", responses: [] };

const run = (extra: Partial<RunContext> = {}): RunContext => ({
  trigger: TRIGGER,
  workflow: WORKFLOW,
  actionBodies: { [APPROVAL_ACTION]: APPROVAL_OUTPUT },
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

describe("the WDL expressions of a claiming run", () => {
  const claimed = (status: RunContext["actionResults"]) => run({ actionResults: status });

  it("reads workflow(), actions() and outputs() of the actions that ran", () => {
    const context = claimed({
      [CLAIM_ACTION]: {
        name: CLAIM_ACTION,
        status: "Failed",
        outputs: { statusCode: 409, body: { proceed: false } },
      },
    });
    expect(evaluateValue("@{workflow()['run']['name']}", context)).toBe(WORKFLOW.run.name);
    expect(evaluateValue(`@actions('${CLAIM_ACTION}')?['outputs']?['statusCode']`, context)).toBe(
      409,
    );
    expect(evaluateValue(`@outputs('${CLAIM_ACTION}')?['body']?['proceed']`, context)).toBe(false);
    expect(evaluateValue(`@body('${CLAIM_ACTION}')?['proceed']`, context)).toBe(false);
    expect(() => evaluateValue("@body('Nothing')", context)).toThrow("did not run");
  });

  it("tells an action that ended without outputs from one that did not run", () => {
    const context = claimed({ [CLAIM_ACTION]: { name: CLAIM_ACTION, status: "TimedOut" } });
    expect(evaluateValue(`@actions('${CLAIM_ACTION}')?['outputs']?['statusCode']`, context)).toBe(
      null,
    );
    expect(() => evaluateValue(`@outputs('${CLAIM_ACTION}')`, context)).toThrow("no outputs");
    expect(evaluateValue("status @{coalesce(null, 'none')} and @{null}.", context)).toBe(
      "status none and .",
    );
  });

  it("evaluates If conditions in the designer's object form and as expressions", () => {
    const context = run();
    expect(evaluateCondition({ and: [{ equals: ["@concat('a', 'b')", "ab"] }] }, context)).toBe(
      true,
    );
    expect(
      evaluateCondition({ or: [{ equals: [1, 2] }, { not: { equals: [1, 2] } }] }, context),
    ).toBe(true);
    expect(evaluateCondition("@equals(1, 2)", context)).toBe(false);
    expect(() => evaluateCondition({ greaterish: [1, 2] }, context)).toThrow(ExpressionError);
  });
});

/** Every action of the definition, nested ones included, by name. */
function actionNamed(definition: Record<string, unknown>, name: string): Action {
  const found = allActions(definition.actions as Record<string, unknown>).find(
    (entry) => entry.name === name,
  );
  if (!found) throw new Error(`no action ${name}`);
  return found.action as Action;
}

const ISO_SECONDS = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$/;
function seconds(duration: string): number {
  const match = ISO_SECONDS.exec(duration);
  if (!match) throw new Error(`${duration} is not an ISO 8601 duration in hours, minutes, seconds`);
  return Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
}

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

  it("claims the request first: the relay's claim URL, the callback token, this run's names", () => {
    const first = Object.keys(actions).filter(
      (name) => Object.keys(actions[name]?.runAfter ?? {}).length === 0,
    );
    expect(first).toEqual([CLAIM_ACTION]);
    const claim = actions[CLAIM_ACTION];
    expect(claim?.type).toBe("Http");
    const inputs = evaluateValue(claim?.inputs, run()) as Record<string, unknown>;
    expect(inputs).toMatchObject({
      method: "POST",
      uri: "https://relay.example/api/stores/contoso/requests/1001/claim",
      headers: { Authorization: "Bearer v1.claims.mac", "content-type": "application/json" },
      body: {
        runId: WORKFLOW.run.name,
        flowName: WORKFLOW.name,
        environmentName: WORKFLOW.tags.environmentName,
      },
    });
    // Each field as the claim route validates it (CONTRACT 4b).
    for (const value of Object.values(inputs.body as Record<string, string>))
      expect(value).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
  });

  it("retries the claim exponentially, and gives up before reconciliation calls the flow again", () => {
    const policy = actions[CLAIM_ACTION]?.inputs.retryPolicy as {
      type: string;
      count: number;
      interval: string;
      minimumInterval: string;
      maximumInterval: string;
    };
    expect(policy).toEqual({
      type: "exponential",
      count: 6,
      interval: "PT15S",
      minimumInterval: "PT5S",
      maximumInterval: "PT5M",
    });
    // Logic Apps: 1 to 90 retries; retry n waits at most min(2^(n-1) × interval, maximum).
    expect(policy.count).toBeGreaterThanOrEqual(1);
    expect(policy.count).toBeLessThanOrEqual(90);
    const interval = seconds(policy.interval);
    const longest = Array.from({ length: policy.count }, (_, n) =>
      Math.min(2 ** n * interval, seconds(policy.maximumInterval)),
    ).reduce((sum, wait) => sum + wait, 0);
    expect(seconds(policy.minimumInterval)).toBeLessThanOrEqual(interval);
    // RELAY_CLAIM_TIMEOUT_MINUTES defaults to 15; a relay restart takes far less than 5 minutes.
    expect(longest).toBeLessThan(15 * 60);
    expect(longest).toBeGreaterThan(5 * 60);
  });

  it("starts the approval only inside Claimed, after a claim that succeeded and says proceed", () => {
    const placed = allActions(actions).map(({ name, scope }) => [name, scope.join(" > ")]);
    expect(placed).toEqual([
      [CLAIM_ACTION, ""],
      [CLAIMED_CONDITION, ""],
      [APPROVAL_ACTION, CLAIMED_CONDITION],
      [CALLBACK_ACTION, CLAIMED_CONDITION],
      [NOT_PROCEEDING_TERMINATE, `${CLAIMED_CONDITION}/else`],
      [CLAIM_REFUSED_CONDITION, ""],
      [CLAIM_REFUSED_TERMINATE, CLAIM_REFUSED_CONDITION],
      [CLAIM_FAILED_TERMINATE, `${CLAIM_REFUSED_CONDITION}/else`],
    ]);
    const condition = actions[CLAIMED_CONDITION];
    expect(condition).toMatchObject({ type: "If", runAfter: { [CLAIM_ACTION]: ["Succeeded"] } });
    const proceeds = (body: unknown) =>
      evaluateCondition(
        condition?.expression,
        run({
          actionBodies: {},
          actionResults: {
            [CLAIM_ACTION]: {
              name: CLAIM_ACTION,
              status: "Succeeded",
              outputs: { statusCode: 200, body },
            },
          },
        }),
      );
    expect(proceeds({ requestId: "1001", proceed: true, runId: WORKFLOW.run.name })).toBe(true);
    expect(proceeds({ proceed: false })).toBe(false);
    expect(proceeds({ proceed: "true" })).toBe(false);
    // A 200 that is not the relay's JSON fails the condition, and so the run.
    expect(() => proceeds("<html>a proxy's page</html>")).toThrow(ExpressionError);
  });

  it("ends every other path with Terminate: Cancelled when not claimed, Failed when no claim", () => {
    expect(actions[CLAIM_REFUSED_CONDITION]).toMatchObject({
      type: "If",
      runAfter: { [CLAIM_ACTION]: ["Failed", "TimedOut"] },
    });
    const terminates = allActions(actions)
      .filter(({ action }) => action.type === "Terminate")
      .map(({ name, action }) => [name, (action.inputs as { runStatus: string }).runStatus]);
    expect(terminates).toEqual([
      [NOT_PROCEEDING_TERMINATE, "Cancelled"],
      [CLAIM_REFUSED_TERMINATE, "Cancelled"],
      [CLAIM_FAILED_TERMINATE, "Failed"],
    ]);
    const failed = evaluateValue(
      actionNamed(definition, CLAIM_FAILED_TERMINATE).inputs,
      run({
        actionResults: {
          [CLAIM_ACTION]: { name: CLAIM_ACTION, status: "Failed", outputs: { statusCode: 503 } },
        },
      }),
    );
    expect(failed).toEqual({
      runStatus: "Failed",
      runError: {
        code: "ClaimFailed",
        message:
          "The relay's claim ended Failed (HTTP status 503); the relay calls the flow again.",
      },
    });
  });

  it("starts and waits for an approval assigned to the link's approvers", () => {
    const approval = actionNamed(definition, APPROVAL_ACTION);
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
    const parameters = evaluateValue(approval.inputs.parameters, run()) as Record<string, string>;
    expect(parameters["WebhookApprovalCreationInput/title"]).toBe(
      "Group join approval: request 1001",
    );
    expect(parameters["WebhookApprovalCreationInput/details"]).toContain("- Request: 1001");
    expect(parameters["WebhookApprovalCreationInput/details"]).toContain(
      '{"WorkflowRequestID":1001,"requester":"bob@contoso.com"}',
    );
  });

  it("posts the approval's output body to the callback URL with the token and this run's name", () => {
    const callback = actionNamed(definition, CALLBACK_ACTION);
    expect(callback.type).toBe("Http");
    expect(callback.runAfter).toEqual({ [APPROVAL_ACTION]: ["Succeeded"] });
    expect(evaluateValue(callback.inputs, run())).toEqual({
      method: "POST",
      uri: "https://relay.example/api/stores/contoso/requests/1001/decision",
      headers: {
        Authorization: "Bearer v1.claims.mac",
        "content-type": "application/json",
        "x-relay-run-id": WORKFLOW.run.name,
      },
      body: APPROVAL_OUTPUT,
      retryPolicy: { type: "exponential", count: 10, interval: "PT30S" },
    });
  });

  it("runs every action after one of its own scope, with Logic Apps' statuses, without cycles", () => {
    const scopes = [
      actions,
      ...allActions(actions).flatMap(({ action }) => [
        action.actions ?? {},
        action.else?.actions ?? {},
      ]),
    ];
    for (const scope of scopes) {
      const names = Object.keys(scope);
      for (const action of Object.values(scope))
        for (const [after, statuses] of Object.entries(action.runAfter ?? {})) {
          expect(names).toContain(after);
          expect(statuses.length).toBeGreaterThan(0);
          for (const status of statuses)
            expect(["Succeeded", "Failed", "Skipped", "TimedOut"]).toContain(status);
        }
      // Walking runAfter back from any action ends at one that runs first in its scope.
      for (const name of names) {
        const seen = new Set<string>();
        for (
          let at: string | undefined = name;
          at;
          at = Object.keys(scope[at]?.runAfter ?? {})[0]
        ) {
          expect(seen.has(at)).toBe(false);
          seen.add(at);
        }
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
    for (const { action } of allActions(actions))
      if (action.type.startsWith("OpenApiConnection"))
        expect(Object.keys(template.connectionReferences)).toContain(
          (action as Action).inputs.host.connectionName,
        );
    const custom = buildFlowTemplate({ ...input, connectionReferenceLogicalName: "new_appr_1" });
    expect(custom.connectionReferences.shared_approvals?.connection).toEqual({
      connectionReferenceLogicalName: "new_appr_1",
    });
  });

  it("uses only expressions that parse, actions that exist and the relay's headers", () => {
    const expressions = expressionsIn(definition);
    expect(expressions.length).toBeGreaterThanOrEqual(10);
    const names = allActions(actions).map(({ name }) => name);
    const calls = expressions.flatMap(({ expression }) => callsIn(expression));
    const byAction = calls.filter((c) => ["body", "outputs", "actions"].includes(c.name));
    expect(byAction.length).toBeGreaterThan(0);
    for (const call of byAction) expect(names).toContain((call.args[0] as { value: string }).value);
    for (const call of calls.filter((c) => c.name === "parameters"))
      expect(Object.keys(definition.parameters as object)).toContain(
        (call.args[0] as { value: string }).value,
      );
    const headers = [...JSON.stringify(definition).matchAll(/\['headers'\]\['([^']+)'\]/g)].map(
      (match) => match[1],
    );
    expect(headers).toContain("x-relay-claim-url");
    for (const header of headers) expect(RELAY_HEADERS).toContain(header);
  });

  it("keeps any workflow name literal, whatever @, quotes or braces it holds", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), (workflowName) => {
        const built = buildFlowTemplate({ ...input, workflowName });
        for (const { value } of stringsIn(built.definition)) parseTemplateString(value);
        const title = evaluateValue(
          actionNamed(built.definition, APPROVAL_ACTION).inputs.parameters[
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

const PROCEED: CallAnswer = {
  statusCode: 200,
  body: { requestId: "1001", proceed: true, runId: WORKFLOW.run.name },
};
const NOT_PROCEEDING: CallAnswer = { statusCode: 200, body: { requestId: "1001" } };
const status = (statusCode: number): CallAnswer => ({ statusCode, body: { status: statusCode } });

interface Answers {
  /** The claim's answers, attempt by attempt; the last one repeats. */
  claim: CallAnswer[];
  approval?: CallAnswer;
  callback?: CallAnswer[];
}

function runWith(
  answers: Answers,
  definition: Record<string, unknown> = buildFlowTemplate(input).definition,
  trigger: RunContext["trigger"] = TRIGGER,
): Promise<RunOutcome> {
  return simulateRun(definition, {
    trigger,
    workflow: WORKFLOW,
    answer: (action, _inputs, attempt) => {
      const list =
        action === CLAIM_ACTION
          ? answers.claim
          : action === CALLBACK_ACTION
            ? (answers.callback ?? [status(202)])
            : [answers.approval ?? { statusCode: 200, body: APPROVAL_OUTPUT }];
      return list[Math.min(attempt, list.length) - 1] as CallAnswer;
    },
  });
}

/** What a run did: its status, the actions that ran (not Skipped) and the claim's calls. */
const summary = (outcome: RunOutcome) => ({
  status: outcome.status,
  ran: outcome.actions.filter((a) => a.status !== "Skipped").map((a) => `${a.name}: ${a.status}`),
  claimCalls: outcome.actions.find((a) => a.name === CLAIM_ACTION)?.attempts,
});

describe("a run of the template, by what the claim answers", () => {
  const claim = (result: string) => `${CLAIM_ACTION}: ${result}`;
  const approved = [
    `${APPROVAL_ACTION}: Succeeded`,
    `${CALLBACK_ACTION}: Succeeded`,
    `${CLAIMED_CONDITION}: Succeeded`,
  ];

  it.each<[string, CallAnswer[], ReturnType<typeof summary>]>([
    [
      "200 proceed: the approval, then the decision",
      [PROCEED],
      { status: "Succeeded", ran: [claim("Succeeded"), ...approved], claimCalls: 1 },
    ],
    [
      "503, 429, then 200 proceed: retried, then the approval",
      [status(503), status(429), PROCEED],
      { status: "Succeeded", ran: [claim("Succeeded"), ...approved], claimCalls: 3 },
    ],
    [
      "200 without proceed: cancelled",
      [NOT_PROCEEDING],
      {
        status: "Cancelled",
        ran: [claim("Succeeded"), `${NOT_PROCEEDING_TERMINATE}: Succeeded`],
        claimCalls: 1,
      },
    ],
    [
      "200 with a body that is not JSON (not the relay): failed",
      [{ statusCode: 200, body: "<html>a proxy's page</html>" }],
      {
        status: "Failed",
        ran: [claim("Succeeded"), `${CLAIMED_CONDITION}: Failed`],
        claimCalls: 1,
      },
    ],
    [
      "409 (another run claimed): cancelled at once, not retried",
      [status(409)],
      {
        status: "Cancelled",
        ran: [claim("Failed"), `${CLAIM_REFUSED_TERMINATE}: Succeeded`],
        claimCalls: 1,
      },
    ],
    [
      "502, then 409: cancelled after one retry",
      [status(502), status(409)],
      {
        status: "Cancelled",
        ran: [claim("Failed"), `${CLAIM_REFUSED_TERMINATE}: Succeeded`],
        claimCalls: 2,
      },
    ],
    [
      "500 after every retry: failed",
      [status(500)],
      {
        status: "Failed",
        ran: [claim("Failed"), `${CLAIM_FAILED_TERMINATE}: Succeeded`],
        claimCalls: 7,
      },
    ],
    [
      "no answer after every retry: failed",
      ["connection-failure"],
      {
        status: "Failed",
        ran: [claim("Failed"), `${CLAIM_FAILED_TERMINATE}: Succeeded`],
        claimCalls: 7,
      },
    ],
    [
      "timed out: failed",
      ["timed-out"],
      {
        status: "Failed",
        ran: [claim("TimedOut"), `${CLAIM_FAILED_TERMINATE}: Succeeded`],
        claimCalls: 1,
      },
    ],
    [
      "401 (a wrong token): failed, not retried",
      [status(401)],
      {
        status: "Failed",
        ran: [claim("Failed"), `${CLAIM_FAILED_TERMINATE}: Succeeded`],
        claimCalls: 1,
      },
    ],
    [
      "404 (unknown request): failed, not retried",
      [status(404)],
      {
        status: "Failed",
        ran: [claim("Failed"), `${CLAIM_FAILED_TERMINATE}: Succeeded`],
        claimCalls: 1,
      },
    ],
  ])("%s", async (_name, claimAnswers, expected) => {
    expect(summary(await runWith({ claim: claimAnswers }))).toEqual(expected);
  });

  it("fails with the claim's status in the run error", async () => {
    expect((await runWith({ claim: [status(500)] })).error).toEqual({
      code: "ClaimFailed",
      message: "The relay's claim ended Failed (HTTP status 500); the relay calls the flow again.",
    });
    expect((await runWith({ claim: ["connection-failure"] })).error).toMatchObject({
      message: "The relay's claim ended Failed (HTTP status none); the relay calls the flow again.",
    });
  });

  it("fails without calling when the relay's call carries no claim URL", async () => {
    const headers = { ...TRIGGER.headers };
    delete headers["x-relay-claim-url"];
    const outcome = await runWith({ claim: [PROCEED] }, undefined, { ...TRIGGER, headers });
    expect(summary(outcome)).toEqual({
      status: "Failed",
      ran: [claim("Failed"), `${CLAIM_FAILED_TERMINATE}: Succeeded`],
      claimCalls: undefined,
    });
  });

  it("fails when the approval or the decision fails after a claim", async () => {
    const approvalFailed = await runWith({ claim: [PROCEED], approval: status(400) });
    expect(summary(approvalFailed)).toEqual({
      status: "Failed",
      ran: [claim("Succeeded"), `${APPROVAL_ACTION}: Failed`, `${CLAIMED_CONDITION}: Failed`],
      claimCalls: 1,
    });
    // The relay refuses a decision from another run with 409: not retried, the run fails.
    const refused = await runWith({ claim: [PROCEED], callback: [status(409)] });
    expect(refused.status).toBe("Failed");
    expect(refused.actions.find((a) => a.name === CALLBACK_ACTION)).toMatchObject({
      status: "Failed",
      attempts: 1,
    });
    const retried = await runWith({
      claim: [PROCEED],
      callback: [status(503), status(503), status(202)],
    });
    expect(retried.status).toBe("Succeeded");
    expect(retried.actions.find((a) => a.name === CALLBACK_ACTION)?.attempts).toBe(3);
  });
});

const CLAIM_ANSWERS: CallAnswer[] = [
  PROCEED,
  NOT_PROCEEDING,
  status(202),
  status(400),
  status(401),
  status(404),
  status(408),
  status(409),
  status(429),
  status(500),
  status(503),
  "connection-failure",
  "timed-out",
];

/** The answer an HTTP action ends with, and its calls, under Logic Apps' retries. */
function finalAnswer(answers: CallAnswer[], retries: number) {
  for (let calls = 1; ; calls++) {
    const answer = answers[Math.min(calls, answers.length) - 1] as CallAnswer;
    if (answer === "timed-out") return { code: undefined, answer, calls };
    const code = answer === "connection-failure" ? 0 : answer.statusCode;
    if ((code === 0 || code === 408 || code === 429 || code >= 500) && calls <= retries) continue;
    return { code, answer, calls };
  }
}

const succeeded = (code: number | undefined) => code !== undefined && code >= 200 && code < 300;

/** What the template must do with these claim answers. */
function expectedPath(claimAnswers: CallAnswer[]) {
  const { code, answer, calls } = finalAnswer(claimAnswers, 6);
  const proceed = (answer as { body?: { proceed?: unknown } }).body?.proceed === true;
  if (succeeded(code) && proceed) return { path: "proceed", calls } as const;
  if (succeeded(code) || code === 409) return { path: "cancelled", calls } as const;
  return { path: "failed", calls } as const;
}

/**
 * For any claim answers, approval outcome and decision answers: one approval exactly when the
 * claim said proceed, a Terminate on every other path, and the run's status that goes with it.
 */
function claimPathsHold(definition: Record<string, unknown>) {
  return fc.check(
    fc.asyncProperty(
      fc.array(fc.constantFrom(...CLAIM_ANSWERS), { minLength: 1, maxLength: 9 }),
      fc.boolean(),
      fc.array(fc.constantFrom(status(202), status(200), status(409), status(503)), {
        minLength: 1,
        maxLength: 12,
      }),
      async (claimAnswers, approvalSucceeds, callbackAnswers) => {
        const outcome = await runWith(
          {
            claim: claimAnswers,
            approval: approvalSucceeds ? undefined : status(400),
            callback: callbackAnswers,
          },
          definition,
        );
        const expected = expectedPath(claimAnswers);
        const approvals = outcome.actions.filter(
          (a) => a.name === APPROVAL_ACTION && a.status !== "Skipped",
        );
        expect(approvals.length).toBe(expected.path === "proceed" ? 1 : 0);
        expect(outcome.actions.find((a) => a.name === CLAIM_ACTION)?.attempts).toBe(expected.calls);
        if (expected.path === "proceed") {
          const decided = approvalSucceeds && succeeded(finalAnswer(callbackAnswers, 10).code);
          expect(outcome.status).toBe(decided ? "Succeeded" : "Failed");
          expect(outcome.terminatedBy).toBeUndefined();
        } else {
          expect(outcome.status).toBe(expected.path === "cancelled" ? "Cancelled" : "Failed");
          expect(outcome.terminatedBy).toBeDefined();
        }
      },
    ),
    { numRuns: 300 },
  );
}

describe("the run-after check", () => {
  it("holds for the template, on every path", async () => {
    const result = await claimPathsHold(buildFlowTemplate(input).definition);
    expect(result.failed ? result.counterexample : undefined).toBeUndefined();
  });

  /** The template with one mistake in its wiring. */
  const mutant = (change: (actions: Record<string, Action>) => void) => {
    const definition = structuredClone(buildFlowTemplate(input).definition);
    change(actionsOf(definition));
    return definition;
  };

  it.each([
    [
      "the approval runs after the claim whatever it answered",
      (actions: Record<string, Action>) => {
        const claimed = actions[CLAIMED_CONDITION] as Action;
        const branch = claimed.actions as Record<string, Action>;
        actions[APPROVAL_ACTION] = {
          ...(branch[APPROVAL_ACTION] as Action),
          runAfter: { [CLAIM_ACTION]: ["Succeeded", "Failed", "TimedOut"] },
        };
        actions[CALLBACK_ACTION] = branch[CALLBACK_ACTION] as Action;
        claimed.actions = {};
      },
    ],
    [
      "Claimed does not look at proceed",
      (actions: Record<string, Action>) => {
        (actions[CLAIMED_CONDITION] as Action).expression = { and: [{ equals: [true, true] }] };
      },
    ],
    [
      "a timed-out claim is not handled",
      (actions: Record<string, Action>) => {
        (actions[CLAIM_REFUSED_CONDITION] as Action).runAfter = { [CLAIM_ACTION]: ["Failed"] };
      },
    ],
    [
      "a 409 ends the run as failed",
      (actions: Record<string, Action>) => {
        (actions[CLAIM_REFUSED_CONDITION] as Action).expression = {
          and: [{ equals: [`@outputs('${CLAIM_ACTION}')?['statusCode']`, 410] }],
        };
      },
    ],
  ])("catches a template where %s", async (_mistake, change) => {
    expect((await claimPathsHold(mutant(change))).failed).toBe(true);
  });
});

/** An HTTP action's call, made for real. */
async function send(inputs: unknown): Promise<CallAnswer> {
  const { method, uri, headers, body } = inputs as {
    method: string;
    uri: string;
    headers: Record<string, string>;
    body: unknown;
  };
  try {
    const response = await fetch(uri, { method, headers, body: JSON.stringify(body) });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { statusCode: response.status, body: parsed };
  } catch {
    return "connection-failure";
  }
}

describe("runs of the template against a real server playing the relay's claim and decision", () => {
  let relay: FakeClaimRelay;
  beforeAll(async () => {
    relay = await startFakeClaimRelay();
  });
  afterAll(() => relay?.close());

  /** One run of the flow for the relay's call, its HTTP actions sent for real. */
  const runFor = (requestId: string, runName: string) =>
    simulateRun(buildFlowTemplate(input).definition, {
      trigger: { headers: relay.flowCallHeaders("contoso", requestId), body: { id: requestId } },
      workflow: { ...WORKFLOW, run: { name: runName } },
      answer: (action, inputs) =>
        action === APPROVAL_ACTION ? { statusCode: 200, body: APPROVAL_OUTPUT } : send(inputs),
    });

  it("lets the first run approve and cancels a second run of the same request", async () => {
    const first = await runFor("2001", "08584000000000000000000000001CU01");
    const second = await runFor("2001", "08584000000000000000000000002CU01");
    expect([first.status, second.status]).toEqual(["Succeeded", "Cancelled"]);
    expect(second.terminatedBy).toBe(CLAIM_REFUSED_TERMINATE);
    expect(relay.claims.map((c) => [c.status, c.body])).toEqual([
      [
        200,
        {
          runId: "08584000000000000000000000001CU01",
          flowName: WORKFLOW.name,
          environmentName: WORKFLOW.tags.environmentName,
        },
      ],
      [409, expect.objectContaining({ runId: "08584000000000000000000000002CU01" })],
    ]);
    expect(relay.claims[0]?.authorization).toBe("Bearer v1.token-of-2001.mac");
    expect(relay.decisions).toEqual([
      {
        requestId: "2001",
        runId: "08584000000000000000000000001CU01",
        body: APPROVAL_OUTPUT,
        status: 202,
      },
    ]);
  });

  it("rides out a relay that answers 503 for a while, then claims", async () => {
    relay.failNextClaims("2002", [503, 503]);
    const outcome = await runFor("2002", "08584000000000000000000000003CU01");
    expect(summary(outcome)).toMatchObject({ status: "Succeeded", claimCalls: 3 });
    expect(relay.claimedBy("2002")).toBe("08584000000000000000000000003CU01");
  });
});
