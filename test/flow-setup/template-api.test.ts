/**
 * CONTRACT section 7 through the local host: the template of a linked workflow, played as Power
 * Automate would run it against a real relay request, and the same flow as a solution zip.
 */
import JSZip from "jszip";
import {
  CLAIMED_CONDITION,
  CLAIM_ACTION,
  CLAIM_REFUSED_CONDITION,
  cloudFlowId,
} from "../../shared/domain/flow-template";
import { simulateRun, type CallAnswer } from "../support/flow-run-simulator";
import {
  ADMIN_KEY,
  startRelayEnvironment,
  type RelayEnvironment,
} from "../support/relay-environment";
import { evaluateValue, type RunContext } from "../support/workflow-expressions";

let env: RelayEnvironment;
beforeAll(async () => {
  // Nobody answers in the simulated flow: the test plays the template's own callback step.
  env = await startRelayEnvironment({ flow: { approver: () => undefined } });
  await env.registerStore("contoso");
  await env.link("contoso", "group-join", {
    workflowName: "Group join approval",
    approvers: ["alice@contoso.com", "bob@contoso.com"],
  });
}, 60_000);
afterAll(() => env?.stop());

/** The parts of a served template the tests read. */
interface ServedAction {
  type: string;
  inputs: { parameters: Record<string, unknown> };
  actions?: Record<string, ServedAction>;
}
interface ServedTemplate {
  definition: {
    triggers: { manual: { inputs: { triggerAuthenticationType: string } } };
    actions: Record<string, ServedAction>;
  };
  connectionReferences: Record<string, unknown>;
}

/** An action inside the Claimed condition, where the approval and the callback are. */
const claimedStep = (template: ServedTemplate, name: string): ServedAction => {
  const step = template.definition.actions[CLAIMED_CONDITION]?.actions?.[name];
  if (!step) throw new Error(`no ${name} in ${CLAIMED_CONDITION}`);
  return step;
};

const templateOf = async (route: string): Promise<ServedTemplate> => {
  const answer = await env.admin("GET", route);
  expect(answer.status).toBe(200);
  return answer.body as ServedTemplate;
};

const download = async (route: string) => {
  const response = await fetch(`${env.baseUrl}/api/${route}`, {
    headers: { "x-functions-key": ADMIN_KEY },
  });
  return { response, bytes: Buffer.from(await response.arrayBuffer()) };
};

describe("GET .../flow-template", () => {
  it("answers the linked workflow's flow: definition and connection references", async () => {
    const template = await templateOf("stores/contoso/workflows/group-join/flow-template");
    expect(template.definition.triggers.manual).toMatchObject({ type: "Request", kind: "Http" });
    expect(template.definition.triggers.manual.inputs.triggerAuthenticationType).toBe("All");
    const approval = claimedStep(template, "Start_and_wait_for_an_approval");
    expect(approval.inputs.parameters["WebhookApprovalCreationInput/assignedTo"]).toBe(
      "alice@contoso.com;bob@contoso.com",
    );
    expect(Object.keys(template.connectionReferences)).toEqual(["shared_approvals"]);
  });

  it("answers 404 for a workflow that is not linked, unless approvers are given", async () => {
    const missing = await env.admin("GET", "stores/contoso/workflows/unlinked/flow-template");
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toContain("application/problem+json");
    expect(missing.body.detail).toContain("?approvers=");
    const template = await templateOf(
      "stores/contoso/workflows/unlinked/flow-template?approvers=carol@contoso.com,dan@contoso.com&workflowName=New%20group&flowAuth=entra",
    );
    const approval = claimedStep(template, "Start_and_wait_for_an_approval");
    expect(approval.inputs.parameters["WebhookApprovalCreationInput/assignedTo"]).toBe(
      "carol@contoso.com;dan@contoso.com",
    );
    expect(approval.inputs.parameters["WebhookApprovalCreationInput/title"]).toContain("New group");
    expect(template.definition.triggers.manual.inputs.triggerAuthenticationType).toBe("Tenant");
  });

  it("answers 409 naming approvers for a link without approvers, and takes ?approvers=", async () => {
    await env.link("contoso", "no-approvers", { approvers: [] });
    const route = "stores/contoso/workflows/no-approvers/flow-template";
    for (const format of ["definition", "solution"]) {
      const answer = await env.admin("GET", `${route}?format=${format}`);
      expect(answer.status).toBe(409);
      expect(answer.headers.get("content-type")).toContain("application/problem+json");
      expect(answer.body.detail).toContain("?approvers=");
      expect(answer.body.errors).toEqual([
        { path: "/query/approvers", message: expect.stringContaining("approvers") },
      ]);
    }
    const template = await templateOf(`${route}?approvers=carol@contoso.com`);
    const approval = claimedStep(template, "Start_and_wait_for_an_approval");
    expect(approval.inputs.parameters["WebhookApprovalCreationInput/assignedTo"]).toBe(
      "carol@contoso.com",
    );
  });

  it("refuses a bad query naming each parameter", async () => {
    const answer = await env.admin(
      "GET",
      "stores/contoso/workflows/group-join/flow-template?format=pdf&approvers=nope&flowAuth=basic",
    );
    expect(answer.status).toBe(400);
    expect(answer.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      "/query/approvers/0",
      "/query/flowAuth",
      "/query/format",
    ]);
  });

  it("needs the admin key", async () => {
    const answer = await env.call("GET", "/api/stores/contoso/workflows/group-join/flow-template");
    expect(answer.status).toBe(401);
  });
});

describe("the template's steps, played against a real relay request", () => {
  it("sends what the relay accepts, and the decision is applied", async () => {
    const template = await templateOf("stores/contoso/workflows/group-join/flow-template");
    const triggered = await env.call(
      "POST",
      await env.link("contoso", "group-join", {
        workflowName: "Group join approval",
        approvers: ["alice@contoso.com", "bob@contoso.com"],
      }),
      {
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ WorkflowRequestID: 4242, group: "Finance" }),
      },
    );
    expect(triggered.status).toBe(202);
    await env.waitForState("contoso", "4242", "flow-triggered");
    const call = env.flow.calls.find((c) => c.headers["x-relay-request-id"] === "4242");
    if (!call) throw new Error("the relay never called the flow");
    // The simulated flow's run got the call (and claimed, where the relay offers the claim);
    // the steps played here are that run's, so they carry its name.
    await env.flow.waitFor((stats) => stats.byRequest["4242"]?.approvalsStarted === 1);
    const runName = env.flow.runs.find((r) => r.requestId === "4242")?.runId as string;

    // What "Start and wait for an approval" outputs when Alice approves.
    const approvalOutput = {
      outcome: "Approve",
      responses: [
        {
          responder: { email: "alice@contoso.com", displayName: "Alice" },
          approverResponse: "Approve",
          comments: "welcome",
          responseDate: "2026-11-28T10:00:00Z",
        },
      ],
    };
    const run: RunContext = {
      trigger: {
        headers: Object.fromEntries(
          Object.entries(call.headers).map(([name, value]) => [name, String(value)]),
        ),
        body: JSON.parse(call.body),
      },
      workflow: {
        name: "5f0c3a1e-6d1b-4c55-9a8e-0f1ce0d1f0a1",
        run: { name: runName },
        tags: { environmentName: "Default-3f2504e0-4f89-11d3-9a0c-0305e82c3301" },
      },
      actionBodies: { Start_and_wait_for_an_approval: approvalOutput },
    };
    const title = evaluateValue(
      claimedStep(template, "Start_and_wait_for_an_approval").inputs.parameters[
        "WebhookApprovalCreationInput/title"
      ],
      run,
    );
    expect(title).toBe("Group join approval: request 4242");

    const http = evaluateValue(
      claimedStep(template, "Send_the_decision_to_the_relay").inputs,
      run,
    ) as {
      method: string;
      uri: string;
      headers: Record<string, string>;
      body: unknown;
    };
    expect(http.uri).toBe(`${env.baseUrl}/api/stores/contoso/requests/4242/decision`);
    expect(http.headers["x-relay-run-id"]).toBe(runName);
    const sent = await env.call(http.method, http.uri, {
      headers: http.headers,
      body: JSON.stringify(http.body),
    });
    expect(sent).toMatchObject({
      status: 202,
      body: { requestId: "4242", decision: "approved", status: "decided" },
    });
    const applied = await env.waitForState("contoso", "4242", "applied");
    expect(applied.decision).toMatchObject({
      outcome: "approved",
      approver: { email: "alice@contoso.com" },
      comments: "welcome",
    });
  });
});

/** Tags balance and nest: enough to know a generated XML file is well-formed. */
function expectWellFormedXml(text: string): void {
  const open: string[] = [];
  for (const [tag] of text.matchAll(/<[^>]+>/g)) {
    if (tag.startsWith("<?")) continue;
    const name = /^<\/?([A-Za-z_][\w.:-]*)/.exec(tag)?.[1];
    if (!name) throw new Error(`malformed tag ${tag}`);
    if (tag.startsWith("</")) expect(open.pop()).toBe(name);
    else if (!tag.endsWith("/>")) open.push(name);
  }
  expect(open).toEqual([]);
  expect(text.replace(/<[^>]+>/g, "")).not.toMatch(/[<>]|&(?!(amp|lt|gt|quot|apos);)/);
}

const elementText = (xml: string, name: string): string[] =>
  [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, "g"))].map((match) => match[1] ?? "");

describe("GET .../flow-template?format=solution", () => {
  const route = "stores/contoso/workflows/group-join/flow-template?format=solution";

  it("is an unmanaged solution zip laid out as pac solution unpack lays one out", async () => {
    const { response, bytes } = await download(route);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/zip");
    expect(response.headers.get("content-disposition")).toMatch(
      /^attachment; filename="DmRelay_contoso_group_join_[0-9a-f]{8}_1_0_0_0\.zip"$/,
    );

    const zip = await JSZip.loadAsync(bytes);
    const flowId = cloudFlowId("contoso", "group-join");
    const flowFile = `Workflows/DMapprovalGroupjoinapproval-${flowId.toUpperCase()}.json`;
    expect(Object.keys(zip.files).sort()).toEqual(
      ["[Content_Types].xml", "customizations.xml", "solution.xml", flowFile].sort(),
    );
    const read = (path: string) => zip.file(path)?.async("string") as Promise<string>;

    const contentTypes = await read("[Content_Types].xml");
    expectWellFormedXml(contentTypes);
    expect(contentTypes).toContain(
      'xmlns="http://schemas.openxmlformats.org/package/2006/content-types"',
    );
    expect(contentTypes).toMatch(/<Default Extension="json" ContentType="[^"]+" \/>/);

    const solution = await read("solution.xml");
    expectWellFormedXml(solution);
    expect(solution).toMatch(/^<\?xml version="1.0" encoding="utf-8"\?>\n<ImportExportXml /);
    expect(elementText(solution, "UniqueName")).toEqual([
      expect.stringMatching(/^DmRelay_contoso_group_join_[0-9a-f]{8}$/),
      "dmflowrelay",
    ]);
    expect(solution).toContain(
      '<LocalizedName description="DM relay: DM approval: Group join approval" languagecode="1033" />',
    );
    expect(elementText(solution, "Version")).toEqual(["1.0.0.0"]);
    expect(elementText(solution, "Managed")).toEqual(["0"]);
    expect(elementText(solution, "CustomizationPrefix")).toEqual(["dmrelay"]);
    expect([...solution.matchAll(/<RootComponent [^>]*\/>/g)].map((m) => m[0])).toEqual([
      `<RootComponent type="29" id="{${flowId}}" behavior="0" />`,
    ]);

    const customizations = await read("customizations.xml");
    expectWellFormedXml(customizations);
    expect(customizations).toContain(
      `<Workflow WorkflowId="{${flowId}}" Name="DM approval: Group join approval">`,
    );
    expect(elementText(customizations, "JsonFileName")).toEqual([`/${flowFile}`]);
    expect(elementText(customizations, "Category")).toEqual(["5"]);
    expect(elementText(customizations, "Type")).toEqual(["1"]);
    expect(elementText(customizations, "PrimaryEntity")).toEqual(["none"]);
    expect(elementText(customizations, "connectorid")).toEqual([
      "/providers/Microsoft.PowerApps/apis/shared_approvals",
    ]);

    const flow = JSON.parse(await read(flowFile));
    const template = await templateOf("stores/contoso/workflows/group-join/flow-template");
    expect(flow).toEqual({
      properties: {
        connectionReferences: template.connectionReferences,
        definition: template.definition,
      },
      schemaVersion: "1.0.0.0",
    });
    expect(customizations).toContain(
      `<connectionreference connectionreferencelogicalname="${flow.properties.connectionReferences.shared_approvals.connection.connectionReferenceLogicalName}">`,
    );

    // The packed flow claims first and ends itself on every path but the approval's.
    const packed = flow.properties.definition;
    expect(Object.keys(packed.actions)).toEqual([
      CLAIM_ACTION,
      CLAIMED_CONDITION,
      CLAIM_REFUSED_CONDITION,
    ]);
    const runPacked = (claim: CallAnswer) =>
      simulateRun(packed, {
        trigger: {
          headers: {
            "x-relay-request-id": "1",
            "x-relay-store-id": "contoso",
            "x-relay-claim-url": "https://relay.example/claim",
            "x-relay-callback-url": "https://relay.example/decision",
            "x-relay-callback-token": "token",
          },
          body: {},
        },
        workflow: { name: "flow", run: { name: "run" }, tags: { environmentName: "env" } },
        answer: (action) =>
          action === CLAIM_ACTION ? claim : { statusCode: 200, body: { outcome: "Approve" } },
      });
    expect((await runPacked({ statusCode: 200, body: { proceed: true } })).status).toBe(
      "Succeeded",
    );
    expect((await runPacked({ statusCode: 409 })).status).toBe("Cancelled");
    expect((await runPacked({ statusCode: 500 })).status).toBe("Failed");
  });

  it("zips to the same bytes again, and to other ids for another workflow", async () => {
    const first = await download(route);
    const second = await download(route);
    expect(second.bytes.equals(first.bytes)).toBe(true);

    const other = await download(
      "stores/contoso/workflows/other-flow/flow-template?format=solution&approvers=carol@contoso.com",
    );
    const solution = await (
      await JSZip.loadAsync(other.bytes)
    )
      .file("solution.xml")
      ?.async("string");
    expect(solution).toContain(`{${cloudFlowId("contoso", "other-flow")}}`);
    expect(cloudFlowId("contoso", "other-flow")).not.toBe(cloudFlowId("contoso", "group-join"));
    expect(cloudFlowId("contoso", "group-join")).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});
