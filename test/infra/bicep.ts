/**
 * Just enough of a Bicep reader for the infra tests: declarations, resource bodies and the
 * top-level properties of object literals, found by brace matching that skips strings (whose
 * `${...}` interpolations hold braces) and comments. It reads; it does not compile.
 */

export interface BicepParam {
  name: string;
  type: string;
  /** The default's source text, if any. */
  defaultValue?: string;
  secure: boolean;
  allowed?: string[];
}

export interface BicepResource {
  symbol: string;
  type: string;
  apiVersion: string;
  /** The source of the resource's body, braces included (brackets for a `[for ...]` loop). */
  body: string;
}

/** Where the string or comment that starts at `index` ends (exclusive), or `index` if none does. */
function skipLiteral(text: string, index: number): number {
  if (text.startsWith("'''", index)) return text.indexOf("'''", index + 3) + 3;
  if (text[index] === "'") {
    let at = index + 1;
    while (at < text.length && text[at] !== "'") at += text[at] === "\\" ? 2 : 1;
    return at + 1;
  }
  if (text.startsWith("//", index)) {
    const end = text.indexOf("\n", index);
    return end === -1 ? text.length : end;
  }
  if (text.startsWith("/*", index)) return text.indexOf("*/", index + 2) + 2;
  return index;
}

/** The bracketed block (`{...}` or `[...]`) that opens at `open`, brackets included. */
export function blockAt(text: string, open: number): string {
  const closing: Record<string, string> = { "{": "}", "[": "]", "(": ")" };
  const stack: string[] = [];
  let at = open;
  while (at < text.length) {
    const skipped = skipLiteral(text, at);
    if (skipped !== at) {
      at = skipped;
      continue;
    }
    const char = text[at];
    if (closing[char]) stack.push(closing[char]);
    else if (char === stack[stack.length - 1]) {
      stack.pop();
      if (stack.length === 0) return text.slice(open, at + 1);
    }
    at++;
  }
  throw new Error(`unbalanced block at offset ${open}`);
}

/** The index of the first `{` or `[` at or after `from` outside strings and comments. */
function nextBlock(text: string, from: number): number {
  let at = from;
  while (at < text.length) {
    const skipped = skipLiteral(text, at);
    if (skipped !== at) at = skipped;
    else if (text[at] === "{" || text[at] === "[") return at;
    else at++;
  }
  throw new Error(`no object after offset ${from}`);
}

/**
 * The top-level `key: value` pairs of an object literal (`{...}` source), values as source text.
 * Keys may be quoted ('azd-service-name').
 */
export function objectProperties(objectSource: string): Map<string, string> {
  const properties = new Map<string, string>();
  const inner = objectSource.slice(1, -1);
  let at = 0;
  while (at < inner.length) {
    const skipped = skipLiteral(inner, at);
    if (skipped !== at && inner[at] !== "'") {
      at = skipped;
      continue;
    }
    const key = /^\s*(?:'([^']+)'|([A-Za-z_$][\w$]*))\s*:\s*/.exec(inner.slice(at));
    if (!key) {
      at++;
      continue;
    }
    const valueStart = at + key[0].length;
    let valueEnd = valueStart;
    // A value runs to the end of its line, or further while a bracket it opened is still open.
    while (valueEnd < inner.length && inner[valueEnd] !== "\n") {
      const afterLiteral = skipLiteral(inner, valueEnd);
      if (afterLiteral !== valueEnd) valueEnd = afterLiteral;
      else if ("{[(".includes(inner[valueEnd])) valueEnd += blockAt(inner, valueEnd).length;
      else valueEnd++;
    }
    properties.set(key[1] ?? key[2], inner.slice(valueStart, valueEnd).trim());
    at = valueEnd;
  }
  return properties;
}

export function params(text: string): BicepParam[] {
  const found: BicepParam[] = [];
  const declaration = /^param\s+(\w+)\s+(\w+)(?:\s*=\s*(.+))?$/gm;
  for (const match of text.matchAll(declaration)) {
    // The decorators are the lines right above, back to the previous declaration or blank line.
    const before =
      text
        .slice(0, match.index)
        .split(/\n\s*\n|\n(?=param |var |resource )/)
        .pop() ?? "";
    const allowed = /@allowed\((\[[\s\S]*?\])\)/.exec(before);
    found.push({
      name: match[1],
      type: match[2],
      defaultValue: match[3]?.trim(),
      secure: before.includes("@secure()"),
      allowed: allowed
        ? [...allowed[1].matchAll(/'([^']*)'|(\d+)/g)].map((item) => item[1] ?? item[2])
        : undefined,
    });
  }
  return found;
}

export function outputs(text: string): string[] {
  return [...text.matchAll(/^output\s+(\w+)\s/gm)].map((match) => match[1]);
}

export function resources(text: string): BicepResource[] {
  const declaration = /^resource\s+(\w+)\s+'([^'@]+)@([^']+)'\s*=/gm;
  return [...text.matchAll(declaration)].map((match) => ({
    symbol: match[1],
    type: match[2],
    apiVersion: match[3],
    body: blockAt(text, nextBlock(text, (match.index ?? 0) + match[0].length)),
  }));
}

/** A `var`'s source after `=`, to the end of its first object or array, or of its line. */
export function variableSource(text: string, name: string): string {
  const declaration = new RegExp(`^var\\s+${name}\\s*=\\s*`, "m").exec(text);
  if (!declaration) throw new Error(`no var ${name}`);
  const start = (declaration.index ?? 0) + declaration[0].length;
  const lineEnd = text.indexOf("\n", start);
  const line = text.slice(start, lineEnd === -1 ? undefined : lineEnd);
  const opens = line.search(/[{[]/);
  if (opens === -1) return line.trim();
  const block = blockAt(text, start + opens);
  return text.slice(start, start + opens) + block;
}

/** The object literal a `var` holds (for `cond ? {...} : {}`, the first branch's). */
export function variableObject(text: string, name: string): Map<string, string> {
  const source = variableSource(text, name);
  return objectProperties(source.slice(source.indexOf("{")));
}

/** The string literals of a `var` holding an array of strings. */
export function variableStrings(text: string, name: string): string[] {
  return [...variableSource(text, name).matchAll(/'([^']*)'/g)].map((match) => match[1]);
}

/** A literal's value: 'text' → text, numbers and booleans as such; anything else undefined. */
export function literal(source: string): string | number | boolean | undefined {
  const text = /^'((?:[^'\\$]|\\.)*)'$/.exec(source);
  if (text) return text[1].replace(/\\(.)/g, "$1");
  if (/^-?\d+$/.test(source)) return Number(source);
  if (source === "true" || source === "false") return source === "true";
  return undefined;
}
