import type { RpcLogLevel } from "./core-api";

const LEVEL_LABELS: Record<RpcLogLevel, string> = {
  trace: "trace",
  debug: "debug",
  information: "info",
  warning: "warn",
  error: "error",
  critical: "critical",
  none: "none",
};

/** Lines logged since the last write: written together, once per turn of the event loop. */
let pending: string[] = [];

function flush(): void {
  if (pending.length === 0) return;
  const text = pending.join("");
  pending = [];
  process.stdout.write(text);
}
// Whatever is still pending is written on the way out (stdout to a file or a TTY is synchronous).
process.on("exit", flush);

/**
 * Everything the host and the functions log goes to stdout, one line per entry, as `func start`
 * does; stderr is kept for the single fatal line printed when the host cannot start. The lines of
 * one turn of the event loop go in one write: a write per line cost a tenth of the host's time.
 */
function writeLine(source: string, level: RpcLogLevel, message: string): void {
  if (pending.length === 0) setImmediate(flush);
  pending.push(`[${new Date().toISOString()}] [${source}] ${LEVEL_LABELS[level]}: ${message}\n`);
}

export function logFunction(functionName: string, level: RpcLogLevel, message: string): void {
  writeLine(functionName, level, message);
}

export function logHost(level: RpcLogLevel, message: string): void {
  writeLine("host", level, message);
}

/** An error with its stack, for the host's own log (never for HTTP responses). */
export function describeError(error: unknown): string {
  return error instanceof Error
    ? (error.stack ?? `${error.name}: ${error.message}`)
    : String(error);
}
