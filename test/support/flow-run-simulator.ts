/**
 * A small Logic Apps runtime for tests: runs a workflow definition's actions by their `runAfter`
 * conditions as Power Automate does, with every outside call (HTTP and connector actions)
 * answered by the test, so a test can say which actions run, and how the run ends, for each way
 * the outside world answers.
 *
 * The rules it keeps (Logic Apps "Handle errors and exceptions"):
 * - an action runs once every action it runs after has finished with one of the listed statuses;
 *   otherwise it is Skipped, and nothing inside a Skipped action runs;
 * - an If runs the actions of one branch (`actions` or `else.actions`) as a scope;
 * - HTTP and connector calls are retried on 408, 429, 5xx and connection failures per their
 *   `retryPolicy` (none: no retry; absent or default: 4 retries); 2xx succeeds, other statuses fail;
 * - a Terminate ends the whole run at once with its `runStatus`;
 * - otherwise a scope (the run too) fails when one of its branches ends failed, a branch ending
 *   in a Skipped action taking the status of what that action ran after.
 * Actions that become ready together start together in Power Automate, so here a Terminate among
 * them ends the run only once all of them have run (an approval started beside a Terminate counts).
 */
import {
  ExpressionError,
  evaluateCondition,
  evaluateValue,
  type ActionResult,
  type RunContext,
  type WorkflowInfo,
} from "./workflow-expressions";

export type ActionStatus = ActionResult["status"];
const ACTION_STATUSES: readonly ActionStatus[] = ["Succeeded", "Failed", "Skipped", "TimedOut"];

/** How one attempt of an outside call is answered. */
export type CallAnswer =
  | { statusCode: number; body?: unknown; headers?: Record<string, string> }
  /** No answer at all (refused, reset): retried like a 5xx; the action fails without outputs. */
  | "connection-failure"
  /** The action runs past its time limit: it ends TimedOut, without further retries. */
  | "timed-out";

export interface RunScenario {
  trigger: RunContext["trigger"];
  workflow: WorkflowInfo;
  parameters?: Record<string, unknown>;
  /** Answers the `attempt`-th call (from 1) of an HTTP or connector action, given its inputs. */
  answer(action: string, inputs: unknown, attempt: number): CallAnswer | Promise<CallAnswer>;
}

export interface ActionRecord {
  name: string;
  status: ActionStatus;
  /** Calls made, for HTTP and connector actions that got to call. */
  attempts?: number;
  inputs?: unknown;
}

export interface RunOutcome {
  status: "Succeeded" | "Failed" | "Cancelled";
  /** The Terminate action that ended the run, if one did. */
  terminatedBy?: string;
  error?: unknown;
  /** Every action that got a status, in the order it got it, nested ones included. */
  actions: ActionRecord[];
}

export interface ActionDefinition {
  type: string;
  runAfter?: Record<string, string[]>;
  inputs?: unknown;
  expression?: unknown;
  actions?: Record<string, ActionDefinition>;
  else?: { actions?: Record<string, ActionDefinition> };
}

const CALL_TYPES = new Set(["Http", "OpenApiConnection", "OpenApiConnectionWebhook"]);
const RUN_STATUSES = new Set<RunOutcome["status"]>(["Succeeded", "Failed", "Cancelled"]);

class Terminated {
  constructor(
    readonly action: string,
    readonly status: RunOutcome["status"],
    readonly error: unknown,
  ) {}
}

/** Runs the definition's actions; throws when the definition itself is malformed. */
export async function simulateRun(
  definition: Record<string, unknown>,
  scenario: RunScenario,
): Promise<RunOutcome> {
  const actions = definition.actions as Record<string, ActionDefinition>;
  checkNamesAreUnique(actions);
  const records: ActionRecord[] = [];
  const context: RunContext = {
    trigger: scenario.trigger,
    workflow: scenario.workflow,
    actionResults: {},
    parameters: scenario.parameters ?? { $connections: {}, $authentication: {} },
  };
  const finish = (name: string, result: Omit<ActionResult, "name">, attempts?: number): void => {
    (context.actionResults ??= {})[name] = { name, ...result };
    records.push({
      name,
      status: result.status,
      ...(attempts !== undefined && { attempts }),
      ...(result.inputs !== undefined && { inputs: result.inputs }),
    });
  };

  async function runAction(name: string, action: ActionDefinition): Promise<ActionStatus> {
    if (CALL_TYPES.has(action.type)) return call(name, action);
    if (action.type === "If") {
      let condition: boolean;
      try {
        condition = evaluateCondition(action.expression, context);
      } catch (error) {
        if (!(error instanceof ExpressionError)) throw error;
        finish(name, { status: "Failed" });
        return "Failed";
      }
      const status = await runScope((condition ? action.actions : action.else?.actions) ?? {});
      finish(name, { status });
      return status;
    }
    if (action.type === "Terminate") {
      const inputs = evaluateValue(action.inputs, context) as {
        runStatus: RunOutcome["status"];
        runError?: unknown;
      };
      if (!RUN_STATUSES.has(inputs.runStatus))
        throw new Error(`${name}: runStatus ${String(inputs.runStatus)} is not a run status`);
      finish(name, { status: "Succeeded", inputs });
      throw new Terminated(name, inputs.runStatus, inputs.runError);
    }
    throw new Error(`${name}: the simulator does not know actions of type ${action.type}`);
  }

  async function call(name: string, action: ActionDefinition): Promise<ActionStatus> {
    let inputs: unknown;
    try {
      inputs = evaluateValue(action.inputs, context);
    } catch (error) {
      // An expression that cannot be evaluated (a header the trigger lacks) fails the action.
      if (!(error instanceof ExpressionError)) throw error;
      finish(name, { status: "Failed" });
      return "Failed";
    }
    const retries = retryCount(
      (inputs as { retryPolicy?: { type?: string; count?: number } })?.retryPolicy,
    );
    for (let attempt = 1; ; attempt++) {
      const answer = await scenario.answer(name, inputs, attempt);
      if (answer === "timed-out") {
        finish(name, { status: "TimedOut", inputs }, attempt);
        return "TimedOut";
      }
      const retryable =
        answer === "connection-failure" ||
        answer.statusCode === 408 ||
        answer.statusCode === 429 ||
        answer.statusCode >= 500;
      if (retryable && attempt <= retries) continue;
      if (answer === "connection-failure") {
        finish(name, { status: "Failed", inputs }, attempt);
        return "Failed";
      }
      const status = answer.statusCode >= 200 && answer.statusCode < 300 ? "Succeeded" : "Failed";
      finish(
        name,
        {
          status,
          inputs,
          outputs: {
            statusCode: answer.statusCode,
            headers: answer.headers ?? {},
            body: answer.body,
          },
        },
        attempt,
      );
      return status;
    }
  }

  async function runScope(scope: Record<string, ActionDefinition>): Promise<ActionStatus> {
    const names = Object.keys(scope);
    const statuses = new Map<string, ActionStatus>();
    const after = (name: string): [string, string[]][] =>
      Object.entries(scope[name]?.runAfter ?? {});
    for (const name of names)
      for (const [predecessor, allowed] of after(name)) {
        if (!names.includes(predecessor))
          throw new Error(`${name} runs after ${predecessor}, which is not in its scope`);
        for (const status of allowed)
          if (!ACTION_STATUSES.includes(status as ActionStatus))
            throw new Error(`${name}: ${status} is not an action status`);
      }
    const pending = new Set(names);
    while (pending.size > 0) {
      const wave = [...pending].filter((name) =>
        after(name).every(([predecessor]) => statuses.has(predecessor)),
      );
      if (wave.length === 0)
        throw new Error(`runAfter never lets ${[...pending].join(", ")} run (a cycle)`);
      let terminated: Terminated | undefined;
      for (const name of wave) {
        pending.delete(name);
        const ready = after(name).every(([predecessor, allowed]) =>
          allowed.includes(statuses.get(predecessor) as string),
        );
        let status: ActionStatus = "Skipped";
        try {
          if (ready) status = await runAction(name, scope[name] as ActionDefinition);
          else finish(name, { status });
        } catch (error) {
          if (!(error instanceof Terminated)) throw error;
          terminated ??= error;
          status = "Succeeded";
        }
        statuses.set(name, status);
      }
      if (terminated) throw terminated;
    }
    const endedFailed = (name: string): boolean => {
      const status = statuses.get(name);
      if (status === "Skipped")
        return after(name).some(([predecessor]) => endedFailed(predecessor));
      return status === "Failed" || status === "TimedOut";
    };
    const branchEnds = names.filter(
      (name) => !names.some((other) => after(other).some(([p]) => p === name)),
    );
    return branchEnds.some(endedFailed) ? "Failed" : "Succeeded";
  }

  try {
    const status = await runScope(actions);
    return { status: status === "Succeeded" ? "Succeeded" : "Failed", actions: records };
  } catch (error) {
    if (!(error instanceof Terminated)) throw error;
    return {
      status: error.status,
      terminatedBy: error.action,
      ...(error.error !== undefined && { error: error.error }),
      actions: records,
    };
  }
}

/** Retries an action's policy allows (Logic Apps' default policy retries 4 times). */
function retryCount(policy: { type?: string; count?: number } | undefined): number {
  if (!policy || policy.type === "default") return 4;
  if (policy.type === "none") return 0;
  if ((policy.type === "exponential" || policy.type === "fixed") && Number.isInteger(policy.count))
    return policy.count as number;
  throw new Error(`retryPolicy ${JSON.stringify(policy)} is not one Logic Apps accepts`);
}

/** Action names are unique across a definition, nested ones included: `actions()` finds them so. */
function checkNamesAreUnique(actions: Record<string, ActionDefinition>): void {
  const seen = new Set<string>();
  const walk = (scope: Record<string, ActionDefinition> | undefined): void => {
    for (const [name, action] of Object.entries(scope ?? {})) {
      if (seen.has(name)) throw new Error(`two actions are named ${name}`);
      seen.add(name);
      walk(action.actions);
      walk(action.else?.actions);
    }
  };
  walk(actions);
}

/** Every action of a definition with its scope path, nested ones included. */
export function allActions(
  actions: Record<string, unknown>,
  scope: string[] = [],
): { name: string; scope: string[]; action: ActionDefinition }[] {
  return Object.entries(actions as Record<string, ActionDefinition>).flatMap(([name, action]) => [
    { name, scope, action },
    ...allActions(action.actions ?? {}, [...scope, name]),
    ...allActions(action.else?.actions ?? {}, [...scope, `${name}/else`]),
  ]);
}
