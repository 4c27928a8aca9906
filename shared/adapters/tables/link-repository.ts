import { odata, type TableClient } from "@azure/data-tables";
import { z } from "zod";
import type { WorkflowLink } from "../../domain/model";
import type { LinkRepository } from "../../ports";
import type { SecretBox } from "../../security/secret-box";
import { getEntityIfExists, isMissingEntity, jsonColumn, type StoredEntity } from "./entities";
import { tableKey } from "./table-keys";

const linkColumns = z.object({
  workflowName: z.string().optional(),
  approvers: jsonColumn(z.array(z.string())),
  flowAuth: z.enum(["sas", "entra"]),
  requestUrlSealed: z.string(),
  triggerKeySealed: z.string(),
  requestIdPointer: z.string().optional(),
  claims: z.boolean().optional(),
  maxCallsPerSecond: z.number().int().optional(),
  updatedAt: z.string(),
});

const workflowRowKey = z.object({ rowKey: z.string() });

type SecretField = "requestUrl" | "triggerKey";

/**
 * PartitionKey = storeId, RowKey = workflowId. The flow URL and the trigger key are sealed with
 * the secret box, bound to their row and field, so neither is readable from the table.
 */
export class TableLinkRepository implements LinkRepository {
  constructor(
    private readonly table: TableClient,
    private readonly secrets: SecretBox,
  ) {}

  async get(storeId: string, workflowId: string): Promise<WorkflowLink | undefined> {
    const entity = await getEntityIfExists(
      this.table,
      tableKey("storeId", storeId),
      tableKey("workflowId", workflowId),
    );
    return entity && this.toLink(storeId, workflowId, entity);
  }

  async list(storeId: string): Promise<WorkflowLink[]> {
    const partitionKey = tableKey("storeId", storeId);
    const links: WorkflowLink[] = [];
    // Rows come ordered by RowKey, the workflowId; the iterator reads every page.
    for await (const entity of this.table.listEntities<Record<string, unknown>>({
      queryOptions: { filter: odata`PartitionKey eq ${partitionKey}` },
    }))
      links.push(this.toLink(storeId, workflowRowKey.parse(entity).rowKey, entity));
    return links;
  }

  private toLink(storeId: string, workflowId: string, entity: StoredEntity): WorkflowLink {
    const columns = linkColumns.parse(entity);
    const context = (field: SecretField): string => secretContext(storeId, workflowId, field);
    return {
      storeId,
      workflowId,
      workflowName: columns.workflowName,
      approvers: columns.approvers,
      flowAuth: columns.flowAuth,
      requestUrl: this.secrets.open(columns.requestUrlSealed, context("requestUrl")),
      triggerKey: this.secrets.open(columns.triggerKeySealed, context("triggerKey")),
      requestIdPointer: columns.requestIdPointer,
      ...(columns.claims && { claims: true }),
      ...(columns.maxCallsPerSecond !== undefined && {
        maxCallsPerSecond: columns.maxCallsPerSecond,
      }),
      updatedAt: columns.updatedAt,
    };
  }

  async put(link: WorkflowLink): Promise<void> {
    const context = (field: SecretField): string =>
      secretContext(link.storeId, link.workflowId, field);
    // Columns are listed one by one (no spread) so a field added to WorkflowLink later is never
    // stored in clear by accident.
    await this.table.upsertEntity(
      {
        partitionKey: tableKey("storeId", link.storeId),
        rowKey: tableKey("workflowId", link.workflowId),
        workflowName: link.workflowName,
        approvers: JSON.stringify(link.approvers),
        flowAuth: link.flowAuth,
        requestUrlSealed: this.secrets.seal(link.requestUrl, context("requestUrl")),
        triggerKeySealed: this.secrets.seal(link.triggerKey, context("triggerKey")),
        requestIdPointer: link.requestIdPointer,
        claims: link.claims,
        maxCallsPerSecond: link.maxCallsPerSecond,
        updatedAt: link.updatedAt,
      },
      "Replace",
    );
  }

  async markClaiming(storeId: string, workflowId: string): Promise<void> {
    try {
      // Merge, so an administrator's re-link meanwhile keeps everything else it wrote.
      await this.table.updateEntity(
        {
          partitionKey: tableKey("storeId", storeId),
          rowKey: tableKey("workflowId", workflowId),
          claims: true,
        },
        "Merge",
      );
    } catch (error) {
      // Unlinked meanwhile: there is nothing to mark.
      if (!isMissingEntity(error)) throw error;
    }
  }

  async delete(storeId: string, workflowId: string): Promise<boolean> {
    try {
      await this.table.deleteEntity(
        tableKey("storeId", storeId),
        tableKey("workflowId", workflowId),
      );
      return true;
    } catch (error) {
      if (isMissingEntity(error)) return false;
      throw error;
    }
  }
}

/** Keys cannot contain "/", so this names exactly one field of one row. */
function secretContext(storeId: string, workflowId: string, field: SecretField): string {
  return `link/${storeId}/${workflowId}/${field}`;
}
