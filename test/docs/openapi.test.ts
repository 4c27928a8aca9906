/**
 * The OpenAPI document against what the app really registers (read the way the local host reads
 * it, from functions/index.ts) and against the status codes the contract names for each route.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { ROUTES, openApiDocument } from "../../shared/http/openapi";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const run = promisify(execFile);

/** The status codes docs/contract.md names per function; each must be in the document. */
const CONTRACT_STATUSES: Record<string, number[]> = {
  registerStore: [200, 400],
  getStore: [200, 404],
  linkWorkflow: [200, 400, 409, 502],
  getLink: [200, 404],
  unlinkWorkflow: [204, 404],
  flowTemplate: [200, 400, 404],
  createFlow: [200, 400, 409, 502],
  trigger: [202, 400, 401, 404, 413, 415],
  claim: [200, 400, 401, 404, 409],
  decision: [200, 202, 400, 401, 404, 409],
  requestStatus: [200, 404],
  listRequests: [200, 400],
  redrive: [202, 404, 409],
  health: [200, 503],
  openapi: [200],
};

interface HttpRegistration {
  name: string;
  method: string;
  path: string;
  authLevel: string;
}

/** What the app registers, as `tsx dev/host/main.ts --print-metadata` prints it. */
async function httpRegistrations(): Promise<HttpRegistration[]> {
  const appRoot = fs.mkdtempSync(path.join(os.tmpdir(), "openapi-app-"));
  fs.writeFileSync(path.join(appRoot, "host.json"), JSON.stringify({ version: "2.0" }));
  try {
    const { stdout } = await run(
      process.execPath,
      [
        "--import",
        "tsx",
        path.join(REPO_ROOT, "dev/host/main.ts"),
        "--app-root",
        appRoot,
        "--entry",
        path.join(REPO_ROOT, "functions/index.ts"),
        "--print-metadata",
      ],
      {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env.PATH,
          AzureWebJobsStorage: "UseDevelopmentStorage=true",
          ServiceBusConnection:
            "Endpoint=sb://localhost;SharedAccessKeyName=a;SharedAccessKey=b;UseDevelopmentEmulator=true",
          RELAY_PUBLIC_BASE_URL: "https://relay.example.com",
          RELAY_SIGNING_KEY: "k".repeat(40),
          DATA_SERVICE_AUTH: "none",
          RELAY_ADMIN_AUTH: "key",
        },
      },
    );
    const metadata = JSON.parse(stdout) as {
      name: string;
      bindings: Record<
        string,
        { type?: string; route?: string; methods?: string[]; authLevel?: string }
      >;
    }[];
    return metadata.flatMap((fn) =>
      Object.values(fn.bindings)
        .filter((binding) => binding.type?.toLowerCase() === "httptrigger")
        .flatMap((binding) =>
          (binding.methods ?? ["GET", "POST"]).map((method) => ({
            name: fn.name,
            method: method.toUpperCase(),
            // Route constraints ({id:int}) are not part of the path.
            path: `/${binding.route ?? fn.name}`.replace(/\{(\w+):[^}]+\}/g, "{$1}"),
            authLevel: binding.authLevel ?? "anonymous",
          })),
        ),
    );
  } finally {
    fs.rmSync(appRoot, { recursive: true, force: true });
  }
}

const document = openApiDocument() as {
  paths: Record<
    string,
    Record<string, { operationId: string; responses: Record<string, { content?: object }> }>
  >;
};
const documented = Object.entries(document.paths).flatMap(([route, methods]) =>
  Object.entries(methods).map(([method, operation]) => ({
    key: `${method.toUpperCase()} ${route}`,
    operation,
  })),
);

let registrations: HttpRegistration[];
beforeAll(async () => {
  registrations = await httpRegistrations();
}, 60_000);

describe("the OpenAPI document", () => {
  it("has every route the app registers, under the function's name and its auth level", () => {
    expect(registrations.length).toBeGreaterThan(10);
    const missing = registrations
      .filter(
        (registration) =>
          !documented.some(
            ({ key, operation }) =>
              key === `${registration.method} ${registration.path}` &&
              operation.operationId === registration.name,
          ),
      )
      .map(
        (r) =>
          `${r.method} ${r.path} (function ${r.name}) is registered but not in shared/http/openapi.ts ROUTES`,
      );
    expect(missing).toEqual([]);
    const levels = registrations.map((r) => `${r.name}: ${r.authLevel}`);
    expect(levels).toEqual(
      registrations.map(
        (r) => `${r.name}: ${ROUTES.find((route) => route.operationId === r.name)?.authLevel}`,
      ),
    );
  });

  it("documents no route the app does not register", () => {
    const registered = new Set(registrations.map((r) => `${r.method} ${r.path}`));
    const extra = documented
      .filter(({ key }) => !registered.has(key))
      .map(({ key }) => `${key} is in the document but no function registers it`);
    expect(extra).toEqual([]);
  });

  it("names every status code of the contract for each route, errors as problem+json", () => {
    const lacking: string[] = [];
    for (const { key, operation } of documented) {
      const statuses = Object.keys(operation.responses).map(Number);
      const expected = [
        ...(CONTRACT_STATUSES[operation.operationId] ?? []),
        // Path ids are validated (400), admin routes need a key or a token with the role.
        ...(key.includes("{") ? [400] : []),
        ...(ROUTES.find((route) => route.operationId === operation.operationId)?.authLevel ===
        "admin"
          ? [401, 403]
          : []),
      ];
      if (!statuses.some((status) => status >= 200 && status < 300))
        lacking.push(`${key}: no success answer`);
      for (const status of expected)
        if (!statuses.includes(status)) lacking.push(`${key}: no ${status}`);
      for (const [status, response] of Object.entries(operation.responses))
        if (Number(status) >= 400 && operation.operationId !== "health")
          expect({ key, status, content: Object.keys(response.content ?? {}) }).toEqual({
            key,
            status,
            content: ["application/problem+json"],
          });
    }
    expect(lacking).toEqual([]);
  });

  it("takes its request bodies from the schemas the use cases validate with", () => {
    const schemas = (openApiDocument() as any).components.schemas;
    expect(schemas.LinkInput.properties.requestUrl).toMatchObject({
      type: "string",
      maxLength: 4096,
    });
    expect(schemas.LinkInput.properties.approvers).toMatchObject({
      maxItems: 50,
      items: { maxLength: 320, format: "email" },
    });
    expect(schemas.StoreRegistrationInput.required).toEqual([
      "organizationCode",
      "region",
      "dataServiceUrl",
      "identityStoreId",
      "tenantId",
      "clientId",
    ]);
    expect(schemas.ClaimInput.properties.runId).toMatchObject({
      pattern: "^[A-Za-z0-9._-]{1,128}$",
    });
    expect(openApiDocument("https://relay.example.com").servers).toEqual([
      { url: "https://relay.example.com/api" },
    ]);
  });

  it("is what docs/openapi.json and docs/settings.md hold (npm run docs)", async () => {
    const check = await run(process.execPath, ["--import", "tsx", "dev/docs.ts", "--check"], {
      cwd: REPO_ROOT,
    }).then(
      ({ stdout }) => stdout,
      (error: { stdout: string; stderr: string }) => error.stdout + error.stderr,
    );
    expect(check).toBe("");
  }, 60_000);
});
