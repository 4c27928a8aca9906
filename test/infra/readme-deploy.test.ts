/**
 * README "Deploy to Azure" against the compiled template: the parameters, azd variables and
 * outputs it names must exist, and every parameter and output must be documented.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { type ArmTemplate, compileTemplate, describeCompiled } from "./arm";
import {
  copy,
  literalDefault,
  parametersFileProblems,
  parameterVariables,
  ROOT,
} from "./template-checks";

/** The `## Deploy to Azure` section, up to the next second-level heading. */
function deploySection(readme: string): string | undefined {
  const start = readme.indexOf("\n## Deploy to Azure\n");
  if (start === -1) return undefined;
  const end = readme.indexOf("\n## ", start + 1);
  return readme.slice(start, end === -1 ? undefined : end);
}

/** The rows of the first table under a `### heading`, as cells. */
function tableRows(section: string, heading: string): string[][] {
  const start = section.indexOf(`\n### ${heading}\n`);
  if (start === -1) return [];
  const lines = section.slice(start).split("\n").slice(2);
  const table = lines.slice(lines.findIndex((line) => line.startsWith("|")));
  const rows = table.slice(0, table.findIndex((line) => !line.startsWith("|")) >>> 0);
  return rows.slice(2).map((row) =>
    row
      .split("|")
      .slice(1, -1)
      .map((cell) => cell.trim()),
  );
}

const codeNames = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]);

function readmeDeployProblems(
  readme: string,
  template: ArmTemplate,
  parametersFile: string,
): string[] {
  const section = deploySection(readme);
  if (!section) return ["README has no '## Deploy to Azure' section"];
  const problems: string[] = [];
  const declared = Object.keys(template.parameters);
  const declaredOutputs = Object.keys(template.outputs);
  const variables = parameterVariables(parametersFile);
  const azdVariables = [...variables.values()].map((mapping) => mapping.variable);

  const documentedParams = new Set<string>();
  for (const [paramCell, variableCell, defaultCell] of tableRows(section, "Parameters")) {
    const [name] = codeNames(paramCell);
    if (!declared.includes(name)) {
      problems.push(`Parameters table: ${name} is not a parameter of main.bicep`);
      continue;
    }
    documentedParams.add(name);
    const [variable] = codeNames(variableCell);
    if (variable !== variables.get(name)?.variable)
      problems.push(
        `Parameters table: ${name} is set by ${variables.get(name)?.variable}, not ${variable}`,
      );
    const fallback = literalDefault(template, name);
    if (
      fallback !== undefined &&
      fallback !== "" &&
      !codeNames(defaultCell).includes(String(fallback))
    )
      problems.push(`Parameters table: ${name}'s default is ${fallback}, not ${defaultCell}`);
  }
  for (const name of declared)
    if (!documentedParams.has(name)) problems.push(`parameter ${name} is not documented`);

  const documentedOutputs = new Set(
    tableRows(section, "Outputs").flatMap(([cell]) => codeNames(cell)),
  );
  for (const name of documentedOutputs)
    if (!declaredOutputs.includes(name)) problems.push(`Outputs table: ${name} is not an output`);
  for (const name of declaredOutputs)
    if (!documentedOutputs.has(name)) problems.push(`output ${name} is not documented`);

  for (const [, name] of section.matchAll(/azd env set ([A-Z][A-Z0-9_]*)/g))
    if (!azdVariables.includes(name))
      problems.push(`'azd env set ${name}': main.parameters.json does not read ${name}`);
  for (const [, name] of section.matchAll(/azd env get-value ([A-Z][A-Z0-9_]*)/g))
    if (!declaredOutputs.includes(name))
      problems.push(`'azd env get-value ${name}': no such output`);
  for (const [, placeholder] of section.matchAll(/<([A-Z][A-Z0-9_]*)>/g))
    if (!declaredOutputs.includes(placeholder))
      problems.push(`<${placeholder}> is not an output of the template`);
  for (const [, list] of section.matchAll(/--parameters((?:\s+\w+=\S+)+)/g))
    for (const [, name] of list.matchAll(/(\w+)=/g))
      if (!declared.includes(name))
        problems.push(`--parameters ${name}=...: main.bicep has no such parameter`);
  return [...new Set(problems)];
}

const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
const parametersFile = readFileSync(path.join(ROOT, "infra/main.parameters.json"), "utf8");
let template: ArmTemplate;

/** The template with a parameter renamed (its definition kept). */
function renameParameter(from: string, to: string): ArmTemplate {
  const renamed = copy(template);
  renamed.parameters[to] = renamed.parameters[from];
  delete renamed.parameters[from];
  return renamed;
}

describeCompiled("the compiled template and the README", () => {
  beforeAll(async () => {
    template = await compileTemplate();
  }, 120_000);

  describe("README 'Deploy to Azure'", () => {
    it("names only parameters, azd variables and outputs the template has, and documents all", () => {
      expect(readmeDeployProblems(readme, template, parametersFile)).toEqual([]);
    });

    it("checker: catches a parameter, a variable or an output that does not exist", () => {
      const wrong = readme
        .replace("--parameters environmentName=relay-prod", "--parameters envName=relay-prod")
        .replace("azd env set DATA_SERVICE_AUTH entra", "azd env set DATA_SERVICE_MODE entra")
        .replace("azd env get-value RELAY_BASE_URL", "azd env get-value RELAY_URL")
        .replace("--name <FUNCTION_APP_NAME> --src", "--name <FUNCTION_APP> --src");
      expect(readmeDeployProblems(wrong, template, parametersFile)).toEqual([
        "'azd env set DATA_SERVICE_MODE': main.parameters.json does not read DATA_SERVICE_MODE",
        "'azd env get-value RELAY_URL': no such output",
        "<FUNCTION_APP> is not an output of the template",
        "--parameters envName=...: main.bicep has no such parameter",
      ]);
    });

    it("checker: catches a parameter or output the template gained but the README lacks", () => {
      const gained = renameParameter("resourceGroupName", "resourceGroup");
      gained.outputs.RESOURCE_GROUP_ID = gained.outputs.RESOURCE_GROUP;
      delete gained.outputs.RESOURCE_GROUP;
      expect(readmeDeployProblems(readme, gained, parametersFile)).toEqual([
        "Parameters table: resourceGroupName is not a parameter of main.bicep",
        "parameter resourceGroup is not documented",
        "Outputs table: RESOURCE_GROUP is not an output",
        "output RESOURCE_GROUP_ID is not documented",
        "<RESOURCE_GROUP> is not an output of the template",
      ]);
    });

    it("checker: catches a documented default that differs from the template's", () => {
      const changed = copy(template);
      changed.parameters.requestTtlDays.defaultValue = 14;
      expect(readmeDeployProblems(readme, changed, parametersFile)).toEqual([
        "Parameters table: requestTtlDays's default is 14, not `30`",
      ]);
    });
  });

  describe("main.parameters.json", () => {
    it("maps only main.bicep's parameters, with the same defaults", () => {
      expect(parametersFileProblems(template, parametersFile)).toEqual([]);
    });

    it("checker: catches a default or a parameter name that drifted", () => {
      const drifted = parametersFile.replace(
        "RELAY_STUCK_AFTER_MINUTES=15",
        "RELAY_STUCK_AFTER_MINUTES=10",
      );
      expect(parametersFileProblems(template, drifted)).toEqual([
        "stuckAfterMinutes: azd default 10 differs from main.bicep's 15",
      ]);
      const renamed = parametersFile.replace('"dataServiceScope"', '"dataScope"');
      expect(parametersFileProblems(template, renamed)).toEqual([
        "main.parameters.json sets dataScope, which main.bicep does not declare",
      ]);
    });
  });
});
