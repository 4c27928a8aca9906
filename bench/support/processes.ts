/** The processes the bench runs besides itself: emulator, proxies, baseline server, relay host. */
import { fork, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { ProxyCounts, ProxyMessage } from "./proxy-process";

export const ROOT = path.resolve(__dirname, "..", "..");
const TSX = ["--import", "tsx"];
/** USER_HZ, which Linux fixes at 100 for /proc. */
const CLOCK_TICKS_PER_SECOND = 100;

export interface Child {
  process: ChildProcess;
  /** Resident set size in MiB, from /proc (Linux). */
  rssMiB(): number;
  /** CPU time used so far (user and system), in ms, from /proc (Linux). */
  cpuMs(): number;
  stop(): Promise<void>;
}

/** Memory of a host started with `memoryProbe`, after full collections (memory-probe.ts). */
export interface CollectedMemory {
  rssMiB: number;
  heapUsedMiB: number;
}

export interface ProbedChild extends Child {
  collectedMemory(): Promise<CollectedMemory>;
}

const MIB = 1024 * 1024;

/** CPU time process `pid` used so far (user and system), in ms, from /proc (Linux). */
export function cpuMsOf(pid: number | undefined): number {
  // Fields 14 and 15 of /proc/<pid>/stat, after the command name in parentheses.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

function child(process_: ChildProcess): Child {
  return {
    process: process_,
    rssMiB() {
      const status = fs.readFileSync(`/proc/${process_.pid}/status`, "utf8");
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024;
    },
    cpuMs: () => cpuMsOf(process_.pid),
    stop: () =>
      new Promise<void>((resolve) => {
        if (process_.exitCode !== null || process_.signalCode !== null) return resolve();
        const force = setTimeout(() => process_.kill("SIGKILL"), 15_000);
        process_.once("exit", () => {
          clearTimeout(force);
          resolve();
        });
        process_.kill("SIGTERM");
      }),
  };
}

/** Starts a TypeScript entry with tsx; resolves once its output (to `logFile`) matches `ready`. */
export async function startScript(options: {
  script: string;
  args?: string[];
  env: Record<string, string>;
  logFile: string;
  ready: RegExp;
  timeoutMs?: number;
  /** Loads memory-probe.ts, so `collectedMemory()` can measure the process after full GCs. */
  memoryProbe?: boolean;
}): Promise<ProbedChild & { match: RegExpExecArray }> {
  const log = fs.openSync(options.logFile, "w");
  const memoryFile = `${options.logFile}.memory.json`;
  const probeArgs = options.memoryProbe
    ? ["--expose-gc", "--import", path.join(__dirname, "memory-probe.ts")]
    : [];
  // BENCH_NODE_ARGS, e.g. --cpu-prof, show where the relay's host and the baselines spend time.
  const nodeArgs =
    /dev\/host|baseline/.test(options.script) && process.env.BENCH_NODE_ARGS
      ? process.env.BENCH_NODE_ARGS.split(" ")
      : [];
  const started = spawn(
    process.execPath,
    [...nodeArgs, ...TSX, ...probeArgs, options.script, ...(options.args ?? [])],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        ...(options.memoryProbe && { BENCH_MEMORY_FILE: memoryFile }),
        ...options.env,
      },
      stdio: ["ignore", log, log],
    },
  );
  fs.closeSync(log);
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const text = fs.readFileSync(options.logFile, "utf8");
    const match = options.ready.exec(text);
    if (match)
      return {
        ...child(started),
        match,
        collectedMemory: () => collectedMemory(started, memoryFile),
      };
    if (started.exitCode !== null || Date.now() > deadline)
      throw new Error(`${path.basename(options.script)} did not start:\n${text.slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Asks the probe of `process_` for its memory after full collections; bounded to 10 s. */
async function collectedMemory(
  process_: ChildProcess,
  memoryFile: string,
): Promise<CollectedMemory> {
  fs.rmSync(memoryFile, { force: true });
  process_.kill("SIGUSR2");
  const deadline = Date.now() + 10_000;
  while (!fs.existsSync(memoryFile)) {
    if (Date.now() > deadline) throw new Error("the host's memory probe did not answer");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  // The probe writes the file in one call; a read that catches it half-written is tried again.
  for (;;) {
    try {
      const usage = JSON.parse(fs.readFileSync(memoryFile, "utf8")) as NodeJS.MemoryUsage;
      return { rssMiB: usage.rss / MIB, heapUsedMiB: usage.heapUsed / MIB };
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

export interface Proxies extends Child {
  tablePort: number;
  serviceBusPort: number;
  counts(): Promise<ProxyCounts>;
}

export async function startProxies(azuritePort: number, emulatorPort: number): Promise<Proxies> {
  const proxy = fork(
    path.join(__dirname, "proxy-process.ts"),
    [String(azuritePort), String(emulatorPort)],
    {
      execArgv: TSX,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    },
  );
  const ready = await new Promise<Extract<ProxyMessage, { kind: "ready" }>>((resolve, reject) => {
    proxy.once("message", (message: ProxyMessage) => {
      if (message.kind === "ready") resolve(message);
    });
    proxy.once("exit", () => reject(new Error("the counting proxies exited")));
  });
  return {
    ...child(proxy),
    tablePort: ready.tablePort,
    serviceBusPort: ready.serviceBusPort,
    counts: () =>
      new Promise((resolve) => {
        const onMessage = (message: ProxyMessage) => {
          if (message.kind !== "counts") return;
          proxy.off("message", onMessage);
          resolve(message.counts);
        };
        proxy.on("message", onMessage);
        proxy.send("counts");
      }),
  };
}
