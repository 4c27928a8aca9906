import { newRequest } from "../domain/lifecycle";
import type { RelayRequest } from "../domain/model";
import { MAX_TRIGGER_BYTES, resolveRequestId } from "../domain/trigger-payload";
import { triggerKeyMatches } from "../security/tokens";
import type { Invocation, RelayDeps } from "./deps";
import { RelayProblem, invalid, notFound, unauthorized, unavailable } from "./errors";
import { sendStep } from "./request-records";

export interface TriggerInput {
  storeId: string;
  workflowId: string;
  key: string | null;
  contentType: string | null;
  body: string;
}

export interface TriggerAccepted {
  requestId: string;
  status: "queued";
  duplicate?: true;
}

/**
 * DM's trigger: record the request with its document, then queue it; answer only when both are
 * durable. A repeat of a known request queues nothing new unless its first send may have failed.
 */
export async function acceptTrigger(
  deps: RelayDeps,
  input: TriggerInput,
  { log }: Invocation,
): Promise<TriggerAccepted> {
  const link = await deps.links.get(input.storeId, input.workflowId);
  if (!link) throw notFound(`workflow ${input.workflowId} of store ${input.storeId} is not linked`);
  if (!triggerKeyMatches(input.key, link.triggerKey))
    throw unauthorized("the trigger URL's sig is missing or wrong");

  const document = parseTriggerDocument(input);
  const resolved = resolveRequestId(document, input.workflowId, link.requestIdPointer);
  if (!resolved.ok) throw invalid("the request id in the body is not valid", resolved.errors);
  const { requestId, derived } = resolved.value;
  const requestLog = log.with({ requestId });

  const request = newRequest(
    { storeId: input.storeId, workflowId: input.workflowId, requestId },
    deps.clock.now(),
  );
  if ((await deps.requests.create(request, input.body)) === "ok") {
    await queueFirstCall(deps, request, requestLog);
    requestLog.info("accepted trigger from Directory Manager", {
      derivedRequestId: derived || undefined,
    });
    return { requestId, status: "queued" };
  }

  const existing = await deps.requests.get(input.storeId, requestId);
  if (!existing) throw unavailable(`request ${requestId} could not be read back; try again`);
  // Nothing has answered the first message yet: it may never have been sent, so send it again
  // (same message id, so Service Bus drops it if it was).
  if (existing.value.state === "queued" && existing.value.attempts.flow === 0)
    await queueFirstCall(deps, existing.value, requestLog);
  requestLog.info("repeated trigger for a known request: no new flow run");
  return { requestId, status: "queued", duplicate: true };
}

async function queueFirstCall(
  deps: RelayDeps,
  request: RelayRequest,
  log: Invocation["log"],
): Promise<void> {
  try {
    await sendStep(deps, "flow", request, 1);
  } catch (error) {
    log.error("could not queue the request on Service Bus", { error: String(error) });
    throw unavailable("the request is recorded but could not be queued; send it again");
  }
}

function parseTriggerDocument(input: TriggerInput): Record<string, unknown> {
  const mediaType = input.contentType?.split(";")[0]?.trim().toLowerCase();
  if (mediaType && mediaType !== "application/json" && !mediaType.endsWith("+json"))
    throw new RelayProblem(
      "unsupported-media-type",
      "Unsupported media type",
      "the trigger body must be application/json",
    );
  if (Buffer.byteLength(input.body, "utf8") > MAX_TRIGGER_BYTES)
    throw new RelayProblem("too-large", "Payload too large", "the trigger body is over 256 KiB");
  let document: unknown;
  try {
    document = JSON.parse(input.body);
  } catch {
    throw invalid("the trigger body is not JSON", [{ path: "/", message: "must be valid JSON" }]);
  }
  if (document === null || typeof document !== "object" || Array.isArray(document))
    throw invalid("the trigger body must be a JSON object", [
      { path: "/", message: "must be a JSON object" },
    ]);
  return document as Record<string, unknown>;
}
