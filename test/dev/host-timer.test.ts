import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  FIXTURES,
  makeAppRoot,
  runHostToExit,
  startHostProcess,
  type RunningHostProcess,
} from "../fixtures/host-app-harness/host-process";
import { readRecords, waitFor } from "../fixtures/host-app-harness/records";

const entry = path.join(FIXTURES, "host-app-timer", "index.ts");
const LOCAL_KEY = "timer-test-key";

interface TimerRecord {
  functionName: string;
  timer: {
    isPastDue: boolean;
    schedule: { adjustForDST: boolean };
    scheduleStatus: { last: string; next: string; lastUpdated: string } | null;
  };
  startedAt?: number;
  endedAt?: number;
}

describe("local Functions host: timer triggers", () => {
  let workDir: string;
  let appRoot: string;
  const hosts: RunningHostProcess[] = [];

  beforeAll(() => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), "host-timer-"));
    appRoot = makeAppRoot({});
  });

  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.stop("SIGKILL")));
    fs.rmSync(workDir, { recursive: true, force: true });
    fs.rmSync(appRoot, { recursive: true, force: true });
  });

  async function startHost(
    name: string,
    env: Record<string, string> = {},
  ): Promise<{ host: RunningHostProcess; records: () => TimerRecord[] }> {
    const recordFile = path.join(workDir, `${name}.jsonl`);
    const host = await startHostProcess({
      appRoot,
      entry,
      env: { FIXTURE_RECORD_FILE: recordFile, RELAY_LOCAL_KEY: LOCAL_KEY, ...env },
    });
    hosts.push(host);
    return { host, records: () => readRecords<TimerRecord>(recordFile) };
  }

  const runsOf = (records: TimerRecord[], functionName: string): TimerRecord[] =>
    records.filter((r) => r.functionName === functionName);

  it("prints the timer bindings as the library generates them", async () => {
    const result = await runHostToExit({
      appRoot,
      entry,
      args: ["--print-metadata"],
      env: { FIXTURE_RECORD_FILE: path.join(workDir, "unused.jsonl") },
    });
    expect(result.code).toBe(0);
    const metadata: { name: string; bindings: Record<string, object> }[] = JSON.parse(
      result.stdout.slice(result.stdout.indexOf("[")),
    );
    const bindingsOf = (name: string): object[] =>
      Object.values(metadata.find((m) => m.name === name)?.bindings ?? {});
    expect(bindingsOf("tick")).toEqual([
      expect.objectContaining({
        name: expect.stringMatching(/^timerTrigger/),
        type: "timerTrigger",
        direction: "in",
        schedule: "*/1 * * * * *",
        useMonitor: true,
      }),
    ]);
    expect(bindingsOf("startup")).toEqual([
      expect.objectContaining({
        type: "timerTrigger",
        direction: "in",
        schedule: "0 0 0 1 1 *",
        runOnStartup: true,
        useMonitor: false,
      }),
    ]);
  });

  it("runs on the schedule with Azure's timer object, the status carried from run to run", async () => {
    const { host, records } = await startHost("schedule");
    const [first, second] = await waitFor("two scheduled runs of tick", () => {
      const runs = runsOf(records(), "tick");
      return runs.length >= 2 ? runs : undefined;
    });
    expect(first?.timer).toEqual({
      isPastDue: false,
      schedule: { adjustForDST: true },
      scheduleStatus: {
        last: "0001-01-01T00:00:00.000Z",
        next: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/),
        lastUpdated: expect.any(String),
      },
    });
    // What one run was told comes next is what the next run is told came last.
    expect(second?.timer.scheduleStatus?.last).toBe(first?.timer.scheduleStatus?.next);
    expect(Date.parse(second?.timer.scheduleStatus?.next ?? "")).toBe(
      Date.parse(second?.timer.scheduleStatus?.last ?? "") + 1000,
    );
    // Under a minute apart, Azure keeps no schedule status (useMonitor defaults to false).
    const [failing] = await waitFor("a run of failing", () => {
      const runs = runsOf(records(), "failing");
      return runs.length > 0 ? runs : undefined;
    });
    expect(failing?.timer.scheduleStatus).toBeNull();
    await host.waitForStdout(/\[tick\] info: Executing \(Reason='Timer fired at \d{4}-/);
    expect(await host.stop("SIGTERM")).toBe(0);
  });

  it("runs a runOnStartup function once at start", async () => {
    const { host, records } = await startHost("startup");
    const [run] = await waitFor("the startup run", () => {
      const runs = runsOf(records(), "startup");
      return runs.length > 0 ? runs : undefined;
    });
    expect(run?.timer).toEqual({
      isPastDue: false,
      schedule: { adjustForDST: true },
      scheduleStatus: null,
    });
    expect(await host.stop("SIGTERM")).toBe(0);
    expect(runsOf(records(), "startup")).toHaveLength(1);
  });

  it("logs a throw and keeps the schedule going", async () => {
    const { host, records } = await startHost("failing");
    await waitFor("three runs of the failing timer", () =>
      runsOf(records(), "failing").length >= 3 ? true : undefined,
    );
    await host.waitForStdout(/\[failing\] error: Executed \(Failed.*this timer always fails/);
    expect(await host.stop("SIGTERM")).toBe(0);
  });

  it("never overlaps two runs of one function: occurrences during a run are skipped", async () => {
    // Runs of 2.5 s on a schedule of every second.
    const { host, records } = await startHost("overlap", { FIXTURE_TICK_DELAY_MS: "2500" });
    const runs = await waitFor(
      "three slow runs of tick",
      () => {
        const ticks = runsOf(records(), "tick");
        return ticks.length >= 3 ? ticks : undefined;
      },
      20_000,
    );
    for (let i = 1; i < runs.length; i++) {
      expect(runs[i]?.startedAt ?? 0).toBeGreaterThanOrEqual(runs[i - 1]?.endedAt ?? Infinity);
    }
    await host.waitForStdout(/\[host\] warn: Function "tick": occurrence .* skipped/);
    expect(await host.stop("SIGTERM")).toBe(0);
  });

  it("stops its timers on SIGTERM, letting the run in progress finish", async () => {
    const { host, records } = await startHost("shutdown", { FIXTURE_TICK_DELAY_MS: "1500" });
    await host.waitForStdout(/\[tick\] info: Executing/);
    expect(runsOf(records(), "tick")).toHaveLength(0);
    expect(await host.stop("SIGTERM")).toBe(0);
    expect(runsOf(records(), "tick")).toHaveLength(1);
    expect(host.output().stdout).toMatch(/\[tick\] info: Executed \(Succeeded/);
  });

  describe("POST /admin/functions/<name>", () => {
    let host: RunningHostProcess;
    let records: () => TimerRecord[];

    beforeAll(async () => {
      // A yearly tick, so only the admin API runs anything but the 1-second functions.
      ({ host, records } = await startHost("admin", { FIXTURE_TICK_SCHEDULE: "0 0 0 1 1 *" }));
    });

    const run = (
      name: string,
      init: { body?: string; key?: string | null; method?: string; query?: string } = {},
    ): Promise<Response> =>
      fetch(`${host.baseUrl}/admin/functions/${name}${init.query ?? ""}`, {
        method: init.method ?? "POST",
        headers: init.key === null ? {} : { "x-functions-key": init.key ?? LOCAL_KEY },
        ...(init.body !== undefined && { body: init.body }),
      });

    it("runs a timer function now and answers 202 once the run has finished", async () => {
      const response = await run("manual", { body: JSON.stringify({ input: "" }) });
      expect(response.status).toBe(202);
      expect(await response.text()).toBe("");
      // The run takes 500 ms; the answer came after it, so its record is already there.
      const manualRuns = runsOf(records(), "manual");
      expect(manualRuns).toHaveLength(1);
      expect(manualRuns[0]?.timer).toMatchObject({
        isPastDue: false,
        schedule: { adjustForDST: true },
        scheduleStatus: { last: "0001-01-01T00:00:00.000Z" },
      });
      await host.waitForStdout(
        /\[manual\] info: Executing \(Reason='This function was programmatically called via the host APIs\./,
      );
    });

    it("accepts an empty body, ?code= for the key and any case of the name", async () => {
      const before = runsOf(records(), "manual").length;
      expect((await run("MANUAL", { key: null, query: `?code=${LOCAL_KEY}` })).status).toBe(202);
      expect(runsOf(records(), "manual")).toHaveLength(before + 1);
    });

    it("runs one at a time: concurrent calls are served one after the other", async () => {
      const before = runsOf(records(), "manual").length;
      const answers = await Promise.all([run("manual"), run("manual"), run("manual")]);
      expect(answers.map((a) => a.status)).toEqual([202, 202, 202]);
      const runs = runsOf(records(), "manual").slice(before);
      expect(runs).toHaveLength(3);
      const ordered = [...runs].sort((a, b) => (a.startedAt ?? 0) - (b.startedAt ?? 0));
      for (let i = 1; i < ordered.length; i++) {
        expect(ordered[i]?.startedAt ?? 0).toBeGreaterThanOrEqual(ordered[i - 1]?.endedAt ?? 0);
      }
    });

    it("refuses a missing or wrong key with 401", async () => {
      expect((await run("manual", { key: null })).status).toBe(401);
      expect((await run("manual", { key: "wrong" })).status).toBe(401);
      expect((await run("manual", { key: null, query: "?code=wrong" })).status).toBe(401);
    });

    it("answers 404 for an unknown function and for an HTTP function", async () => {
      for (const name of ["nope", "hello"]) {
        const response = await run(name);
        expect(response.status).toBe(404);
        expect(response.headers.get("content-type")).toBe("application/problem+json");
      }
    });

    it("answers 405 to other methods", async () => {
      const response = await run("manual", { method: "GET" });
      expect(response.status).toBe(405);
      expect(response.headers.get("allow")).toBe("POST");
    });

    it.each(["{not json", "[]", '"text"', '{"input": 5}', '{"input": {"a": 1}}'])(
      "answers 400 problem+json to the body %s",
      async (body) => {
        const before = runsOf(records(), "manual").length;
        const response = await run("manual", { body });
        expect(response.status).toBe(400);
        expect(response.headers.get("content-type")).toBe("application/problem+json");
        expect(await response.json()).toMatchObject({
          type: "about:blank",
          title: "Bad Request",
          status: 400,
          detail: expect.stringContaining('"input"'),
        });
        expect(runsOf(records(), "manual")).toHaveLength(before);
      },
    );
  });
});

describe("local Functions host: timer startup failures", () => {
  it.each([
    ["*/1 * * * *", /has 5 fields; NCRONTAB needs 6/],
    ["0 0 0 L * *", /has a field NCRONTAB does not accept: "L"/],
    ["99 * * * * *", /Constraint error/],
  ])("exits 1 with one line naming the function for the schedule %s", async (schedule, reason) => {
    const appRoot = makeAppRoot({});
    const result = await runHostToExit({
      appRoot,
      entry,
      env: { FIXTURE_RECORD_FILE: "unused", FIXTURE_TICK_SCHEDULE: schedule },
    });
    fs.rmSync(appRoot, { recursive: true, force: true });
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain(`Function "tick": schedule "${schedule}" is not a valid`);
    expect(result.stderr).toMatch(reason);
  });
});
