/**
 * dm-flow-relay: the relay's admin tasks from a terminal (register a store, link or create a
 * workflow's flow, fetch its template, read and redrive requests), over the admin API.
 */
import fs from "node:fs";
import path from "node:path";
import { Command, CommanderError, Option } from "commander";
import { version } from "../package.json";
import { DEFAULT_PORT, resolveConnection, type ConnectionOptions } from "./connection";
import { fields, table, type Row } from "./output";
import { CliFailure, RelayApi, type FailureReport } from "./relay-api";

interface GlobalOptions extends ConnectionOptions {
  json?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
const segment = encodeURIComponent;

function api(command: Command): { relay: RelayApi; json: boolean } {
  const options = command.optsWithGlobals<GlobalOptions>();
  return { relay: new RelayApi(resolveConnection(options)), json: !!options.json };
}

/**
 * Fails with the API's 404 for a store that is not registered, so that reading an unknown
 * store's requests does not look like a store with none.
 */
async function requireStore(relay: RelayApi, storeId: string): Promise<void> {
  await relay.send("GET", `stores/${segment(storeId)}/power-automate`);
}

/** Prints JSON for scripts, or the human form. */
function print(json: boolean, body: unknown, human: () => string): void {
  process.stdout.write(`${json ? JSON.stringify(body, null, 2) : human()}\n`);
}

/** A link's answer: the trigger URL is the one thing the administrator needs. */
function describeLink(link: Row): string {
  const flow = (link.flow ?? {}) as Row;
  const cloudFlow = link.cloudFlow as Row | undefined;
  const configured = (link.directoryManager as Row | undefined)?.configured === true;
  return [
    fields({ ...link, flow: flow.redactedUrl }, [
      "storeId",
      "workflowId",
      "workflowName",
      "approvers",
      "flowAuth",
      "flow",
    ]),
    ...(cloudFlow ? [fields(cloudFlow, ["flowId", "environmentId", "name", "state"])] : []),
    ...(link.directoryManager ? [fields(link, ["directoryManager"])] : []),
    ...(link.triggerUrl
      ? [
          "",
          configured
            ? "Directory Manager's workflow now posts to the relay's trigger URL:"
            : "Paste this into the workflow's Request URL in Directory Manager:",
          String(link.triggerUrl),
        ]
      : []),
  ].join("\n");
}

/** The request's status for people: who decided, where the flow run is, what comes next. */
function describeStatus(status: Row): string {
  const decision = status.decision as Row | undefined;
  const approver = decision?.approver as Row | undefined;
  const history = (status.history as Row[] | undefined) ?? [];
  // Entries may carry more than at/state/detail (who acted, for instance): show whatever they hold.
  const historyColumns = [
    ...new Set(["at", "state", "detail", ...history.flatMap((entry) => Object.keys(entry))]),
  ];
  return [
    fields(
      {
        ...status,
        decision: decision?.outcome,
        approver:
          approver &&
          ([approver.displayName, approver.email && `<${String(approver.email)}>`]
            .filter(Boolean)
            .join(" ") ||
            undefined),
        comments: decision?.comments,
        respondedAt: decision?.respondedAt,
        flowRunId: status.flowRun ? undefined : status.flowRunId,
      },
      [
        "storeId",
        "workflowId",
        "requestId",
        "state",
        "decision",
        "approver",
        "comments",
        "respondedAt",
        "dmOutcome",
        "flowRunId",
        "flowRun",
        "attempts",
        "redrives",
        "nextAttemptAt",
        "lastError",
        "createdAt",
        "updatedAt",
      ],
    ),
    "",
    table(history, historyColumns),
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

/** The program; commander's own messages (usage errors) go to `writeErr`. */
export function buildProgram(writeErr: (text: string) => void): Command {
  const program = new Command("dm-flow-relay")
    .description("Administer dm-flow-relay: stores, workflow links, flows and requests")
    .version(version, "-V, --version", "print the CLI's version")
    .addOption(
      new Option(
        "--url <url>",
        `the relay's base URL (default: http://localhost:<RELAY_PORT or ${DEFAULT_PORT}>)`,
      ).env("RELAY_URL"),
    )
    .addOption(
      new Option(
        "--key <key>",
        "the relay's admin key (default for the local host: RELAY_LOCAL_KEY of local.settings.json)",
      ).env("RELAY_ADMIN_KEY"),
    )
    .addOption(
      new Option(
        "--scope <scope>",
        "sign in with Entra ID for the relay's API scope, e.g. api://dm-flow-relay/.default",
      ).env("RELAY_API_SCOPE"),
    )
    .addOption(
      new Option("--tenant <tenantId>", "the Entra tenant to sign in to").env(
        "RELAY_ADMIN_TENANT_ID",
      ),
    )
    .addOption(
      new Option(
        "--auth <mode>",
        "key (x-functions-key) or entra (bearer token); default: key when a key is given or found, entra when a scope is",
      ).choices(["key", "entra"]),
    )
    .option("--json", "print the API's JSON answer, and failures as JSON, for scripts")
    // Set before the commands are added, so that they inherit it.
    .exitOverride()
    .configureOutput({ writeErr });

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
    .addOption(configureDmOption())
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
            ...configureDm(options),
          },
        );
        print(json, body, () => describeLink(body));
      },
    );

  flowAnswerOptions(
    program
      .command("create-flow <storeId> <workflowId>")
      .description("create the workflow's flow in the store's environment, turn it on and link it")
      .addOption(configureDmOption()),
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
        { ...flowAnswers(options), ...configureDm(options) },
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
    .description("where a request stands: decision, approver, flow run, retries, history")
    .action(async (storeId: string, requestId: string, _options: unknown, command: Command) => {
      const { relay, json } = api(command);
      await requireStore(relay, storeId);
      const body = await relay.json(
        "GET",
        `stores/${segment(storeId)}/requests/${segment(requestId)}`,
      );
      print(json, body, () => describeStatus(body));
    });

  program
    .command("requests <storeId>")
    .description("list a store's requests, optionally in one state")
    .option(
      "--state <state>",
      "queued, flow-triggered, decided, applied, superseded, expired, flow-failed or apply-failed",
    )
    .action(async (storeId: string, options: { state?: string }, command: Command) => {
      const { relay, json } = api(command);
      await requireStore(relay, storeId);
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
    .description("queue a failed or stuck request again from the step it failed at or waits for")
    .action(async (storeId: string, requestId: string, _options: unknown, command: Command) => {
      const { relay, json } = api(command);
      await requireStore(relay, storeId);
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

const configureDmOption = () =>
  new Option(
    "--configure-dm",
    "also write the trigger URL into the workflow's route in Directory Manager",
  );

const configureDm = (options: Record<string, unknown>) =>
  options.configureDm === true ? { configureDirectoryManager: true } : {};

/** What a failure reports, whatever threw it. */
function failureOf(error: unknown, usage: string): { line: string; report: FailureReport } {
  if (error instanceof CliFailure)
    return { line: `dm-flow-relay: ${error.message}`, report: error.report };
  if (error instanceof CommanderError) {
    // Without a command, commander shows the help (as `usage`) and says only "(outputHelp)".
    const detail =
      error.code === "commander.help"
        ? "no command given: dm-flow-relay --help lists them"
        : error.message.replace(/^error: /, "");
    return {
      line: usage.trimEnd() || detail,
      report: { status: null, title: "Invalid usage", detail },
    };
  }
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { line: `dm-flow-relay: ${detail}`, report: { status: null, title: "Failed", detail } };
}

/**
 * Runs the CLI. A failure exits with code 1 and prints one line on stderr, or under --json
 * `{"error": {status, title, detail, errors?}}` on stdout.
 */
export async function main(argv: string[]): Promise<void> {
  let usage = "";
  const program = buildProgram((text) => {
    usage += text;
  });
  try {
    await program.parseAsync(argv);
  } catch (error) {
    // --help and --version end the same way, successfully.
    if (error instanceof CommanderError && error.exitCode === 0) return;
    const { line, report } = failureOf(error, usage);
    if (program.opts<GlobalOptions>().json)
      process.stdout.write(`${JSON.stringify({ error: report }, null, 2)}\n`);
    else process.stderr.write(`${line}\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) void main(process.argv);
