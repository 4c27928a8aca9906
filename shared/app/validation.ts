import type { z } from "zod";
import type { FieldError } from "../domain/decision";
import { invalid } from "./errors";

export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    path: "/" + issue.path.map(String).join("/"),
    message: issue.message,
  }));
}

/** Parses a JSON body against a schema, or throws a 400 naming each bad field. */
export function parseBody<T extends z.ZodType>(schema: T, body: string): z.infer<T> {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw invalid("the body is not JSON", [{ path: "/", message: "must be valid JSON" }]);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw invalid("the body is not valid", fieldErrors(parsed.error));
  return parsed.data;
}
