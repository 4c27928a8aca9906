/**
 * Loaded into the bench's relay hosts (`--expose-gc --import`): on SIGUSR2 it runs full
 * collections until the heap stops shrinking and writes `process.memoryUsage()` as JSON to
 * BENCH_MEMORY_FILE. Node 20 keeps every AbortController (one per undici Request and Response,
 * so per HTTP invocation of @azure/functions) until a full collection and the finalizers after
 * it, so RSS at an arbitrary moment tells when V8 last collected, not what the host keeps.
 */
import fs from "node:fs";

const file = process.env.BENCH_MEMORY_FILE;
const collectGarbage = (globalThis as { gc?: () => void }).gc;
const turn = () => new Promise((resolve) => setTimeout(resolve, 20));

async function collect(gc: () => void, to: string): Promise<void> {
  let used = Number.POSITIVE_INFINITY;
  // Finalizers run between collections and free what the next one finds; a few rounds suffice.
  for (let round = 0; round < 6; round++) {
    gc();
    await turn();
    const now = process.memoryUsage().heapUsed;
    if (now > used * 0.98) break;
    used = now;
  }
  fs.writeFileSync(to, JSON.stringify(process.memoryUsage()));
}

if (file && collectGarbage) process.on("SIGUSR2", () => void collect(collectGarbage, file));
