import { z } from "zod";

export const storeIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "must be 1-64 letters, digits, '.', '_' or '-'");
export const workflowIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, "must be 1-128 letters, digits, '.', '_' or '-'");
export const requestIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/,
    "must be 1-128 letters, digits, '.', '_', ':' or '-'",
  );

export type StoreId = z.infer<typeof storeIdSchema>;
export type WorkflowId = z.infer<typeof workflowIdSchema>;
export type RequestId = z.infer<typeof requestIdSchema>;
