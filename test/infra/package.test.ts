/**
 * The deployable package (dev/build.ts): self-contained, small, and the functions really register
 * when the Functions worker loads it.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import os from "node:os";
import path from "node:path";
import { DUMMY_RELAY_SETTINGS } from "../../bench/dummy-settings";
import type { LoadMeasurement } from "../../bench/load-entry";
import { buildPackage, bundleEntries, EXTERNAL_MODULES } from "../../dev/build";
import { ROOT } from "./template-checks";

const PACKAGE_BYTES_LIMIT = 5 * 1024 * 1024;

/** The modules a bundle still requires at run time. */
function requiredModules(bundle: string): string[] {
  return [...new Set([...bundle.matchAll(/\brequire\("([^"]+)"\)/g)].map((match) => match[1]))];
}

const isBuiltin = (name: string) => builtinModules.includes(name.replace(/^node:/, ""));

describe("the deployable package", () => {
  let scratch: string;
  let outDir: string;

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), "relay-package-"));
    outDir = (await buildPackage(ROOT, path.join(scratch, "dist"))).outDir;
    await bundleEntries({
      entries: { "load-entry": path.join(ROOT, "bench/load-entry.ts") },
      outDir: scratch,
    });
  });

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it("holds the bundle, host.json and a package.json without dependencies", () => {
    const files = readdirSync(outDir, { recursive: true, encoding: "utf8" }).sort();
    expect(files).toEqual([
      "functions",
      "functions/index.js",
      "functions/index.js.map",
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

  it("requires nothing at run time but Node built-ins and the worker's core module", () => {
    const bundle = readFileSync(path.join(outDir, "functions/index.js"), "utf8");
    const external = requiredModules(bundle).filter((name) => !isBuiltin(name));
    expect(external).toEqual(EXTERNAL_MODULES);
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
