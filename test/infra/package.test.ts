/**
 * The deployable package (dev/build.ts): self-contained, small, the functions really register when
 * the Functions worker loads it, and loading it starts only what a hello-world app starts (plus the
 * relay's settings check): the rest is in the relay kit, loaded on the first invocation.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import os from "node:os";
import path from "node:path";
import { DUMMY_RELAY_SETTINGS } from "../../bench/dummy-settings";
import type { LoadMeasurement } from "../../bench/load-entry";
import type { Metafile } from "esbuild";
import { buildPackage, bundleEntries, EXTERNAL_MODULES } from "../../dev/build";
import { ROOT } from "./template-checks";

const PACKAGE_BYTES_LIMIT = 5 * 1024 * 1024;

/** The modules a bundle still requires at run time. */
function requiredModules(bundle: string): string[] {
  return [...new Set([...bundle.matchAll(/\brequire\("([^"]+)"\)/g)].map((match) => match[1]))];
}

const isBuiltin = (name: string) => builtinModules.includes(name.replace(/^node:/, ""));

/** The source files an output bundle was made of, relative to the repository. */
function bundledSources(metafile: Metafile, output: string): string[] {
  const [, bundle] = Object.entries(metafile.outputs).find(([file]) => file.endsWith(output)) ?? [];
  if (!bundle) throw new Error(`no ${output} in the build`);
  return Object.keys(bundle.inputs).map((input) => path.relative(ROOT, path.resolve(input)));
}

/** The npm packages among those sources. */
const packagesOf = (sources: string[]) =>
  [
    ...new Set(
      sources.flatMap((source) => source.match(/node_modules\/((@[^/]+\/)?[^/]+)/)?.[1] ?? []),
    ),
  ].sort();

describe("the deployable package", () => {
  let scratch: string;
  let outDir: string;
  let metafile: Metafile;
  let helloWorld: Metafile;

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), "relay-package-"));
    ({ outDir, metafile } = await buildPackage(ROOT, path.join(scratch, "dist")));
    await bundleEntries({
      entries: { "load-entry": path.join(ROOT, "bench/load-entry.ts") },
      outDir: scratch,
    });
    helloWorld = await bundleEntries({
      entries: { "hello-world": path.join(ROOT, "bench/hello-world/index.ts") },
      outDir: scratch,
    });
  });

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it("holds the entry, the relay kit, the console, host.json and a package.json without dependencies", () => {
    const all = readdirSync(outDir, { recursive: true, encoding: "utf8" }).sort();
    const files = all.filter((file) => !file.startsWith("console-assets/"));
    expect(all.filter((file) => file.startsWith("console-assets/"))).toEqual(
      expect.arrayContaining([
        "console-assets/index.html.gz",
        expect.stringMatching(/^console-assets\/main-[A-Z0-9]+\.js\.gz$/),
      ]),
    );
    expect(files).toEqual([
      "console-assets",
      "functions",
      "functions/index.js",
      "functions/index.js.map",
      "functions/relay-kit.js",
      "functions/relay-kit.js.map",
      "host.json",
      "package.json",
    ]);
    expect(readFileSync(path.join(outDir, "host.json"), "utf8")).toBe(
      readFileSync(path.join(ROOT, "host.json"), "utf8"),
    );
    const manifest = JSON.parse(readFileSync(path.join(outDir, "package.json"), "utf8"));
    expect(manifest.main).toBe("functions/index.js");
    expect(manifest).not.toHaveProperty("dependencies");
  });

  it("requires nothing at run time but Node built-ins, the worker's core module and the kit", () => {
    const external = (file: string) =>
      requiredModules(readFileSync(path.join(outDir, file), "utf8")).filter(
        (name) => !isBuiltin(name),
      );
    expect(external("functions/index.js").sort()).toEqual(
      [...EXTERNAL_MODULES, "./relay-kit.js"].sort(),
    );
    expect(external("functions/relay-kit.js")).toEqual([]);
  });

  it("starts only the settings check beyond a hello-world app, and none of the use cases or adapters", () => {
    const entrySources = bundledSources(metafile, "functions/index.js");
    // zod (as zod/mini) validates the settings at load, so a bad one stops the app at start.
    expect(packagesOf(entrySources)).toEqual(
      [...packagesOf(bundledSources(helloWorld, "hello-world.js")), "zod"].sort(),
    );
    expect(entrySources).not.toEqual(
      expect.arrayContaining([expect.stringMatching(/^shared\/(app|adapters|security)\//)]),
    );
    const kitSources = bundledSources(metafile, "functions/relay-kit.js");
    expect(kitSources).toEqual(
      expect.arrayContaining(["shared/composition.ts", "shared/app/accept-trigger.ts"]),
    );
  });

  it("is under 5 MB", () => {
    const files = readdirSync(outDir, { recursive: true, encoding: "utf8" });
    const bytes = files.reduce((sum, file) => sum + statSync(path.join(outDir, file)).size, 0);
    expect(bytes).toBeLessThan(PACKAGE_BYTES_LIMIT);
  });

  it("registers one function per file of functions/ when loaded like the worker loads it", () => {
    const child = spawnSync(
      process.execPath,
      [path.join(scratch, "load-entry.js"), path.join(outDir, "functions/index.js")],
      { env: { PATH: process.env.PATH ?? "", ...DUMMY_RELAY_SETTINGS }, encoding: "utf8" },
    );
    expect(child.stderr).toBe("");
    const loaded = JSON.parse(child.stdout) as LoadMeasurement;
    const functionFiles = readdirSync(path.join(ROOT, "functions")).filter(
      (file) => file.endsWith(".ts") && file !== "index.ts",
    );
    expect(loaded.functions).toBe(functionFiles.length);
  });
});
