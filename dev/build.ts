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
 * Run: `npm run build` (tsx dev/build.ts).
 */
import { build, type Metafile, type Plugin } from "esbuild";
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";

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
  await copyFile(path.join(root, "host.json"), path.join(outDir, "host.json"));
  await writeFile(path.join(outDir, "package.json"), await deployablePackageJson(root));
  return { outDir, metafile };
}

if (require.main === module) {
  const root = path.resolve(__dirname, "..");
  buildPackage(root).then(
    ({ outDir }) => console.log(`Built ${path.relative(root, outDir)}/`),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
