/**
 * What flow setup stores and answers about the link: a flow created from the relay's template is
 * linked as one that claims (CONTRACT 4b, 6b), and a link without approvers is a 409 naming
 * them. The use cases run over in-memory repositories and a Power Platform that says yes.
 */
import { createFlow, getFlowTemplate } from "../../shared/app/flow-setup";
import type { RelayDeps } from "../../shared/app/deps";
import { RelayProblem } from "../../shared/app/errors";
import type { StoreRegistration, WorkflowLink } from "../../shared/domain/model";
import type { LinkRepository, PowerPlatformClient } from "../../shared/ports";

const REGISTRATION: StoreRegistration = {
  storeId: "contoso",
  organizationCode: "contoso",
  region: "crm4",
  dataServiceUrl: "https://dm.contoso.com/GroupIDDataService",
  identityStoreId: 1,
  tenantId: "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
  clientId: "7d9c0a51-2b1e-4c3a-9f00-1a2b3c4d5e6f",
  updatedAt: "2026-01-01T00:00:00.000Z",
};
const FLOW_URL =
  "https://0a1b2c.environment.api.powerplatform.com/powerautomate/automations/direct/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=created-sig";

function depsWith(links: Map<string, WorkflowLink>): RelayDeps {
  const linkRepository: LinkRepository = {
    get: async (storeId, workflowId) => links.get(`${storeId}/${workflowId}`),
    put: async (link) =>
      void links.set(`${link.storeId}/${link.workflowId}`, structuredClone(link)),
    delete: async (storeId, workflowId) => links.delete(`${storeId}/${workflowId}`),
  };
  const powerPlatform: PowerPlatformClient = {
    environmentId: async () => ({ ok: true, value: "env-1" }),
    saveFlow: async () => ({ ok: true, value: undefined }),
    activateFlow: async () => ({ ok: true, value: undefined }),
    triggerUrl: async () => ({ ok: true, value: FLOW_URL }),
  };
  const unused = new Proxy(
    {},
    {
      get: (_target, name) => {
        throw new Error(`flow setup should not use ${String(name)}`);
      },
    },
  );
  return {
    stores: {
      get: async (storeId) => (storeId === "contoso" ? REGISTRATION : undefined),
      put: async () => undefined,
    },
    links: linkRepository,
    requests: unused as RelayDeps["requests"],
    queue: unused as RelayDeps["queue"],
    flows: unused as RelayDeps["flows"],
    dataService: unused as RelayDeps["dataService"],
    powerPlatform,
    tokens: unused as RelayDeps["tokens"],
    probes: [],
    clock: { now: () => new Date("2026-11-28T10:00:00Z") },
    random: () => 0.5,
    settings: {
      publicBaseUrl: "https://relay.contoso.com",
      flowUrlPolicy: {
        allowedHosts: ["*.environment.api.powerplatform.com"],
        allowLoopback: false,
      },
      requireSecurityServiceUrl: false,
      flowRetry: { maxAttempts: 8, baseMs: 100, maxMs: 400 },
      applyRetry: { maxAttempts: 8, baseMs: 100, maxMs: 400 },
    },
  };
}

const query = (values: Record<string, string> = {}) => new URLSearchParams(values);

it("links a created flow as one that claims, keeping that when it is created again", async () => {
  const links = new Map<string, WorkflowLink>();
  const deps = depsWith(links);
  const created = await createFlow(
    deps,
    "contoso",
    "group-join",
    JSON.stringify({ approvers: ["alice@contoso.com"] }),
  );
  expect(created.cloudFlow.state).toBe("on");
  expect(links.get("contoso/group-join")).toMatchObject({
    requestUrl: FLOW_URL,
    approvers: ["alice@contoso.com"],
    claims: true,
  });
  await createFlow(deps, "contoso", "group-join", "{}");
  expect(links.get("contoso/group-join")?.claims).toBe(true);
});

it("answers 409 naming approvers for a link without them, in the query or the body", async () => {
  const links = new Map<string, WorkflowLink>();
  links.set("contoso/bare", {
    storeId: "contoso",
    workflowId: "bare",
    approvers: [],
    flowAuth: "sas",
    requestUrl: FLOW_URL,
    triggerKey: "key",
    updatedAt: "2026-01-01T00:00:00.000Z",
  });
  const deps = depsWith(links);
  const refusal = async (attempt: Promise<unknown>) => {
    const error = await attempt.then(
      () => undefined,
      (problem: unknown) => problem,
    );
    expect(error).toBeInstanceOf(RelayProblem);
    return error as RelayProblem;
  };

  const fromQuery = await refusal(getFlowTemplate(deps, "contoso", "bare", query()));
  expect(fromQuery.kind).toBe("conflict");
  expect(fromQuery.detail).toContain("?approvers=");
  expect(fromQuery.errors.map((error) => error.path)).toEqual(["/query/approvers"]);

  const fromBody = await refusal(createFlow(deps, "contoso", "bare", "{}"));
  expect(fromBody.kind).toBe("conflict");
  expect(fromBody.errors.map((error) => error.path)).toEqual(["/approvers"]);

  const unlinked = await refusal(getFlowTemplate(deps, "contoso", "nowhere", query()));
  expect(unlinked.kind).toBe("not-found");

  const answered = await getFlowTemplate(
    deps,
    "contoso",
    "bare",
    query({ approvers: "carol@contoso.com" }),
  );
  expect(answered.format).toBe("definition");
});
