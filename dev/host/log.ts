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

/**
 * Everything the host and the functions log goes to stdout, one line per entry, as `func start`
 * does; stderr is kept for the single fatal line printed when the host cannot start.
 */
function writeLine(source: string, level: RpcLogLevel, message: string): void {
  process.stdout.write(
    `[${new Date().toISOString()}] [${source}] ${LEVEL_LABELS[level]}: ${message}\n`,
  );
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
