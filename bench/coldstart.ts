/**
 * Cold-start benchmark: how long a fresh Node process takes to load the deployable relay
 * (`dist/functions/index.js`) next to a hello-world v4 app bundled the same way, and how big the
 * package is. Both apps are loaded by the same child script with the same stand-in for the
 * worker's `@azure/functions-core`, alternating, in the same run. The relay kit
 * (`dist/functions/relay-kit.js`), which the relay loads on its first invocation rather than at
 * start-up, is timed on its own too, outside the comparison.
 *
 * Run: `npm run bench:coldstart` (builds first when dist/ is missing or older than the sources).
 * BENCH_RUNS sets the number of loads of each app (default 15).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { deflateRawSync } from "node:zlib";
import { buildPackage, bundleEntries } from "../dev/build";
import { DUMMY_RELAY_SETTINGS } from "./dummy-settings";
import type { LoadMeasurement } from "./load-entry";

const ROOT = path.resolve(__dirname, "..");
const RELAY_ENTRY = path.join(ROOT, "dist/functions/index.js");
/** What the relay's entry loads on the first invocation instead of at start-up. */
const RELAY_KIT = path.join(ROOT, "dist/functions/relay-kit.js");
const SOURCE_DIRS = ["functions", "shared"].map((dir) => path.join(ROOT, dir));
const SOURCE_FILES = ["package-lock.json", "host.json", "dev/build.ts"].map((file) =>
  path.join(ROOT, file),
);

const LOAD_RATIO_TARGET = 1.5;
const PACKAGE_BYTES_TARGET = 5 * 1024 * 1024;

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name));
}

async function newestModification(files: string[]): Promise<number> {
  const times = await Promise.all(files.map(async (file) => (await stat(file)).mtimeMs));
  return Math.max(...times);
}

async function buildIfStale(): Promise<void> {
  if (existsSync(RELAY_ENTRY)) {
    const sources = [...(await Promise.all(SOURCE_DIRS.map(filesUnder))).flat(), ...SOURCE_FILES];
    if ((await stat(RELAY_ENTRY)).mtimeMs >= (await newestModification(sources))) return;
  }
  console.log("Building dist/ ...");
  await buildPackage(ROOT);
}

/** Size of a deflate zip of these files (file entries only, no extra fields). */
async function zippedBytes(root: string, files: string[]): Promise<number> {
  const LOCAL_HEADER = 30;
  const CENTRAL_HEADER = 46;
  const END_OF_CENTRAL_DIRECTORY = 22;
  let total = END_OF_CENTRAL_DIRECTORY;
  for (const file of files) {
    const nameBytes = Buffer.byteLength(path.relative(root, file));
    const compressed = deflateRawSync(await readFile(file)).length;
    total += LOCAL_HEADER + CENTRAL_HEADER + 2 * nameBytes + compressed;
  }
  return total;
}

function loadOnce(loader: string, entry: string, settings: Record<string, string>) {
  const child = spawnSync(process.execPath, [loader, entry], {
    // The same small environment for both apps, so neither pays for reading a bigger one.
    env: { PATH: process.env.PATH ?? "", ...settings },
    encoding: "utf8",
  });
  if (child.status !== 0) throw new Error(`Loading ${entry} failed:\n${child.stderr}`);
  return JSON.parse(child.stdout) as LoadMeasurement;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MB`;
const milliseconds = (ms: number) => `${ms.toFixed(1)} ms`;

async function main(): Promise<void> {
  await buildIfStale();
  const runs = Number(process.env.BENCH_RUNS ?? 15);
  const scratch = await mkdtemp(path.join(os.tmpdir(), "relay-coldstart-"));
  try {
    await bundleEntries({
      entries: {
        "hello-world/index": path.join(__dirname, "hello-world/index.ts"),
        "load-entry": path.join(__dirname, "load-entry.ts"),
      },
      outDir: scratch,
    });
    const loader = path.join(scratch, "load-entry.js");
    const apps = [
      { name: "relay", entry: RELAY_ENTRY, settings: DUMMY_RELAY_SETTINGS },
      { name: "hello world", entry: path.join(scratch, "hello-world/index.js"), settings: {} },
    ];
    const measured = apps.map(() => [] as LoadMeasurement[]);
    for (let run = 0; run < runs; run++) {
      // Alternate which app goes first, so neither always runs on a warmer disk cache.
      const order = run % 2 === 0 ? [0, 1] : [1, 0];
      for (const index of order)
        measured[index].push(loadOnce(loader, apps[index].entry, apps[index].settings));
    }
    // Not part of the comparison, but shown: the cost the first invocation pays instead.
    const kitLoads = Array.from({ length: runs }, () =>
      loadOnce(loader, RELAY_KIT, DUMMY_RELAY_SETTINGS),
    );
    const [relay, hello] = measured.map((loads) => ({
      requireMs: median(loads.map((load) => load.requireMs)),
      readyMs: median(loads.map((load) => load.readyMs)),
      functions: loads[0].functions,
    }));

    const packageFiles = await filesUnder(path.join(ROOT, "dist"));
    const sizes = await Promise.all(packageFiles.map(async (file) => (await stat(file)).size));
    const unzipped = sizes.reduce((sum, size) => sum + size, 0);
    const zipped = await zippedBytes(path.join(ROOT, "dist"), packageFiles);

    const requireRatio = relay.requireMs / hello.requireMs;
    const readyRatio = relay.readyMs / hello.readyMs;
    console.log(
      `\nCold start, median of ${runs} fresh Node ${process.version} processes per app\n`,
    );
    console.table({
      "require(entry)": {
        relay: milliseconds(relay.requireMs),
        "hello world": milliseconds(hello.requireMs),
        ratio: `${requireRatio.toFixed(2)}x`,
      },
      "process start to loaded": {
        relay: milliseconds(relay.readyMs),
        "hello world": milliseconds(hello.readyMs),
        ratio: `${readyRatio.toFixed(2)}x`,
      },
      "functions registered": { relay: relay.functions, "hello world": hello.functions },
    });
    console.log(
      `The relay kit, loaded by the first invocation: ${milliseconds(median(kitLoads.map((load) => load.requireMs)))} (require)\n`,
    );
    console.log(`Package dist/: ${megabytes(unzipped)} (${unzipped} bytes)`);
    console.log(`Zipped:        ${megabytes(zipped)} (${zipped} bytes)\n`);
    const verdict = (met: boolean) => (met ? "met" : "MISSED");
    console.log(
      `Target load time within ${LOAD_RATIO_TARGET}x hello world (require): ` +
        verdict(requireRatio <= LOAD_RATIO_TARGET),
    );
    console.log(
      `Target package under ${megabytes(PACKAGE_BYTES_TARGET)}: ` +
        verdict(unzipped < PACKAGE_BYTES_TARGET),
    );
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
