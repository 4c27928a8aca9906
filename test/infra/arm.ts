/**
 * The Azure template as the real Bicep compiler makes it: infra/ compiled to ARM JSON, and
 * `bicep snapshot` of that JSON, ARM's own evaluation of it for given parameters (modules,
 * loops and conditions expanded). What only Azure knows at deployment (a `reference()` to a
 * resource made in the same deployment) stays an expression there; `evaluate` gives it the
 * values Azure documents for those resources.
 *
 * Without a compiler (no .NET SDK, no Bicep) the tests that need one are skipped, saying why.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { buildTemplate, findBicep, pinnedVersion } from "../../dev/tools/bicep";

export const ROOT = path.resolve(__dirname, "../..");
export const INFRA = path.join(ROOT, "infra");

const bicep = findBicep();

/** `describe` for tests that need the compiler; without one they skip, saying why. */
export function describeCompiled(name: string, tests: () => void): void {
  if (bicep.found) describe(name, tests);
  else {
    console.warn(`test/infra: "${name}" skips: ${bicep.reason}`);
    describe.skip(name, tests);
  }
}

function compiler(): string {
  if (!bicep.found) throw new Error(bicep.reason);
  return bicep.path;
}

/** The deployment's context in every snapshot. */
export const SUBSCRIPTION_ID = "00000000-0000-4000-8000-00000000a001";
export const TENANT_ID = "00000000-0000-4000-8000-00000000a002";

export interface ArmResource {
  type: string;
  apiVersion: string;
  name: string;
  condition?: unknown;
  scope?: string;
  dependsOn?: string[];
  properties?: any;
  [key: string]: any;
}

export interface ArmTemplate {
  languageVersion?: string;
  parameters: Record<
    string,
    { type: string; defaultValue?: unknown; allowedValues?: unknown[]; [key: string]: unknown }
  >;
  variables?: Record<string, unknown>;
  /** An array, or (languageVersion 2.0) an object keyed by the Bicep symbolic names. */
  resources: ArmResource[] | Record<string, ArmResource>;
  outputs: Record<string, { type: string; value: unknown }>;
}

export interface Snapshot {
  predictedResources: (ArmResource & { id: string })[];
  outputs: Record<string, unknown>;
  diagnostics: unknown[];
}

/** A template's resources as [symbolic name or index, resource]. */
export function resourceEntries(template: ArmTemplate): [string, ArmResource][] {
  return Array.isArray(template.resources)
    ? template.resources.map((resource, index) => [String(index), resource])
    : Object.entries(template.resources);
}

/** The template of the module deployment `name` (a Microsoft.Resources/deployments resource). */
export function moduleTemplate(template: ArmTemplate, name: string): ArmTemplate {
  const module = resourceEntries(template).find(
    ([, resource]) => resource.type === "Microsoft.Resources/deployments" && resource.name === name,
  );
  if (!module) throw new Error(`no module ${name}`);
  return module[1].properties.template as ArmTemplate;
}

const run = promisify(execFile);

/** A digest of every file under `dir` (names and contents), to cache what is made from them. */
function digestOf(dir: string, extra: string): string {
  const hash = createHash("sha256").update(extra);
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder).sort()) {
      const file = path.join(folder, entry);
      if (statSync(file).isDirectory()) walk(file);
      else hash.update(path.relative(dir, file)).update("\0").update(readFileSync(file));
    }
  };
  walk(dir);
  return hash.digest("hex").slice(0, 16);
}

/**
 * Where the compiled template of `infraDir` lives: compiled once for its contents and the
 * compiler, so the test files of one run (and runs on an unchanged template) share it.
 */
async function compiledDir(infraDir: string): Promise<string> {
  const digest = digestOf(infraDir, `${compiler()}\0${pinnedVersion()}`);
  const dir = path.join(os.tmpdir(), `dm-flow-relay-arm-${digest}`);
  if (existsSync(path.join(dir, "main.json"))) return dir;
  const scratch = await mkdtemp(path.join(os.tmpdir(), "dm-flow-relay-arm-"));
  await buildTemplate(
    compiler(),
    path.join(infraDir, "main.bicep"),
    path.join(scratch, "main.json"),
  );
  // Another test file may have compiled the same template meanwhile: either copy will do.
  await rename(scratch, dir).catch(() => rm(scratch, { recursive: true, force: true }));
  return dir;
}

export async function compileTemplate(infraDir = INFRA): Promise<ArmTemplate> {
  const dir = await compiledDir(infraDir);
  return JSON.parse(await readFile(path.join(dir, "main.json"), "utf8")) as ArmTemplate;
}

/** A value as a Bicep literal, for a .bicepparam file. */
function bicepLiteral(value: string | number | boolean): string {
  return typeof value === "string"
    ? `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\$\{/g, "\\${")}'`
    : String(value);
}

export type Parameters = Record<string, string | number | boolean>;

/** ARM's evaluation of the compiled template for these parameters (`bicep snapshot`). */
export async function snapshotOf(parameters: Parameters, infraDir = INFRA): Promise<Snapshot> {
  const dir = await compiledDir(infraDir);
  const lines = Object.entries(parameters).map(
    ([name, value]) => `param ${name} = ${bicepLiteral(value)}`,
  );
  // The file is written to a folder beside main.json.
  const text = ["using '../main.json'", ...lines, ""].join("\n");
  const name = createHash("sha256").update(text).digest("hex").slice(0, 16);
  const snapshotFile = path.join(dir, "snapshots", `${name}.snapshot.json`);
  if (!existsSync(snapshotFile)) {
    // Each snapshot is made in a folder of its own, moved in whole when done.
    const scratch = await mkdtemp(path.join(dir, "scratch-"));
    try {
      await writeFile(path.join(scratch, `${name}.bicepparam`), text);
      await run(
        compiler(),
        [
          "snapshot",
          path.join(scratch, `${name}.bicepparam`),
          ...["--subscription-id", SUBSCRIPTION_ID, "--tenant-id", TENANT_ID],
          ...["--location", String(parameters.location), "--deployment-name", "relay"],
        ],
        { maxBuffer: 64 * 1024 * 1024 },
      ).catch((error: { stdout?: string; stderr?: string; message: string }) => {
        throw new Error(`bicep snapshot failed: ${error.stderr || error.stdout || error.message}`);
      });
      await mkdir(path.dirname(snapshotFile), { recursive: true });
      await rename(path.join(scratch, `${name}.snapshot.json`), snapshotFile).catch(
        () => undefined,
      );
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
  return JSON.parse(await readFile(snapshotFile, "utf8")) as Snapshot;
}

// ---------------------------------------------------------------------------------------------
// What Azure gives at deployment

/** The stand-ins for the identity's ids. */
export const IDENTITY = {
  clientId: "11111111-1111-4111-8111-111111111111",
  principalId: "22222222-2222-4222-8222-222222222222",
};

/**
 * The runtime properties of a resource made in the deployment, as Azure returns them (the
 * shapes of the resource providers' GET responses), for `reference(id, apiVersion)`.
 */
function referenced(resourceId: string): Record<string, unknown> {
  const [, type, name] = /\/providers\/([^/]+\/[^/]+)\/([^/]+)$/.exec(resourceId) ?? [];
  switch (type) {
    case "Microsoft.ManagedIdentity/userAssignedIdentities":
      return { ...IDENTITY, tenantId: TENANT_ID };
    case "Microsoft.Storage/storageAccounts":
      return {
        primaryEndpoints: Object.fromEntries(
          ["blob", "queue", "table", "file"].map((service) => [
            service,
            `https://${name}.${service}.core.windows.net/`,
          ]),
        ),
      };
    case "Microsoft.ServiceBus/namespaces":
      return { serviceBusEndpoint: `https://${name}.servicebus.windows.net:443/` };
    case "Microsoft.KeyVault/vaults":
      return { vaultUri: `https://${name}.vault.azure.net/` };
    case "Microsoft.Web/sites":
      return { defaultHostName: `${name}.azurewebsites.net` };
    case "Microsoft.Insights/components":
      return {
        ConnectionString:
          "InstrumentationKey=33333333-3333-4333-8333-333333333333;" +
          "IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/",
      };
    default:
      throw new Error(`no stand-in for reference(${resourceId})`);
  }
}

type Value = unknown;

const FUNCTIONS: Record<string, (...args: any[]) => Value> = {
  reference: (resourceId: string) => referenced(resourceId),
  format: (template: string, ...args: Value[]) =>
    template.replace(/\{(\d+)\}/g, (_, index: string) => String(args[Number(index)])),
  concat: (...args: Value[]) =>
    Array.isArray(args[0]) ? args.flat() : args.map((arg) => String(arg)).join(""),
  replace: (text: string, from: string, to: string) => text.split(from).join(to),
  split: (text: string, separator: string) => text.split(separator),
  string: (value: Value) => (typeof value === "string" ? value : JSON.stringify(value)),
  toLower: (text: string) => text.toLowerCase(),
};

/**
 * One ARM expression (`[...]` without the brackets): literals, function calls, `.property` and
 * `[index]`, the forms the snapshot leaves. Unknown functions fail, naming themselves.
 */
function evaluateExpression(source: string): Value {
  let at = 0;
  const skipSpace = () => {
    while (source[at] === " ") at++;
  };
  const expect = (char: string) => {
    skipSpace();
    if (source[at] !== char) throw new Error(`expected ${char} at ${at} in [${source}]`);
    at++;
  };
  const primary = (): Value => {
    skipSpace();
    if (source[at] === "'") {
      let text = "";
      at++;
      for (;;) {
        if (source[at] === undefined) throw new Error(`unclosed string in [${source}]`);
        if (source[at] === "'" && source[at + 1] === "'") {
          text += "'";
          at += 2;
        } else if (source[at] === "'") break;
        else text += source[at++];
      }
      at++;
      return text;
    }
    const number = /^-?\d+/.exec(source.slice(at));
    if (number) {
      at += number[0].length;
      return Number(number[0]);
    }
    const name = /^[A-Za-z_]\w*/.exec(source.slice(at))?.[0];
    if (!name) throw new Error(`unexpected ${source[at]} at ${at} in [${source}]`);
    at += name.length;
    expect("(");
    const args: Value[] = [];
    skipSpace();
    if (source[at] === ")") at++;
    else
      for (;;) {
        args.push(expression());
        skipSpace();
        if (source[at] === ",") at++;
        else {
          expect(")");
          break;
        }
      }
    const call = FUNCTIONS[name];
    if (!call) throw new Error(`no ARM function ${name}() here: [${source}]`);
    return call(...args);
  };
  const expression = (): Value => {
    let value = primary();
    for (;;) {
      skipSpace();
      if (source[at] === ".") {
        at++;
        const property = /^\w+/.exec(source.slice(at))?.[0] ?? "";
        at += property.length;
        value = (value as Record<string, Value>)[property];
      } else if (source[at] === "[") {
        at++;
        const index = expression();
        expect("]");
        value = (value as Record<string, Value>)[index as string];
      } else return value;
    }
  };
  const value = expression();
  skipSpace();
  if (at !== source.length) throw new Error(`unexpected text at ${at} in [${source}]`);
  return value;
}

/** A snapshot value with every expression in it evaluated (`[[` escapes a literal `[`). */
export function evaluate(value: Value): Value {
  if (typeof value === "string") {
    if (value.startsWith("[[")) return value.slice(1);
    if (value.startsWith("[") && value.endsWith("]")) return evaluateExpression(value.slice(1, -1));
    return value;
  }
  if (Array.isArray(value)) return value.map(evaluate);
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, evaluate(item)]));
  return value;
}
