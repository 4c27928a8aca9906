/**
 * dm-flow-relay: the relay's admin tasks from a terminal (register a store, link or create a
 * workflow's flow, fetch its template, read and redrive requests), over the admin API.
 */
import fs from "node:fs";
import path from "node:path";
import { Command, Option } from "commander";
import { fields, table, type Row } from "./output";
import { CliFailure, RelayApi } from "./relay-api";

interface GlobalOptions {
  url: string;
  key?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
const segment = encodeURIComponent;

function api(command: Command): { relay: RelayApi; json: boolean } {
  const options = command.optsWithGlobals<GlobalOptions>();
  if (!options.key) throw new CliFailure("no admin key: pass --key or set RELAY_ADMIN_KEY");
  return { relay: new RelayApi({ url: options.url, key: options.key }), json: !!options.json };
}

/** Prints JSON for scripts, or the human form. */
function print(json: boolean, body: unknown, human: () => string): void {
  process.stdout.write(`${json ? JSON.stringify(body, null, 2) : human()}\n`);
}

/** A link's answer: the trigger URL is the one thing the administrator needs. */
function describeLink(link: Row): string {
  const flow = (link.flow ?? {}) as Row;
  const lines = fields({ ...link, flow: flow.redactedUrl, cloudFlow: undefined }, [
    "storeId",
    "workflowId",
    "workflowName",
    "approvers",
    "flowAuth",
    "flow",
  ]);
  const cloudFlow = link.cloudFlow as Row | undefined;
  return [
    lines,
    ...(cloudFlow ? [fields(cloudFlow, ["flowId", "environmentId", "name", "state"])] : []),
    ...(link.triggerUrl
      ? [
          "",
          "Paste this into the workflow's Request URL in Directory Manager:",
          String(link.triggerUrl),
        ]
      : []),
  ].join("\n");
}

const flowAuthOption = () =>
  new Option("--flow-auth <mode>", "how the relay calls the flow").choices(["sas", "entra"]);

/** What create-flow and template may say about the flow; the stored link fills in the rest. */
function flowAnswerOptions(command: Command): Command {
  return command
    .option("--name <workflowName>", "the workflow's name (default: the link's)")
    .option("--approver <email>", "an approver (repeat for several; default: the link's)", collect)
    .addOption(flowAuthOption())
    .option("--connection-reference <logicalName>", "Approvals connection reference to use");
}

export function buildProgram(): Command {
  const program = new Command("dm-flow-relay")
    .description("Administer dm-flow-relay: stores, workflow links, flows and requests")
    .addOption(
      new Option("--url <url>", "the relay's base URL")
        .env("RELAY_URL")
        .default("http://localhost:7071"),
    )
    .addOption(new Option("--key <key>", "the relay's admin key").env("RELAY_ADMIN_KEY"))
    .option("--json", "print the API's JSON answer, for scripts");

  program
    .command("register-store <storeId>")
    .description("register an identity store's Power Automate client (DM's Register Client)")
    .requiredOption("--organization <code>", "organization code: first label of the Dataverse host")
    .requiredOption("--region <region>", "region: second label (crm, crm4, crm11, ...)")
    .requiredOption("--data-service-url <url>", "DM Data service URL")
    .option("--security-service-url <url>", "DM Security service URL")
    .requiredOption("--identity-store-id <id>", "DM's numeric identity store id", Number)
    .requiredOption("--tenant-id <guid>", "Entra tenant of the registered app")
    .requiredOption("--client-id <guid>", "client id of the registered app")
    .action(async (storeId: string, options: Record<string, unknown>, command: Command) => {
      const { relay, json } = api(command);
      const body = await relay.json("PUT", `stores/${segment(storeId)}/power-automate`, {
        organizationCode: options.organization,
        region: options.region,
        dataServiceUrl: options.dataServiceUrl,
        ...(options.securityServiceUrl !== undefined && {
          securityServiceUrl: options.securityServiceUrl,
        }),
        identityStoreId: options.identityStoreId,
        tenantId: options.tenantId,
        clientId: options.clientId,
      });
      print(json, body, () => fields(body));
    });

  program
    .command("link <storeId> <workflowId>")
    .description("link a workflow to an existing flow's HTTP POST URL; prints the trigger URL")
    .requiredOption("--flow-url <url>", "the flow's HTTP POST URL")
    .option("--name <workflowName>", "the workflow's name")
    .option("--approver <email>", "an approver (repeat for several)", collect)
    .addOption(flowAuthOption())
    .option("--request-id-pointer <pointer>", "JSON pointer to DM's request id")
    .option("--rotate-trigger-key", "issue a new trigger URL")
    .action(
      async (
        storeId: string,
        workflowId: string,
        options: Record<string, unknown>,
        command: Command,
      ) => {
        const { relay, json } = api(command);
        const body = await relay.json(
          "PUT",
          `stores/${segment(storeId)}/workflows/${segment(workflowId)}/flow`,
          {
            requestUrl: options.flowUrl,
            ...flowAnswers(options),
            ...(options.requestIdPointer !== undefined && {
              requestIdPointer: options.requestIdPointer,
            }),
            ...(options.rotateTriggerKey === true && { rotateTriggerKey: true }),
          },
        );
        print(json, body, () => describeLink(body));
      },
    );

  flowAnswerOptions(
    program
      .command("create-flow <storeId> <workflowId>")
      .description("create the workflow's flow in the store's environment, turn it on and link it"),
  ).action(
    async (
      storeId: string,
      workflowId: string,
      options: Record<string, unknown>,
      command: Command,
    ) => {
      const { relay, json } = api(command);
      const body = await relay.json(
        "POST",
        `stores/${segment(storeId)}/workflows/${segment(workflowId)}/flow/create`,
        flowAnswers(options),
      );
      print(json, body, () => describeLink(body));
    },
  );

  flowAnswerOptions(
    program
      .command("template <storeId> <workflowId>")
      .description(
        "save the workflow's flow definition, or with --solution a solution zip to import",
      )
      .option("--solution", "a solution zip for Solutions > Import instead of the definition")
      .option(
        "-o, --out <file>",
        "where to save it (default: <workflowId>.flow.json or the zip's name)",
      ),
  ).action(
    async (
      storeId: string,
      workflowId: string,
      options: Record<string, unknown>,
      command: Command,
    ) => {
      const { relay, json } = api(command);
      const answers = flowAnswers(options);
      const query = new URLSearchParams({
        ...(options.solution === true && { format: "solution" }),
        ...(answers.workflowName !== undefined && { workflowName: answers.workflowName }),
        ...(answers.approvers !== undefined && { approvers: answers.approvers.join(",") }),
        ...(answers.flowAuth !== undefined && { flowAuth: answers.flowAuth }),
        ...(answers.connectionReferenceLogicalName !== undefined && {
          connectionReference: answers.connectionReferenceLogicalName,
        }),
      }).toString();
      const answer = await relay.send(
        "GET",
        `stores/${segment(storeId)}/workflows/${segment(workflowId)}/flow-template${query ? `?${query}` : ""}`,
      );
      const suggested = /filename="([^"]+)"/.exec(answer.headers["content-disposition"] ?? "")?.[1];
      const file = String(options.out ?? suggested ?? `${workflowId}.flow.json`);
      fs.writeFileSync(file, answer.bytes);
      const saved = { file: path.resolve(file), bytes: answer.bytes.length };
      print(json, saved, () => `saved ${saved.file} (${saved.bytes} bytes)`);
    },
  );

  program
    .command("status <storeId> <requestId>")
    .description("where a request stands, with its history")
    .action(async (storeId: string, requestId: string, _options: unknown, command: Command) => {
      const { relay, json } = api(command);
      const body = await relay.json(
        "GET",
        `stores/${segment(storeId)}/requests/${segment(requestId)}`,
      );
      print(json, body, () =>
        [
          fields({ ...body, decision: (body.decision as Row | undefined)?.outcome }, [
            "storeId",
            "workflowId",
            "requestId",
            "state",
            "decision",
            "flowRunId",
            "attempts",
            "lastError",
          ]),
          "",
          table((body.history as Row[] | undefined) ?? [], ["at", "state", "detail"]),
        ].join("\n"),
      );
    });

  program
    .command("requests <storeId>")
    .description("list a store's requests, optionally in one state")
    .option(
      "--state <state>",
      "queued, flow-triggered, decided, applied, superseded, flow-failed or apply-failed",
    )
    .action(async (storeId: string, options: { state?: string }, command: Command) => {
      const { relay, json } = api(command);
      const query = options.state ? `?state=${segment(options.state)}` : "";
      const body = await relay.json("GET", `stores/${segment(storeId)}/requests${query}`);
      const rows = ((body.requests as Row[] | undefined) ?? []).map((request) => ({
        ...request,
        decision: (request.decision as Row | undefined)?.outcome,
      }));
      print(json, body, () =>
        table(rows, ["requestId", "workflowId", "state", "decision", "lastError", "updatedAt"]),
      );
    });

  program
    .command("redrive <storeId> <requestId>")
    .description("queue a failed request again from the step that failed")
    .action(async (storeId: string, requestId: string, _options: unknown, command: Command) => {
      const { relay, json } = api(command);
      const body = await relay.json(
        "POST",
        `stores/${segment(storeId)}/requests/${segment(requestId)}/redrive`,
      );
      print(
        json,
        body,
        () => `request ${String(body.requestId)} redriven: now ${String(body.state)}`,
      );
    });

  return program;
}

/** The options create-flow and template share, as the API names them. */
function flowAnswers(options: Record<string, unknown>): {
  workflowName?: string;
  approvers?: string[];
  flowAuth?: string;
  connectionReferenceLogicalName?: string;
} {
  return {
    ...(options.name !== undefined && { workflowName: String(options.name) }),
    ...(options.approver !== undefined && { approvers: options.approver as string[] }),
    ...(options.flowAuth !== undefined && { flowAuth: String(options.flowAuth) }),
    ...(options.connectionReference !== undefined && {
      connectionReferenceLogicalName: String(options.connectionReference),
    }),
  };
}

/** Runs the CLI; a failure is one line on stderr and exit code 1. */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    const message =
      error instanceof CliFailure || error instanceof SyntaxError
        ? error.message
        : error instanceof Error
          ? `${error.name}: ${error.message}`
          : String(error);
    process.stderr.write(`dm-flow-relay: ${message}\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) void main(process.argv);
