/**
 * Builds the deployable package: `dist/` is the folder Azure (azd, `func publish`, zip deploy)
 * receives. Each entry becomes one minified CommonJS bundle with its dependencies inlined, so the
 * package needs no `node_modules` and Node resolves no packages while the app loads.
 *
 * The relay is two bundles: the entry (`functions/index.js`: `@azure/functions`, the registrations
 * and the settings check) and the relay kit (`functions/relay-kit.js`: use cases, adapters, SDKs),
 * which `shared/runtime.ts` imports on the first invocation. The entry requires the kit's file at
 * run time instead of carrying it, so starting the app neither parses nor runs the kit's code.
 *
 * Beside them, `console-assets/` holds the web console (`console/app`, React and Fluent UI), built
 * for the browser, minified and gzipped, which `functions/console.ts` serves.
 *
 * Run: `npm run build` (tsx dev/build.ts); `--console-only [dir]` builds only the console, into
 * `console-assets/` of the repository unless told otherwise (what `npm start` serves).
 */
import { build, type Metafile, type Plugin } from "esbuild";
import { copyFile, mkdir, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { CONSOLE_ASSETS_FOLDER, CONSOLE_PAGE, GZIP_SUFFIX } from "../console/serve";

/**
 * Modules left out of the bundle, to be resolved at run time:
 * - `@azure/functions-core` is not an npm package: the Azure Functions Node.js worker provides it
 *   to the app, and `@azure/functions` requires it at the first `app.*` call.
 * Nothing else must stay out: every bundled dependency is plain JavaScript. `@azure/identity`'s
 * optional native token-cache helper (`@azure/msal-node-extensions`) is not a dependency here, and
 * the one file the bundle cannot carry, `open`'s `xdg-open` script, only serves interactive browser
 * sign-in, which the relay never uses.
 */
export const EXTERNAL_MODULES = ["@azure/functions-core"];

/** The relay kit: its source, and its bundle beside the entry's (`functions/index.js`). */
const RELAY_KIT = { source: "shared/relay-kit.ts", bundle: "functions/relay-kit" };

/**
 * Leaves the import of `source` out of the bundles that import it, as a require of `./<file>.js`
 * (a bundle of its own in the same folder). esbuild keeps an external `import()` as is; the build
 * turns it into a require (`dynamic-import: false`), which is how Node loads a CommonJS file.
 */
function separateBundle(source: string, file: string): Plugin {
  const withoutExtension = source.replace(/\.ts$/, "");
  return {
    name: "separate-bundle",
    setup(build) {
      build.onResolve({ filter: new RegExp(`/${path.basename(withoutExtension)}$`) }, (args) =>
        path.resolve(args.resolveDir, args.path) === withoutExtension
          ? { path: `./${file}.js`, external: true }
          : undefined,
      );
    },
  };
}

/** One bundle per entry: `entries` maps an output path without extension to a source file. */
export async function bundleEntries(options: {
  entries: Record<string, string>;
  outDir: string;
  plugins?: Plugin[];
}): Promise<Metafile> {
  const result = await build({
    entryPoints: options.entries,
    outdir: options.outDir,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    minify: true,
    // Stack traces in Application Insights map back to the TypeScript; the sources stay out of the
    // map so the package stays small.
    sourcemap: true,
    sourcesContent: false,
    // Prefer the packages' ES module builds: esbuild can drop their unused exports.
    mainFields: ["module", "main"],
    external: EXTERNAL_MODULES,
    plugins: options.plugins ?? [],
    supported: { "dynamic-import": false },
    metafile: true,
    logLevel: "warning",
  });
  return result.metafile;
}

const CONSOLE_SOURCE = "console/app";
const gzipped = promisify(gzip);

/**
 * Builds the web console into `outDir`: ES module chunks named by content hash, MSAL in a chunk of
 * its own that only `entra` mode loads, the page naming the entry chunk, every file gzipped. No
 * source maps: the console's code is not secret, but its maps would double the package.
 *
 * A host may be serving `outDir` meanwhile (`npm start`, tests), so no file is ever missing: each
 * one is renamed into place whole, the page last, and only then are an earlier build's files
 * removed. Two builds of the same sources write the same files.
 */
export async function buildConsole(root: string, outDir: string): Promise<{ bytes: number }> {
  const source = path.join(root, CONSOLE_SOURCE);
  const result = await build({
    entryPoints: { main: path.join(source, "main.tsx") },
    outdir: outDir,
    write: false,
    bundle: true,
    platform: "browser",
    format: "esm",
    splitting: true,
    target: "es2022",
    jsx: "automatic",
    minify: true,
    define: { "process.env.NODE_ENV": '"production"' },
    entryNames: "[name]-[hash]",
    chunkNames: "chunk-[hash]",
    metafile: true,
    logLevel: "warning",
  });
  const entry = Object.entries(result.metafile.outputs).find(([, output]) => output.entryPoint);
  if (!entry) throw new Error("the console build has no entry chunk");
  const page = (await readFile(path.join(source, CONSOLE_PAGE), "utf8")).replace(
    "{{main}}",
    `./${path.basename(entry[0])}`,
  );
  const files = [
    ...result.outputFiles.map((file) => ({
      name: path.basename(file.path),
      contents: file.contents,
    })),
    { name: CONSOLE_PAGE, contents: Buffer.from(page) },
  ];
  await mkdir(outDir, { recursive: true });
  const written = new Set<string>();
  let bytes = 0;
  for (const file of files) {
    const packed = await gzipped(file.contents, { level: 9 });
    const name = file.name + GZIP_SUFFIX;
    // Dot files are never served, nor removed by another build.
    const partial = path.join(outDir, `.${name}.${process.pid}.partial`);
    await writeFile(partial, packed);
    await rename(partial, path.join(outDir, name));
    written.add(name);
    bytes += packed.length;
  }
  for (const name of await readdir(outDir))
    if (!written.has(name) && !name.startsWith("."))
      await rm(path.join(outDir, name), { recursive: true, force: true });
  return { bytes };
}

/** The bytes of every file under `dir`. */
export async function folderBytes(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const sizes = await Promise.all(
    entries
      .filter((entry) => entry.isFile())
      .map(async (entry) => (await stat(path.join(entry.parentPath, entry.name))).size),
  );
  return sizes.reduce((sum, size) => sum + size, 0);
}

/** What Azure needs beside the bundle: the package's identity and its entry point. */
async function deployablePackageJson(root: string): Promise<string> {
  const source = JSON.parse(await readFile(path.join(root, "package.json"), "utf8")) as {
    name: string;
    version: string;
  };
  const manifest = {
    name: source.name,
    version: source.version,
    private: true,
    main: "functions/index.js",
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** Builds the deployable package of the relay into `outDir`, replacing what was there. */
export async function buildPackage(
  root: string,
  outDir = path.join(root, "dist"),
): Promise<{ outDir: string; metafile: Metafile }> {
  // A fresh folder: leftovers of an earlier build would be deployed too.
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const kitSource = path.join(root, RELAY_KIT.source);
  const metafile = await bundleEntries({
    entries: {
      "functions/index": path.join(root, "functions/index.ts"),
      [RELAY_KIT.bundle]: kitSource,
    },
    outDir,
    plugins: [separateBundle(kitSource, path.basename(RELAY_KIT.bundle))],
  });
  await buildConsole(root, path.join(outDir, CONSOLE_ASSETS_FOLDER));
  await copyFile(path.join(root, "host.json"), path.join(outDir, "host.json"));
  await writeFile(path.join(outDir, "package.json"), await deployablePackageJson(root));
  return { outDir, metafile };
}

const megabytes = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(2)} MB`;

async function main(args: string[]): Promise<string> {
  const root = path.resolve(__dirname, "..");
  if (args[0] === "--console-only") {
    const outDir = path.resolve(args[1] ?? path.join(root, CONSOLE_ASSETS_FOLDER));
    const { bytes } = await buildConsole(root, outDir);
    return `Built the console into ${path.relative(root, outDir) || "."}/ (${megabytes(bytes)} gzipped)`;
  }
  const { outDir } = await buildPackage(root);
  const console = await folderBytes(path.join(outDir, CONSOLE_ASSETS_FOLDER));
  return `Built ${path.relative(root, outDir)}/: ${megabytes(await folderBytes(outDir))}, of which the console ${megabytes(console)}`;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (line) => console.log(line),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
