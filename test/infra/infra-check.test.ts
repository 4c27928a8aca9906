/**
 * `npm run infra:check` (dev/tools/bicep.ts check): the real compiler and linter pass the
 * template, and a template Azure would refuse fails the check, though Bicep only warns of it.
 */
import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describeCompiled, INFRA, ROOT } from "./arm";

/** Runs the check as `npm run infra:check` does, on `bicepFile`. */
function infraCheck(bicepFile: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const tsx = path.join(ROOT, "node_modules", ".bin", "tsx");
  return new Promise((resolve) => {
    execFile(
      tsx,
      ["dev/tools/bicep.ts", "check", bicepFile],
      { cwd: ROOT },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describeCompiled("npm run infra:check", () => {
  let copyDir: string;

  beforeAll(async () => {
    copyDir = await mkdtemp(path.join(os.tmpdir(), "infra-check-"));
    await cp(INFRA, copyDir, { recursive: true });
  });

  afterAll(() => rm(copyDir, { recursive: true, force: true }));

  it("passes the template with no warnings", async () => {
    const result = await infraCheck(path.join(copyDir, "main.bicep"));
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/built and linted, no warnings/);
    expect(result.code).toBe(0);
  }, 180_000);

  it("fails a template with an unknown property, naming it", async () => {
    const relay = path.join(copyDir, "modules", "relay.bicep");
    const text = await readFile(relay, "utf8");
    expect(text).toContain("    httpsOnly: true\n");
    await writeFile(
      relay,
      text.replace("    httpsOnly: true\n", "    httpsOnly: true\n    httpOnly: true\n"),
    );
    const result = await infraCheck(path.join(copyDir, "main.bicep"));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /relay\.bicep\(\d+,\d+\) : warning BCP037: The property "httpOnly" is not allowed/,
    );
    expect(result.stderr).toMatch(/main\.bicep: 1 problem\(s\)/);
  }, 180_000);
});
