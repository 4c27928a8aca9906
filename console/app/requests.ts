/** What the pages work out from request statuses: open or final, failures, redrive, activity. */
import type { HistoryEntry, RelayApi, RequestState, RequestStatus } from "./api";

export const FINAL_STATES: ReadonlySet<RequestState> = new Set([
  "applied",
  "superseded",
  "expired",
]);
export const FAILED_STATES: ReadonlySet<RequestState> = new Set(["flow-failed", "apply-failed"]);
/** Open states in the order a request goes through them, failures last. */
export const OPEN_STATES: RequestState[] = [
  "queued",
  "flow-triggered",
  "decided",
  "flow-failed",
  "apply-failed",
];

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/**
 * Whether the relay takes a redrive: a failed request, or one waiting in `queued` or `decided`
 * with no retry pending and unchanged for the relay's stuck threshold (CONTRACT section 6).
 */
export function canRedrive(request: RequestStatus, stuckAfterMinutes: number, now: Date): boolean {
  if (FAILED_STATES.has(request.state)) return true;
  return isStuck(request, stuckAfterMinutes, now);
}

export function isStuck(request: RequestStatus, stuckAfterMinutes: number, now: Date): boolean {
  if (request.state !== "queued" && request.state !== "decided") return false;
  if (request.nextAttemptAt && Date.parse(request.nextAttemptAt) > now.getTime()) return false;
  return now.getTime() - Date.parse(request.updatedAt) >= stuckAfterMinutes * 60_000;
}

export interface Failure {
  request: RequestStatus;
  entry: HistoryEntry;
}

/** Every time a request entered a failed state since `since`, newest first. */
export function failuresSince(requests: RequestStatus[], since: Date): Failure[] {
  return requests
    .flatMap((request) =>
      request.history
        .filter(
          (entry) => FAILED_STATES.has(entry.state) && Date.parse(entry.at) >= since.getTime(),
        )
        .map((entry) => ({ request, entry })),
    )
    .sort((a, b) => Date.parse(b.entry.at) - Date.parse(a.entry.at));
}

export interface HourOfActivity {
  start: Date;
  received: number;
  failed: number;
  applied: number;
}

/** The last 24 hours by hour, oldest first: requests received, failures, decisions applied. */
export function hourlyActivity(requests: RequestStatus[], now: Date): HourOfActivity[] {
  const end = Math.floor(now.getTime() / HOUR_MS) * HOUR_MS + HOUR_MS;
  const hours = Array.from({ length: 24 }, (_, index) => ({
    start: new Date(end - (24 - index) * HOUR_MS),
    received: 0,
    failed: 0,
    applied: 0,
  }));
  const hourOf = (at: string): HourOfActivity | undefined => {
    const index = Math.floor((Date.parse(at) - (end - DAY_MS)) / HOUR_MS);
    return hours[index];
  };
  for (const request of requests) {
    const received = hourOf(request.createdAt);
    if (received) received.received++;
    for (const entry of request.history) {
      const hour = hourOf(entry.at);
      if (!hour) continue;
      if (FAILED_STATES.has(entry.state)) hour.failed++;
      else if (entry.state === "applied") hour.applied++;
    }
  }
  return hours;
}

/** Newest change first. */
export function byLastChange(a: RequestStatus, b: RequestStatus): number {
  return Date.parse(b.updatedAt) - Date.parse(a.updatedAt);
}

/** The requests of every given store (optionally in one state), as one list. */
export async function requestsOfStores(
  api: RelayApi,
  storeIds: string[],
  state?: RequestState,
): Promise<RequestStatus[]> {
  const lists = await Promise.all(storeIds.map((storeId) => api.requests(storeId, state)));
  return lists.flatMap((list) => list.requests);
}
