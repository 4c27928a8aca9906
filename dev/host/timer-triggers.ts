import { CronExpressionParser } from "cron-parser";
import type { RegisteredFunction } from "./core-module";
import { invokeFunction } from "./invoke";
import type { LoadedApp } from "./load-app";
import { logHost } from "./log";
import { StartupError, oneLineMessage } from "./startup-error";
import { waitAtMost } from "./wait";

/** Azure evaluates schedules in UTC unless WEBSITE_TIME_ZONE says otherwise; the host ignores it. */
const TIME_ZONE = "UTC";
/** setTimeout's longest delay; a later occurrence is waited for in steps. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
/** What `DateTime.MinValue` serializes to: the schedule status's `Last` before any run. */
const NEVER = "0001-01-01T00:00:00.000Z";
const MANUAL_REASON = "This function was programmatically called via the host APIs.";

/** NCRONTAB fields: second, minute, hour and day take numbers; month and weekday also names. */
const NUMERIC_FIELD = /^[\d*,/-]+$/;
const NAMED_FIELD = /^[\d*,/-]*(?:[A-Za-z]{3}[\d*,/-]*)*$/;

export interface TimerTrigger {
  fn: RegisteredFunction;
  schedule: string;
  runOnStartup: boolean;
  /** Whether Azure keeps a schedule status for it, which the handler sees as `scheduleStatus`. */
  useMonitor: boolean;
}

function nextOccurrence(schedule: string, after: Date): Date {
  return CronExpressionParser.parse(schedule, { currentDate: after, tz: TIME_ZONE })
    .next()
    .toDate();
}

/**
 * Checks a schedule as Azure's NCRONTAB parser would: six fields, seconds first, without the
 * extensions (`L`, `#`, `?`, `H`, `@daily`) that cron-parser accepts and Azure refuses.
 */
function checkSchedule(schedule: string): void {
  const fields = schedule.trim().split(/\s+/);
  if (fields.length !== 6) {
    throw new Error(
      `has ${fields.length} fields; NCRONTAB needs 6: {second} {minute} {hour} {day} {month} {day-of-week}`,
    );
  }
  fields.forEach((field, index) => {
    if (!(index < 4 ? NUMERIC_FIELD : NAMED_FIELD).test(field)) {
      throw new Error(`has a field NCRONTAB does not accept: "${field}"`);
    }
  });
  CronExpressionParser.parse(schedule, { tz: TIME_ZONE });
}

/**
 * The app's timer triggers. A schedule the local host cannot run is a startup error, so nothing
 * silently never fires.
 */
export function timerTriggers(app: LoadedApp): TimerTrigger[] {
  const triggers: TimerTrigger[] = [];
  for (const fn of app.functions) {
    const binding = Object.values(fn.metadata.bindings).find(
      (b) => b.type?.toLowerCase() === "timertrigger",
    );
    if (!binding) continue;
    const schedule = typeof binding.schedule === "string" ? binding.schedule.trim() : "";
    try {
      checkSchedule(schedule);
    } catch (error) {
      throw new StartupError(
        `Function "${fn.metadata.name}": schedule "${schedule}" is not a valid NCRONTAB expression: ${oneLineMessage(error)}`,
      );
    }
    // Azure's default: a schedule status is kept when occurrences are at least a minute apart.
    const first = nextOccurrence(schedule, new Date());
    const second = nextOccurrence(schedule, first);
    triggers.push({
      fn,
      schedule,
      runOnStartup: binding.runOnStartup === true,
      useMonitor:
        typeof binding.useMonitor === "boolean"
          ? binding.useMonitor
          : second.getTime() - first.getTime() >= 60_000,
    });
  }
  return triggers;
}

interface ScheduleStatus {
  last: string;
  next: string;
  lastUpdated: string;
}

/**
 * One timer function on its schedule, with Azure's singleton behaviour: one run at a time, so an
 * occurrence that comes while a run is still going is skipped, and a manual run waits its turn.
 */
class TimerSchedule {
  private running: Promise<void> | undefined;
  private timeout: NodeJS.Timeout | undefined;
  private stopped = false;
  /** In memory only: the host keeps no schedule monitor, so nothing is ever past due. */
  private status: ScheduleStatus | null;

  constructor(
    private readonly app: LoadedApp,
    readonly trigger: TimerTrigger,
  ) {
    const now = new Date();
    this.status = trigger.useMonitor
      ? {
          last: NEVER,
          next: nextOccurrence(trigger.schedule, now).toISOString(),
          lastUpdated: now.toISOString(),
        }
      : null;
  }

  start(): void {
    if (this.trigger.runOnStartup) {
      const now = new Date();
      void this.run(`Timer fired at ${now.toISOString()}`, now);
    }
    this.arm(nextOccurrence(this.trigger.schedule, new Date()));
  }

  /**
   * Runs the function once now, after any run in progress (unless the host is stopping by then);
   * resolves when it has finished.
   */
  async runNow(): Promise<void> {
    while (this.running) await this.running;
    if (!this.stopped) await this.run(MANUAL_REASON, undefined);
  }

  /** No more occurrences; resolves when the run in progress (if any) ends, or after timeoutMs. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timeout);
    if (this.running) await waitAtMost(this.running, timeoutMs);
  }

  private arm(occurrence: Date): void {
    if (this.stopped) return;
    const delay = Math.min(Math.max(occurrence.getTime() - Date.now(), 0), MAX_TIMEOUT_MS);
    this.timeout = setTimeout(() => this.onTimeout(occurrence), delay);
  }

  private onTimeout(occurrence: Date): void {
    if (this.stopped) return;
    if (Date.now() < occurrence.getTime()) return this.arm(occurrence); // a step of a long wait
    const name = this.trigger.fn.metadata.name;
    if (this.running) {
      logHost(
        "warning",
        `Function "${name}": occurrence ${occurrence.toISOString()} skipped, its previous run is still going.`,
      );
    } else {
      void this.run(`Timer fired at ${occurrence.toISOString()}`, occurrence);
    }
    this.arm(nextOccurrence(this.trigger.schedule, new Date()));
  }

  /**
   * One invocation with Azure's timer object. A scheduled run (with its occurrence) then records
   * itself in the status, as the schedule monitor does; a manual run leaves the status alone.
   */
  private run(reason: string, occurrence: Date | undefined): Promise<void> {
    const timer = {
      Schedule: { AdjustForDST: true },
      ScheduleStatus: this.status && {
        Last: this.status.last,
        Next: this.status.next,
        LastUpdated: this.status.lastUpdated,
      },
      IsPastDue: false,
    };
    const run = invokeFunction(this.app, this.trigger.fn, {
      reason,
      triggerData: { json: JSON.stringify(timer) },
    })
      .then(
        () => undefined,
        () => undefined, // logged with its stack by invokeFunction; the schedule goes on
      )
      .finally(() => {
        if (occurrence && this.status) {
          this.status = {
            last: occurrence.toISOString(),
            next: nextOccurrence(this.trigger.schedule, occurrence).toISOString(),
            lastUpdated: new Date().toISOString(),
          };
        }
        this.running = undefined;
      });
    this.running = run;
    return run;
  }
}

export interface RunningTimers {
  /**
   * Runs the named timer function (case-insensitive, as Azure's names are) once, now, after a
   * run in progress; undefined when there is no timer function of that name.
   */
  runNow(functionName: string): Promise<void> | undefined;
  /** Stops every schedule and waits (bounded) for the runs in progress. */
  close(timeoutMs: number): Promise<void>;
}

export function startTimers(app: LoadedApp, triggers: TimerTrigger[]): RunningTimers {
  const schedules = new Map(
    triggers.map((trigger) => [
      trigger.fn.metadata.name.toLowerCase(),
      new TimerSchedule(app, trigger),
    ]),
  );
  for (const schedule of schedules.values()) schedule.start();
  return {
    runNow: (functionName) => schedules.get(functionName.toLowerCase())?.runNow(),
    async close(timeoutMs) {
      await Promise.all([...schedules.values()].map((s) => s.stop(timeoutMs)));
    },
  };
}
