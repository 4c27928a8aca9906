import { odata, type TableClient, type TransactionAction } from "@azure/data-tables";
import { z } from "zod";
import {
  REQUEST_STATES,
  type HistoryEntry,
  type RelayRequest,
  type RequestState,
} from "../../domain/model";
import { needsReconciling } from "../../domain/lifecycle";
import {
  flowRunSchema,
  historyEntrySchema,
  recordedDecisionSchema,
} from "../../domain/record-schemas";
import type { RequestRepository, StoredRequest, WriteResult } from "../../ports";
import {
  getEntityIfExists,
  isEntityAlreadyExists,
  jsonColumn,
  statusCodeOf,
  type StoredEntity,
} from "./entities";
import { tableKey } from "./table-keys";

/**
 * Layout, all in one partition per store (PartitionKey = storeId) so a request and its other rows
 * are written by one atomic transaction:
 * - the request row, RowKey = requestId, rewritten on every state change (Replace + ETag). It also
 *   holds DM's document (Binary property `payload`, UTF-8) when that is at most 64 KiB, so the
 *   dispatcher reads request and document with one read, and every state change rewrites it.
 * - the payload row, RowKey = "~payload~" + requestId, for a bigger document, written once: its
 *   UTF-8 split into Binary properties `payload0..payloadN` of at most 64 KiB each, so state changes
 *   never carry it. Requests stored before documents moved into the request row have one too.
 * - the watch row, RowKey = "~watch~" + requestId, present while the request needs reconciling
 *   (open, or its run still to be cancelled): inserted with the request and deleted in the same
 *   transaction as the write that closes it, so reconciliation reads a range of these rows and
 *   never the history of closed requests.
 * `rowType` tells them apart in queries.
 */
const REQUEST_ROW = "request";
const PAYLOAD_ROW = "payload";
const WATCH_ROW = "watch";
const PAYLOAD_ROW_PREFIX = "~payload~";
const WATCH_ROW_PREFIX = "~watch~";
/** Sorts right after every watch row: ids never start with "~" and "~" is the last ASCII key. */
const WATCH_ROW_END = "~watch~~";
/** Table's limit for one Binary property; also the biggest document kept in the request row. */
const PAYLOAD_CHUNK_BYTES = 64 * 1024;
/** 15 full chunks plus keys and overhead stay under Table's 1 MiB entity limit. */
const MAX_PAYLOAD_CHUNKS = 15;
/** A String property holds at most 64 KiB of UTF-16. */
const MAX_STRING_CHARS = 32 * 1024;
/** Free text from remote answers (error reasons) is cut to this so the row always fits. */
const MAX_TEXT_CHARS = 1024;

const requestColumns = z.object({
  rowKey: z.string(),
  workflowId: z.string(),
  state: z.enum(REQUEST_STATES),
  decision: jsonColumn(recordedDecisionSchema).optional(),
  dmOutcome: z.enum(["approved", "denied"]).optional(),
  flowRunId: z.string().optional(),
  flowRun: jsonColumn(flowRunSchema).optional(),
  nextAttemptAt: z.string().optional(),
  attempts: jsonColumn(z.object({ flow: z.number().int(), apply: z.number().int() })),
  redrives: z.number().int(),
  applyOutcomeUnknown: z.boolean().optional(),
  lastError: z.string().optional(),
  history: jsonColumn(z.array(historyEntrySchema)),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const payloadColumns = z.object({ payloadChunks: z.number().int().min(0) });

export class TableRequestRepository implements RequestRepository {
  constructor(private readonly table: TableClient) {}

  async get(storeId: string, requestId: string): Promise<StoredRequest | undefined> {
    const entity = await getEntityIfExists(
      this.table,
      tableKey("storeId", storeId),
      requestRowKey(requestId),
    );
    return entity && toStored(storeId, entity);
  }

  async create(request: RelayRequest, payloadJson: string): Promise<WriteResult> {
    const bytes = Buffer.from(payloadJson, "utf8");
    const inRow = bytes.length <= PAYLOAD_CHUNK_BYTES;
    const requestEntity = toEntity(request, inRow ? bytes : undefined);
    const actions: TransactionAction[] = [["create", requestEntity]];
    if (!inRow)
      actions.push([
        "create",
        {
          partitionKey: requestEntity.partitionKey,
          rowKey: payloadRowKey(request.requestId),
          rowType: PAYLOAD_ROW,
          ...payloadChunks(bytes),
        },
      ]);
    if (needsReconciling(request)) actions.push(["create", watchEntity(request)]);
    try {
      await this.table.submitTransaction(actions);
      return "ok";
    } catch (error) {
      if (isEntityAlreadyExists(error)) return "conflict";
      throw error;
    }
  }

  async replace(next: RelayRequest, current: StoredRequest): Promise<StoredRequest | "conflict"> {
    const watched = needsReconciling(current.value);
    const watch = needsReconciling(next);
    const payload =
      current.payloadJson === undefined ? undefined : Buffer.from(current.payloadJson);
    const entity = toEntity(next, payload);
    try {
      let etag: string | undefined;
      if (watched === watch)
        ({ etag } = await this.table.updateEntity(entity, "Replace", { etag: current.etag }));
      else {
        const answer = await this.table.submitTransaction([
          ["update", entity, "Replace", { etag: current.etag }],
          watch ? ["upsert", watchEntity(next), "Replace"] : ["delete", watchEntity(next)],
        ]);
        // Sub-responses come in the order of the actions: the first is the request row's.
        etag = answer.subResponses[0]?.etag?.trim();
      }
      // Every write answers its ETag; should one not, the version is read instead of guessed.
      if (!etag) return (await this.get(next.storeId, next.requestId)) ?? "conflict";
      return { ...current, value: next, etag };
    } catch (error) {
      // 412 has one cause: the ETag no longer matches (in a transaction too).
      if (statusCodeOf(error) === 412) return "conflict";
      throw error;
    }
  }

  /** Table Storage remembers nothing for the caller: RememberingRequestRepository does. */
  lastWritten(): undefined {
    return undefined;
  }

  async listWatched(storeId: string, page: { limit: number; after?: string }): Promise<string[]> {
    const partitionKey = tableKey("storeId", storeId);
    const filter =
      page.after === undefined
        ? odata`PartitionKey eq ${partitionKey} and RowKey ge ${WATCH_ROW_PREFIX} and RowKey lt ${WATCH_ROW_END}`
        : odata`PartitionKey eq ${partitionKey} and RowKey gt ${watchRowKey(page.after)} and RowKey lt ${WATCH_ROW_END}`;
    const ids: string[] = [];
    const pages = this.table
      .listEntities<Record<string, unknown>>({ queryOptions: { filter, select: ["RowKey"] } })
      .byPage({ maxPageSize: page.limit });
    for await (const rows of pages) {
      for (const row of rows) {
        if (ids.length === page.limit) break;
        ids.push((row.rowKey as string).slice(WATCH_ROW_PREFIX.length));
      }
      if (ids.length === page.limit) break;
    }
    return ids;
  }

  async unwatch(storeId: string, requestId: string): Promise<void> {
    try {
      await this.table.deleteEntity(tableKey("storeId", storeId), watchRowKey(requestId));
    } catch (error) {
      if (statusCodeOf(error) !== 404) throw error;
    }
  }

  async getPayload(storeId: string, requestId: string): Promise<string | undefined> {
    const entity = await getEntityIfExists(
      this.table,
      tableKey("storeId", storeId),
      payloadRowKey(requestId),
    );
    if (!entity) return (await this.get(storeId, requestId))?.payloadJson;
    const { payloadChunks: count } = payloadColumns.parse(entity);
    const chunks = Array.from({ length: count }, (_, index) => {
      const chunk = entity[`payload${index}`];
      if (!(chunk instanceof Uint8Array)) {
        throw new Error(`the stored payload of request ${requestId} misses chunk ${index}`);
      }
      return chunk;
    });
    return Buffer.concat(chunks).toString("utf8");
  }

  async list(storeId: string, state?: RequestState): Promise<RelayRequest[]> {
    const partitionKey = tableKey("storeId", storeId);
    const filter =
      state === undefined
        ? odata`PartitionKey eq ${partitionKey} and rowType eq ${REQUEST_ROW}`
        : odata`PartitionKey eq ${partitionKey} and rowType eq ${REQUEST_ROW} and state eq ${state}`;
    const requests: RelayRequest[] = [];
    // The iterator follows continuation tokens, so every page is read.
    for await (const entity of this.table.listEntities<Record<string, unknown>>({
      queryOptions: { filter },
    })) {
      requests.push(toRequest(storeId, entity));
    }
    return requests;
  }
}

/** A requestId starting with "~" could collide with a payload row, so it is refused too. */
function requestRowKey(requestId: string): string {
  if (requestId.startsWith("~")) throw new InvalidRequestIdError();
  return tableKey("requestId", requestId);
}

function payloadRowKey(requestId: string): string {
  return PAYLOAD_ROW_PREFIX + requestRowKey(requestId);
}

function watchRowKey(requestId: string): string {
  return WATCH_ROW_PREFIX + requestRowKey(requestId);
}

function watchEntity(request: RelayRequest) {
  return {
    partitionKey: tableKey("storeId", request.storeId),
    rowKey: watchRowKey(request.requestId),
    rowType: WATCH_ROW,
  };
}

export class InvalidRequestIdError extends Error {
  constructor() {
    super("requestId cannot start with '~': that prefix is reserved for payload rows");
    this.name = "InvalidRequestIdError";
  }
}

/** Each column named, so nothing that is not part of the record (or a secret) is ever stored. */
function toEntity(request: RelayRequest, payload: Buffer | undefined) {
  return {
    partitionKey: tableKey("storeId", request.storeId),
    rowKey: requestRowKey(request.requestId),
    rowType: REQUEST_ROW,
    workflowId: request.workflowId,
    state: request.state,
    decision: request.decision && JSON.stringify(request.decision),
    dmOutcome: request.dmOutcome,
    flowRunId: request.flowRunId,
    flowRun:
      request.flowRun &&
      JSON.stringify({
        ...request.flowRun,
        cancelError: request.flowRun.cancelError && truncate(request.flowRun.cancelError),
      }),
    nextAttemptAt: request.nextAttemptAt,
    attempts: JSON.stringify(request.attempts),
    redrives: request.redrives,
    applyOutcomeUnknown: request.applyOutcomeUnknown,
    lastError: request.lastError && truncate(request.lastError),
    history: historyThatFits(request.history),
    createdAt: request.createdAt,
    updatedAt: request.updatedAt,
    ...(payload && { payload }),
  };
}

function toRequest(storeId: string, entity: StoredEntity): RelayRequest {
  const { rowKey: requestId, ...columns } = requestColumns.parse(entity);
  return { storeId, requestId, ...columns };
}

function toStored(storeId: string, entity: StoredEntity): StoredRequest {
  const payload = entity.payload;
  return {
    value: toRequest(storeId, entity),
    etag: entity.etag,
    ...(payload instanceof Uint8Array && { payloadJson: Buffer.from(payload).toString("utf8") }),
  };
}

/**
 * The history as JSON within one String property: details are cut and, if still too long, the
 * oldest entries dropped (the domain already keeps at most the newest 100).
 */
function historyThatFits(history: HistoryEntry[]): string {
  let kept = history.map((entry) => ({ ...entry, detail: truncate(entry.detail) }));
  let json = JSON.stringify(kept);
  while (json.length > MAX_STRING_CHARS) {
    kept = kept.slice(1);
    json = JSON.stringify(kept);
  }
  return json;
}

function truncate(text: string): string {
  return text.length <= MAX_TEXT_CHARS ? text : `${text.slice(0, MAX_TEXT_CHARS - 1)}…`;
}

/** Buffers, not bare Uint8Array views: the SDK would encode a view's whole underlying ArrayBuffer. */
function payloadChunks(bytes: Buffer): Record<string, number | Buffer> {
  const count = Math.ceil(bytes.length / PAYLOAD_CHUNK_BYTES);
  if (count > MAX_PAYLOAD_CHUNKS) {
    throw new RangeError(
      `a trigger payload of ${bytes.length} bytes exceeds the ${MAX_PAYLOAD_CHUNKS * PAYLOAD_CHUNK_BYTES} bytes one row can hold`,
    );
  }
  const columns: Record<string, number | Buffer> = { payloadChunks: count };
  for (let index = 0; index < count; index++) {
    const start = index * PAYLOAD_CHUNK_BYTES;
    columns[`payload${index}`] = bytes.subarray(start, start + PAYLOAD_CHUNK_BYTES);
  }
  return columns;
}
