import type { RelayDeps } from "./deps";

const PROBE_TIMEOUT_MS = 5_000;

export interface HealthReport {
  status: "healthy" | "unhealthy";
  checks: Record<string, "ok" | "failing">;
}

/** Whether Table Storage and Service Bus answer; names only, never settings or errors' text. */
export async function checkHealth(deps: Pick<RelayDeps, "probes">): Promise<HealthReport> {
  const results = await Promise.all(
    deps.probes.map(
      async (probe) => [probe.name, (await answers(probe.check)) ? "ok" : "failing"] as const,
    ),
  );
  const checks = Object.fromEntries(results);
  return {
    status: results.every(([, result]) => result === "ok") ? "healthy" : "unhealthy",
    checks,
  };
}

async function answers(check: () => Promise<void>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), PROBE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([
      check().then(
        () => true,
        () => false,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
