import type { TableClient, TableEntityResult } from "@azure/data-tables";
import { z } from "zod";

export type StoredEntity = TableEntityResult<Record<string, unknown>>;

/** The entity, or undefined when the row does not exist (a missing table still throws). */
export async function getEntityIfExists(
  table: TableClient,
  partitionKey: string,
  rowKey: string,
): Promise<StoredEntity | undefined> {
  try {
    return await table.getEntity<Record<string, unknown>>(partitionKey, rowKey);
  } catch (error) {
    if (isMissingEntity(error)) return undefined;
    throw error;
  }
}

/**
 * True for a 404 about the entity itself. A 404 "TableNotFound" is a deployment fault, not an
 * absent record, so it must not read as "no such request".
 */
export function isMissingEntity(error: unknown): boolean {
  return statusCodeOf(error) === 404 && errorCodeOf(error) === "ResourceNotFound";
}

/** True for an insert of a row that exists (other 409s, such as a table being deleted, are faults). */
export function isEntityAlreadyExists(error: unknown): boolean {
  return statusCodeOf(error) === 409 && errorCodeOf(error) === "EntityAlreadyExists";
}

export function statusCodeOf(error: unknown): number | undefined {
  const statusCode = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof statusCode === "number" ? statusCode : undefined;
}

/** Table's error code ("ResourceNotFound", "TableNotFound", ...) wherever the SDK put it. */
function errorCodeOf(error: unknown): string | undefined {
  const { code, details } = (error ?? {}) as {
    code?: unknown;
    details?: { errorCode?: unknown; odataError?: { code?: unknown } };
  };
  const found = [code, details?.odataError?.code, details?.errorCode];
  return found.find((candidate): candidate is string => typeof candidate === "string");
}

/** A String column holding JSON (Table has no nested types), validated by `schema` on read. */
export function jsonColumn<T extends z.ZodType>(schema: T) {
  return z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: "custom", message: "is not valid JSON" });
        return z.NEVER;
      }
    })
    .pipe(schema);
}
