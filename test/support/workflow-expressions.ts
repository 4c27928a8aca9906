/**
 * The expression language of Logic Apps workflow definitions, enough to check and run a flow
 * template in tests: strings starting with `@` are expressions, `@{...}` interpolates into text,
 * `@@` escapes a leading `@`. Expressions are function calls, literals ('text' with '' for a
 * quote, numbers, true/false/null) and member access (`['name']`, `?['name']`, `.name`, `?.name`).
 */

import { isDeepStrictEqual } from "node:util";

export type Expression =
  | { kind: "literal"; value: unknown }
  | { kind: "call"; name: string; args: Expression[] }
  | { kind: "member"; target: Expression; key: Expression; optional: boolean };

/** A definition string: plain text, one whole expression, or text with interpolations. */
export type TemplateString =
  | { kind: "text"; text: string }
  | { kind: "expression"; expression: Expression }
  | { kind: "interpolation"; parts: (string | Expression)[] };

/** Functions of the language the templates may use, with their allowed argument counts. */
const FUNCTIONS: Record<string, [min: number, max: number]> = {
  triggerOutputs: [0, 0],
  triggerBody: [0, 0],
  workflow: [0, 0],
  body: [1, 1],
  outputs: [1, 1],
  actions: [1, 1],
  parameters: [1, 1],
  variables: [1, 1],
  string: [1, 1],
  json: [1, 1],
  concat: [1, Infinity],
  take: [2, 2],
  coalesce: [1, Infinity],
  utcNow: [0, 1],
  equals: [2, 2],
  and: [1, Infinity],
  or: [1, Infinity],
  not: [1, 1],
};

export class ExpressionError extends Error {
  override name = "ExpressionError";
}

class Parser {
  private position = 0;

  constructor(private readonly source: string) {}

  get offset(): number {
    return this.position;
  }

  fail(message: string): never {
    throw new ExpressionError(`${message} at ${this.position} in ${JSON.stringify(this.source)}`);
  }

  skipSpace(): void {
    while (/\s/.test(this.source[this.position] ?? "")) this.position++;
  }

  peek(text: string): boolean {
    this.skipSpace();
    return this.source.startsWith(text, this.position);
  }

  expect(text: string): void {
    if (!this.peek(text)) this.fail(`expected ${JSON.stringify(text)}`);
    this.position += text.length;
  }

  expression(): Expression {
    let result = this.primary();
    for (;;) {
      const optional = this.peek("?");
      if (optional) this.position++;
      if (this.peek("[")) {
        this.position++;
        const key = this.expression();
        this.expect("]");
        result = { kind: "member", target: result, key, optional };
      } else if (this.peek(".") && !/[0-9]/.test(this.source[this.position + 1] ?? "")) {
        this.position++;
        const name = this.identifier();
        result = {
          kind: "member",
          target: result,
          key: { kind: "literal", value: name },
          optional,
        };
      } else if (optional) {
        this.fail("expected [ or . after ?");
      } else {
        return result;
      }
    }
  }

  private primary(): Expression {
    this.skipSpace();
    const next = this.source[this.position];
    if (next === "'") return { kind: "literal", value: this.stringLiteral() };
    if (next !== undefined && /[-0-9]/.test(next)) {
      const match = /^-?\d+(\.\d+)?/.exec(this.source.slice(this.position));
      if (!match) this.fail("expected a number");
      this.position += match[0].length;
      return { kind: "literal", value: Number(match[0]) };
    }
    const name = this.identifier();
    if (name === "true" || name === "false" || name === "null")
      return { kind: "literal", value: name === "null" ? null : name === "true" };
    this.expect("(");
    const args: Expression[] = [];
    if (!this.peek(")")) {
      args.push(this.expression());
      while (this.peek(",")) {
        this.position++;
        args.push(this.expression());
      }
    }
    this.expect(")");
    const arity = FUNCTIONS[name];
    if (!arity) this.fail(`unknown function ${name}`);
    if (args.length < arity[0] || args.length > arity[1])
      this.fail(`${name} takes ${arity[0]}..${arity[1]} arguments, not ${args.length}`);
    return { kind: "call", name, args };
  }

  private identifier(): string {
    this.skipSpace();
    const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.source.slice(this.position));
    if (!match) this.fail("expected a function name");
    this.position += match[0].length;
    return match[0];
  }

  private stringLiteral(): string {
    let value = "";
    this.position++; // the opening quote
    for (;;) {
      const char = this.source[this.position];
      if (char === undefined) this.fail("unterminated string literal");
      this.position++;
      if (char !== "'") value += char;
      else if (this.source[this.position] === "'") {
        value += "'";
        this.position++;
      } else return value;
    }
  }
}

/** Parses a whole expression (the text after a leading `@`). */
export function parseExpression(source: string): Expression {
  const parser = new Parser(source);
  const expression = parser.expression();
  parser.skipSpace();
  if (parser.offset !== source.length) parser.fail("unexpected text after the expression");
  return expression;
}

/** Parses a string value of a definition; throws ExpressionError when an expression is malformed. */
export function parseTemplateString(value: string): TemplateString {
  if (value.startsWith("@@")) return { kind: "text", text: value.slice(1) };
  if (value.startsWith("@") && !value.startsWith("@{"))
    return { kind: "expression", expression: parseExpression(value.slice(1)) };
  if (!value.includes("@{")) return { kind: "text", text: value };
  const parts: (string | Expression)[] = [];
  let rest = value;
  for (let start = rest.indexOf("@{"); start >= 0; start = rest.indexOf("@{")) {
    if (start > 0) parts.push(rest.slice(0, start));
    const parser = new Parser(rest.slice(start + 2));
    parts.push(parser.expression());
    parser.expect("}");
    rest = rest.slice(start + 2 + parser.offset);
  }
  if (rest) parts.push(rest);
  return { kind: "interpolation", parts };
}

/** Every string in a JSON value, with its JSON pointer. */
export function stringsIn(value: unknown, pointer = ""): { pointer: string; value: string }[] {
  if (typeof value === "string") return [{ pointer, value }];
  if (Array.isArray(value))
    return value.flatMap((item, index) => stringsIn(item, `${pointer}/${index}`));
  if (value !== null && typeof value === "object")
    return Object.entries(value).flatMap(([key, item]) =>
      stringsIn(item, `${pointer}/${key.replace(/~/g, "~0").replace(/\//g, "~1")}`),
    );
  return [];
}

/** Every function call in an expression, depth first. */
export function callsIn(expression: Expression): { name: string; args: Expression[] }[] {
  switch (expression.kind) {
    case "literal":
      return [];
    case "call":
      return [expression, ...expression.args.flatMap(callsIn)];
    case "member":
      return [...callsIn(expression.target), ...callsIn(expression.key)];
  }
}

/** What `workflow()` holds in a Power Automate run (the parts the templates read). */
export interface WorkflowInfo {
  /** The flow's name (a GUID in Power Automate). */
  name: string;
  run: { name: string };
  tags: { environmentName: string };
}

/** What `actions('<name>')` holds once an action has run: its status and, if any, its outputs. */
export interface ActionResult {
  name: string;
  status: "Succeeded" | "Failed" | "Skipped" | "TimedOut";
  inputs?: unknown;
  outputs?: { statusCode?: number; headers?: Record<string, string>; body?: unknown };
}

/** What a flow run knows when an action's inputs are evaluated. */
export interface RunContext {
  trigger: { headers: Record<string, string>; body: unknown };
  /** Output bodies of the actions that ran (a shorthand for `actionResults`). */
  actionBodies?: Record<string, unknown>;
  actionResults?: Record<string, ActionResult>;
  workflow?: WorkflowInfo;
  parameters?: Record<string, unknown>;
}

function lookup(target: unknown, key: unknown, optional: boolean): unknown {
  if (target === null || target === undefined) {
    if (optional) return null;
    throw new ExpressionError(`cannot read ${String(key)} of ${String(target)}`);
  }
  if (typeof target !== "object")
    throw new ExpressionError(`cannot read ${String(key)} of a value`);
  // Logic Apps looks up header and property names without regard to case.
  const entries = Object.entries(target as Record<string, unknown>);
  const found = entries.find(([name]) => name.toLowerCase() === String(key).toLowerCase());
  if (found) return found[1];
  if (optional) return null;
  throw new ExpressionError(`property ${String(key)} does not exist`);
}

/** A value as text in an interpolation or `string()`: null becomes empty, as in Logic Apps. */
function asText(value: unknown): string {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function evaluate(expression: Expression, run: RunContext): unknown {
  switch (expression.kind) {
    case "literal":
      return expression.value;
    case "member":
      return lookup(
        evaluate(expression.target, run),
        evaluate(expression.key, run),
        expression.optional,
      );
    case "call": {
      const args = expression.args.map((arg) => evaluate(arg, run));
      switch (expression.name) {
        case "triggerOutputs":
          return { headers: run.trigger.headers, body: run.trigger.body };
        case "triggerBody":
          return run.trigger.body;
        case "workflow":
          if (!run.workflow) throw new ExpressionError("the run has no workflow() information");
          return run.workflow;
        case "actions":
          return actionResult(run, String(args[0]));
        case "outputs":
          return outputsOf(run, String(args[0]));
        case "body": {
          const name = String(args[0]);
          if (run.actionBodies && name in run.actionBodies) return run.actionBodies[name];
          return lookup(outputsOf(run, name), "body", true);
        }
        case "equals":
          return isDeepStrictEqual(args[0], args[1]);
        case "and":
          return args.every((arg) => arg === true);
        case "or":
          return args.some((arg) => arg === true);
        case "not":
          return args[0] !== true;
        case "parameters":
          return lookup(run.parameters ?? {}, args[0], false);
        case "string":
          return asText(args[0]);
        case "json":
          return JSON.parse(String(args[0]));
        case "concat":
          return args.map(asText).join("");
        case "take":
          return typeof args[0] === "string" || Array.isArray(args[0])
            ? args[0].slice(0, Number(args[1]))
            : (() => {
                throw new ExpressionError("take needs a string or an array");
              })();
        case "coalesce":
          return args.find((arg) => arg !== null && arg !== undefined) ?? null;
        default:
          throw new ExpressionError(`${expression.name} cannot be evaluated in tests`);
      }
    }
  }
}

function actionResult(run: RunContext, name: string): ActionResult {
  const result = run.actionResults?.[name];
  if (!result) throw new ExpressionError(`action ${name} did not run`);
  return result;
}

/** As in Logic Apps, `outputs()` of an action that ended without any is an error. */
function outputsOf(run: RunContext, name: string): unknown {
  const { outputs } = actionResult(run, name);
  if (!outputs) throw new ExpressionError(`action ${name} has no outputs`);
  return outputs;
}

/**
 * An If action's `expression`: an expression string, or the designer's object form
 * (`{"and": [{"equals": [a, b]}]}`, with `or`, `not`, `equals` and operands that are values of
 * the definition).
 */
export function evaluateCondition(condition: unknown, run: RunContext): boolean {
  if (typeof condition === "string") return evaluateValue(condition, run) === true;
  if (condition === null || typeof condition !== "object" || Array.isArray(condition))
    throw new ExpressionError(`not a condition: ${JSON.stringify(condition)}`);
  const entries = Object.entries(condition);
  const [operator, operands] = entries[0] ?? [];
  if (entries.length !== 1) throw new ExpressionError("a condition has exactly one operator");
  const list = Array.isArray(operands) ? operands : [operands];
  switch (operator) {
    case "and":
      return list.every((item) => evaluateCondition(item, run));
    case "or":
      return list.some((item) => evaluateCondition(item, run));
    case "not":
      return !evaluateCondition(operands, run);
    case "equals":
      if (list.length !== 2) throw new ExpressionError("equals takes two operands");
      return isDeepStrictEqual(evaluateValue(list[0], run), evaluateValue(list[1], run));
    default:
      throw new ExpressionError(`unknown condition operator ${String(operator)}`);
  }
}

/** The value a definition's JSON value has at run time: strings evaluated, the rest walked. */
export function evaluateValue(value: unknown, run: RunContext): unknown {
  if (typeof value === "string") {
    const parsed = parseTemplateString(value);
    switch (parsed.kind) {
      case "text":
        return parsed.text;
      case "expression":
        return evaluate(parsed.expression, run);
      case "interpolation":
        return parsed.parts
          .map((part) => (typeof part === "string" ? part : asText(evaluate(part, run))))
          .join("");
    }
  }
  if (Array.isArray(value)) return value.map((item) => evaluateValue(item, run));
  if (value !== null && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, evaluateValue(item, run)]),
    );
  return value;
}
