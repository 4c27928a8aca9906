import { invalid } from "../app/errors";
import type { FieldError } from "../domain/decision";
import { requestIdSchema, storeIdSchema, workflowIdSchema } from "../domain/ids";

const SCHEMAS = {
  storeId: storeIdSchema,
  workflowId: workflowIdSchema,
  requestId: requestIdSchema,
};
type IdName = keyof typeof SCHEMAS;

/** Validates the ids in a route before anything (a Table key, a log line) is built from them. */
export function routeIds<N extends IdName>(
  params: Record<string, string | undefined>,
  names: readonly N[],
): Record<N, string> {
  const errors: FieldError[] = [];
  const ids = {} as Record<N, string>;
  for (const name of names) {
    const parsed = SCHEMAS[name].safeParse(params[name] ?? "");
    if (parsed.success) ids[name] = parsed.data;
    else
      errors.push({
        path: `/path/${name}`,
        message: parsed.error.issues[0]?.message ?? "is not valid",
      });
  }
  if (errors.length > 0) throw invalid("the URL holds an invalid identifier", errors);
  return ids;
}
