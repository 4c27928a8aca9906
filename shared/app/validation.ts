import type { z } from "zod";
import type { FieldError } from "../domain/decision";
import { RelayProblem, invalid } from "./errors";

/**
 * The largest admin request body: several times what the longest valid one needs, and far below
 * what a Table row holds, so no field's size can reach the storage.
 */
const MAX_ADMIN_BODY_BYTES = 64 * 1024;

export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    path: "/" + issue.path.map(String).join("/"),
    message: issue.message,
  }));
}

/** Parses a JSON body against a schema, or throws a 400 naming each bad field (413 if too big). */
export function parseBody<T extends z.ZodType>(schema: T, body: string): z.infer<T> {
  if (Buffer.byteLength(body, "utf8") > MAX_ADMIN_BODY_BYTES)
    throw new RelayProblem("too-large", "Payload too large", "the body is over 64 KiB", [
      { path: "/", message: "must be at most 64 KiB" },
    ]);
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
