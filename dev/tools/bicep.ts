/**
 * The Bicep compiler as a project tool. `dev/tools/bicep/bicep.csproj` pins the Bicep CLI's NuGet
 * package; `restore` downloads it (`dotnet restore`), `check` builds and lints infra/main.bicep
 * with infra/bicepconfig.json and fails on any warning, which Bicep itself only prints.
 *
 * The compiler is, in this order: `BICEP_PATH`, the restored package, `bicep` on `PATH`.
 *
 * Run: `npm run infra:tools` (restore), `npm run infra:check` (check; a path to another
 * main.bicep may follow).
 */
import { execFile, spawnSync } from "node:child_process";
import { accessSync, chmodSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Command } from "commander";

const ROOT = path.resolve(__dirname, "../..");
const TOOLS_PROJECT = path.join(__dirname, "bicep", "bicep.csproj");
const PACKAGE_ID = "Azure.Bicep.CommandLine.linux-x64";
export const MAIN_TEMPLATE = path.join(ROOT, "infra", "main.bicep");

/** No telemetry, banner or first-run setup from the .NET CLI. */
export const DOTNET_ENVIRONMENT = {
  DOTNET_CLI_TELEMETRY_OPTOUT: "1",
  DOTNET_NOLOGO: "1",
  DOTNET_SKIP_FIRST_TIME_EXPERIENCE: "1",
};

/** The Bicep version the tools project pins (`Version="[x.y.z]"`). */
export function pinnedVersion(): string {
  const project = readFileSync(TOOLS_PROJECT, "utf8");
  const pin = new RegExp(`Include="${PACKAGE_ID}" Version="\\[([^\\]]+)\\]"`).exec(project);
  if (!pin) throw new Error(`${TOOLS_PROJECT} does not pin ${PACKAGE_ID}`);
  return pin[1];
}

export type BicepLookup = { found: true; path: string } | { found: false; reason: string };

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The binary in the restored package, found through the NuGet packages folders the restore
 * recorded (`NUGET_PACKAGES` or `~/.nuget/packages`). NuGet does not keep file modes on every
 * platform, so the binary is made executable when it is not.
 */
function restoredBicep(): string | undefined {
  const assetsFile = path.join(path.dirname(TOOLS_PROJECT), "obj", "project.assets.json");
  if (!existsSync(assetsFile)) return undefined;
  const assets = JSON.parse(readFileSync(assetsFile, "utf8")) as {
    packageFolders?: Record<string, unknown>;
  };
  for (const folder of Object.keys(assets.packageFolders ?? {})) {
    const binary = path.join(folder, PACKAGE_ID.toLowerCase(), pinnedVersion(), "tools", "bicep");
    if (!existsSync(binary)) continue;
    if (!isExecutableFile(binary)) chmodSync(binary, 0o755);
    return binary;
  }
  return undefined;
}

export function findBicep(env: NodeJS.ProcessEnv = process.env): BicepLookup {
  if (env.BICEP_PATH) {
    return isExecutableFile(env.BICEP_PATH)
      ? { found: true, path: env.BICEP_PATH }
      : { found: false, reason: `BICEP_PATH=${env.BICEP_PATH} is not an executable file` };
  }
  // The package holds a Linux x64 binary only.
  const restored = process.platform === "linux" && process.arch === "x64" && restoredBicep();
  if (restored) return { found: true, path: restored };
  for (const folder of (env.PATH ?? "").split(path.delimiter).filter(Boolean)) {
    const binary = path.join(folder, process.platform === "win32" ? "bicep.exe" : "bicep");
    if (isExecutableFile(binary)) return { found: true, path: binary };
  }
  return {
    found: false,
    reason:
      "no Bicep compiler: run `npm run infra:tools` (needs the .NET SDK), " +
      "or set BICEP_PATH, or put bicep on PATH",
  };
}

/** `dotnet restore` of the tools project: the pinned Bicep CLI into the NuGet packages folder. */
export function restoreBicep(): void {
  const restore = spawnSync("dotnet", ["restore", TOOLS_PROJECT], {
    stdio: "inherit",
    env: { ...process.env, ...DOTNET_ENVIRONMENT },
  });
  if (restore.error) throw new Error(`dotnet restore could not run: ${restore.error.message}`);
  if (restore.status !== 0) throw new Error(`dotnet restore exited with ${restore.status}`);
}

const run = promisify(execFile);
const OUTPUT_LIMIT = 64 * 1024 * 1024;

export async function bicepVersion(bicep: string): Promise<string> {
  const { stdout } = await run(bicep, ["--version"]);
  return /version (\S+)/.exec(stdout)?.[1] ?? stdout.trim();
}

/** Compiles a .bicep file to an ARM template (JSON) at `outFile`. */
export async function buildTemplate(bicep: string, bicepFile: string, outFile: string) {
  await run(bicep, ["build", bicepFile, "--outfile", outFile], { maxBuffer: OUTPUT_LIMIT });
}

export interface Diagnostic {
  level: "error" | "warning" | "note" | "none";
  code: string;
  message: string;
  /** file(line,column), as Bicep prints it. */
  location: string;
}

interface SarifLog {
  runs: {
    results: {
      ruleId: string;
      level?: Diagnostic["level"];
      message: { text: string };
      locations?: {
        physicalLocation: {
          artifactLocation: { uri: string };
          region: { startLine: number; charOffset: number };
        };
      }[];
    }[];
  }[];
}

/** A path inside the repository relative to it, any other absolute. */
function shortPath(file: string): string {
  const relative = path.relative(ROOT, file);
  return relative.startsWith("..") ? file : relative;
}

/** Every compiler and linter diagnostic of a .bicep file and the modules it uses. */
export async function lintTemplate(bicep: string, bicepFile: string): Promise<Diagnostic[]> {
  // lint exits non-zero when a diagnostic is an error; the SARIF log is on stdout either way.
  const stdout = await run(bicep, ["lint", bicepFile, "--diagnostics-format", "sarif"], {
    maxBuffer: OUTPUT_LIMIT,
  }).then(
    (result) => result.stdout,
    (error: { stdout?: string; stderr?: string; message: string }) => {
      if (!error.stdout) throw new Error(`bicep lint failed: ${error.stderr || error.message}`);
      return error.stdout;
    },
  );
  const log = JSON.parse(stdout) as SarifLog;
  return log.runs.flatMap((sarifRun) =>
    sarifRun.results.map((result) => {
      const where = result.locations?.[0]?.physicalLocation;
      const file = where ? shortPath(new URL(where.artifactLocation.uri).pathname) : "";
      return {
        // SARIF's default level is warning.
        level: result.level ?? "warning",
        code: result.ruleId,
        message: result.message.text,
        location: where ? `${file}(${where.region.startLine},${where.region.charOffset})` : file,
      };
    }),
  );
}

/**
 * Builds and lints a .bicep file: the problems are every warning and error (as Bicep prints
 * them) and a failed build; none means the template is fit to deploy.
 */
export async function checkTemplate(bicep: string, bicepFile: string): Promise<string[]> {
  const outDir = await mkdtemp(path.join(os.tmpdir(), "bicep-check-"));
  try {
    const [built, diagnostics] = await Promise.all([
      buildTemplate(bicep, bicepFile, path.join(outDir, "main.json")).then(
        () => undefined,
        (error: { stderr?: string; message: string }) =>
          `bicep build failed: ${error.stderr?.trim() || error.message}`,
      ),
      lintTemplate(bicep, bicepFile),
    ]);
    const problems = diagnostics
      .filter((diagnostic) => diagnostic.level === "error" || diagnostic.level === "warning")
      .map((d) => `${d.location} : ${d.level} ${d.code}: ${d.message}`);
    // A failed build always has an error diagnostic too; its output is said only without one.
    return built && problems.length === 0 ? [built] : problems;
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

function compilerOrExit(): string {
  const bicep = findBicep();
  if (!bicep.found) {
    console.error(`infra: ${bicep.reason}`);
    process.exit(1);
  }
  return bicep.path;
}

if (require.main === module) {
  const program = new Command("bicep").description("The Bicep compiler for infra/");
  program
    .command("restore")
    .description("restore the pinned Bicep CLI from NuGet (dev/tools/bicep)")
    .action(async () => {
      restoreBicep();
      const bicep = compilerOrExit();
      console.log(`infra: Bicep ${await bicepVersion(bicep)} at ${bicep}`);
    });
  program
    .command("check")
    .description("build and lint a template; any warning fails")
    .argument("[file]", "the .bicep file", MAIN_TEMPLATE)
    .action(async (file: string) => {
      const bicep = compilerOrExit();
      const version = await bicepVersion(bicep);
      if (version !== pinnedVersion())
        console.warn(`infra: Bicep ${version} at ${bicep}, not the pinned ${pinnedVersion()}`);
      const started = Date.now();
      const problems = await checkTemplate(bicep, path.resolve(file));
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const name = shortPath(path.resolve(file));
      for (const problem of problems) console.error(problem);
      if (problems.length > 0) {
        console.error(`infra: ${name}: ${problems.length} problem(s) (Bicep ${version})`);
        process.exitCode = 1;
      } else
        console.log(
          `infra: ${name} built and linted, no warnings (Bicep ${version}, ${seconds} s)`,
        );
    });
  program.parseAsync().catch((error: unknown) => {
    console.error(`infra: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
