/**
 * HTTP route templates as Azure Functions (ASP.NET Core routing) understands them:
 * literal segments (matched case-insensitively), `{name}`, `{name?}` (trailing segments only),
 * `{name:int}`-style constraints, `{*name}` catch-all as the last segment, and parameters mixed
 * with literals inside a segment (`{file}.{ext}`).
 */

const CONSTRAINT_PATTERNS: Record<string, string> = {
  int: "-?\\d+",
  long: "-?\\d+",
  alpha: "[A-Za-z]+",
  bool: "(?:[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])",
  guid: "[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}",
};

/** Lower is more specific; used to pick between templates that match the same path. */
enum SegmentRank {
  Literal = 0,
  Mixed = 1,
  ConstrainedParameter = 2,
  Parameter = 3,
  OptionalParameter = 4,
  CatchAll = 5,
}

interface CompiledSegment {
  pattern: RegExp;
  parameterNames: string[];
  rank: SegmentRank;
  optional: boolean;
  catchAll: boolean;
}

export interface CompiledRoute {
  template: string;
  ranks: SegmentRank[];
  /** The route parameters if `pathSegments` (already URL-decoded) match, otherwise null. */
  match(pathSegments: string[]): Record<string, string> | null;
}

const PARAMETER = /\{([^{}]*)\}/g;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function compileSegment(segment: string, template: string, isLast: boolean): CompiledSegment {
  const parameterNames: string[] = [];
  let source = "";
  let lastIndex = 0;
  let rank = SegmentRank.Literal;
  let optional = false;
  let catchAll = false;

  for (const match of segment.matchAll(PARAMETER)) {
    source += escapeRegExp(segment.slice(lastIndex, match.index));
    lastIndex = match.index + match[0].length;
    const parsed = /^(\*)?([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z]+))?(\?)?$/.exec(match[1] ?? "");
    if (!parsed) {
      throw new Error(`Unsupported parameter "${match[0]}" in route "${template}".`);
    }
    const [, star, name = "", constraint, question] = parsed;
    const wholeSegment = match[0] === segment;
    if ((star || question) && !wholeSegment) {
      throw new Error(`"${match[0]}" must be a whole segment in route "${template}".`);
    }
    if (star && !isLast) {
      throw new Error(`Catch-all "${match[0]}" must be the last segment in route "${template}".`);
    }
    // Segments are split before decoding, so a decoded "/" (from %2F) belongs to its segment.
    let valuePattern = star ? ".*" : ".+";
    if (constraint) {
      const constraintPattern = CONSTRAINT_PATTERNS[constraint.toLowerCase()];
      if (!constraintPattern) {
        throw new Error(`Unsupported constraint "${constraint}" in route "${template}".`);
      }
      valuePattern = constraintPattern;
    }
    source += `(${valuePattern})`;
    parameterNames.push(name);
    optional = Boolean(question);
    catchAll = Boolean(star);
    rank = !wholeSegment
      ? SegmentRank.Mixed
      : star
        ? SegmentRank.CatchAll
        : question
          ? SegmentRank.OptionalParameter
          : constraint
            ? SegmentRank.ConstrainedParameter
            : SegmentRank.Parameter;
  }
  source += escapeRegExp(segment.slice(lastIndex));
  if (/[{}]/.test(segment.replace(PARAMETER, ""))) {
    throw new Error(`Unbalanced braces in route "${template}".`);
  }
  // dotAll: a decoded segment may hold a line break, which the function then refuses by name.
  return { pattern: new RegExp(`^${source}$`, "is"), parameterNames, rank, optional, catchAll };
}

export function splitPath(path: string): string[] {
  return path.split("/").filter((segment) => segment.length > 0);
}

export function compileRoute(template: string): CompiledRoute {
  const rawSegments = splitPath(template);
  const segments = rawSegments.map((s, i) =>
    compileSegment(s, template, i === rawSegments.length - 1),
  );
  const firstOptional = segments.findIndex((s) => s.optional || s.catchAll);
  if (firstOptional >= 0 && segments.slice(firstOptional).some((s) => !s.optional && !s.catchAll)) {
    throw new Error(`Optional parameters must come last in route "${template}".`);
  }
  const requiredCount = firstOptional >= 0 ? firstOptional : segments.length;
  const catchAll = segments.at(-1)?.catchAll ?? false;

  return {
    template,
    ranks: segments.map((s) => s.rank),
    match(pathSegments) {
      if (pathSegments.length < requiredCount) return null;
      if (!catchAll && pathSegments.length > segments.length) return null;
      const params: Record<string, string> = {};
      for (const [index, segment] of segments.entries()) {
        if (segment.catchAll) {
          const rest = pathSegments.slice(index).join("/");
          if (rest) params[segment.parameterNames[0] ?? ""] = rest;
          return params;
        }
        const value = pathSegments[index];
        if (value === undefined) return params; // an absent trailing optional segment
        const match = segment.pattern.exec(value);
        if (!match) return null;
        segment.parameterNames.forEach((name, i) => (params[name] = match[i + 1] ?? ""));
      }
      return params;
    },
  };
}

/** Orders routes most specific first, so `items/new` wins over `items/{id}`. */
export function compareRouteSpecificity(a: CompiledRoute, b: CompiledRoute): number {
  const length = Math.max(a.ranks.length, b.ranks.length);
  for (let i = 0; i < length; i++) {
    const difference =
      (a.ranks[i] ?? SegmentRank.CatchAll + 1) - (b.ranks[i] ?? SegmentRank.CatchAll + 1);
    if (difference !== 0) return difference;
  }
  return 0;
}
