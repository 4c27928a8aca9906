import { odata, type TableClient } from "@azure/data-tables";
import { z } from "zod";
import type { StoreRegistration } from "../../domain/model";
import type { StoreRepository } from "../../ports";
import { getEntityIfExists } from "./entities";
import { tableKey } from "./table-keys";

/** One registration per store: PartitionKey = storeId, fixed RowKey. */
const REGISTRATION_ROW = "registration";

const registrationColumns = z.object({
  organizationCode: z.string(),
  region: z.string(),
  dataServiceUrl: z.string(),
  securityServiceUrl: z.string().optional(),
  identityStoreId: z.number(),
  tenantId: z.string(),
  clientId: z.string(),
  updatedAt: z.string(),
});

const registrationRow = registrationColumns.extend({ partitionKey: z.string() });

export class TableStoreRepository implements StoreRepository {
  constructor(private readonly table: TableClient) {}

  async get(storeId: string): Promise<StoreRegistration | undefined> {
    const entity = await getEntityIfExists(
      this.table,
      tableKey("storeId", storeId),
      REGISTRATION_ROW,
    );
    return entity && { storeId, ...registrationColumns.parse(entity) };
  }

  async put(registration: StoreRegistration): Promise<void> {
    // No field of a registration is secret or nested, so every field is a column as it is.
    const { storeId, ...columns } = registration;
    await this.table.upsertEntity(
      { partitionKey: tableKey("storeId", storeId), rowKey: REGISTRATION_ROW, ...columns },
      "Replace",
    );
  }

  async list(): Promise<StoreRegistration[]> {
    const registrations: StoreRegistration[] = [];
    // Table Storage returns rows ordered by PartitionKey, the storeId; the iterator reads every page.
    for await (const entity of this.table.listEntities<Record<string, unknown>>({
      queryOptions: { filter: odata`RowKey eq ${REGISTRATION_ROW}` },
    })) {
      const { partitionKey: storeId, ...columns } = registrationRow.parse(entity);
      registrations.push({ storeId, ...columns });
    }
    return registrations;
  }
}
