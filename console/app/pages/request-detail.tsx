/** One request: its essentials, decision, DM's outcome, flow run, timeline, and redrive. */
import {
  Badge,
  Body1,
  Button,
  Caption1,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  Link,
  MessageBar,
  MessageBarBody,
  makeStyles,
  tokens,
} from "@fluentui/react-components";
import { ArrowRedoRegular, OpenRegular } from "@fluentui/react-icons";
import { useState, type ReactNode } from "react";
import type { HistoryEntry, RequestStatus } from "../api";
import {
  Blade,
  Essentials,
  Loading,
  Muted,
  ProblemBar,
  RefreshButton,
  Section,
  StateBadge,
  When,
} from "../components/ui";
import { useConsole } from "../context";
import { formatDateTime } from "../format";
import { FAILED_STATES, canRedrive, isStuck } from "../requests";
import { href } from "../router";
import { useLoad } from "../use-load";

const useStyles = makeStyles({
  timeline: { listStyle: "none", margin: 0, padding: 0 },
  entry: {
    display: "grid",
    gridTemplateColumns: "20px 190px 130px 1fr",
    columnGap: tokens.spacingHorizontalM,
    alignItems: "baseline",
    padding: `${tokens.spacingVerticalS} 0`,
    borderBottom: `1px solid ${tokens.colorNeutralStroke3}`,
    ":last-child": { borderBottom: "none" },
  },
  dot: {
    width: "10px",
    height: "10px",
    borderRadius: "50%",
    backgroundColor: tokens.colorBrandBackground,
    alignSelf: "center",
  },
  failedDot: { backgroundColor: tokens.colorPaletteRedBackground3 },
  finalDot: { backgroundColor: tokens.colorPaletteGreenBackground3 },
  detail: { overflowWrap: "anywhere" },
});

export function RequestDetail(props: { storeId: string; requestId: string }) {
  const { api, me, settings } = useConsole();
  const { storeId, requestId } = props;
  const loaded = useLoad(() => api.request(storeId, requestId), `${storeId}/${requestId}`);
  const [confirming, setConfirming] = useState(false);
  const [redrive, setRedrive] = useState<{ busy: boolean; done?: string; error?: Error }>({
    busy: false,
  });
  const request = loaded.data;
  const redrivable =
    request !== undefined && canRedrive(request, settings.stuckAfterMinutes, new Date());

  async function runRedrive(): Promise<void> {
    setRedrive({ busy: true });
    try {
      const answer = await api.redrive(storeId, requestId);
      setRedrive({ busy: false, done: `Redriven: the request is ${answer.state} again.` });
      loaded.reload();
    } catch (error) {
      setRedrive({ busy: false, error: error instanceof Error ? error : new Error(String(error)) });
    } finally {
      setConfirming(false);
    }
  }

  const commands = (
    <>
      <RefreshButton onClick={loaded.reload} />
      {me.canChange && redrivable && (
        <Button
          appearance="subtle"
          icon={<ArrowRedoRegular />}
          onClick={() => setConfirming(true)}
          disabled={redrive.busy}
        >
          Redrive
        </Button>
      )}
      {request?.flowRun && (
        <Button
          appearance="subtle"
          icon={<OpenRegular />}
          as="a"
          href={request.flowRun.portalUrl}
          target="_blank"
          rel="noreferrer"
        >
          Open the run in Power Automate
        </Button>
      )}
    </>
  );

  return (
    <Blade
      title={`Request ${requestId}`}
      subtitle={`Store ${storeId}${request ? ` · workflow ${request.workflowId}` : ""}`}
      commands={commands}
    >
      {redrive.done && (
        <MessageBar intent="success">
          <MessageBarBody>{redrive.done}</MessageBarBody>
        </MessageBar>
      )}
      {redrive.error && <ProblemBar title="Redrive refused" error={redrive.error} />}
      {loaded.error && <ProblemBar error={loaded.error} />}
      {!request && !loaded.error && <Loading label="Loading the request" />}
      {request && <RequestBody request={request} stuckAfterMinutes={settings.stuckAfterMinutes} />}
      <Dialog open={confirming} onOpenChange={(_event, data) => setConfirming(data.open)}>
        <DialogSurface>
          <DialogBody>
            <DialogTitle>Redrive request {requestId}?</DialogTitle>
            <DialogContent>
              {request && FAILED_STATES.has(request.state) ? (
                <Body1>
                  The relay{" "}
                  {request.state === "flow-failed"
                    ? "calls the flow"
                    : "writes the decision to Directory Manager"}{" "}
                  again, with a fresh retry budget.
                </Body1>
              ) : (
                <Body1>
                  The request has not moved for a while: the relay sends its next step again.
                </Body1>
              )}
            </DialogContent>
            <DialogActions>
              <Button appearance="secondary" onClick={() => setConfirming(false)}>
                Cancel
              </Button>
              <Button
                appearance="primary"
                disabled={redrive.busy}
                onClick={() => void runRedrive()}
              >
                Redrive
              </Button>
            </DialogActions>
          </DialogBody>
        </DialogSurface>
      </Dialog>
    </Blade>
  );
}

function RequestBody(props: { request: RequestStatus; stuckAfterMinutes: number }) {
  const { request } = props;
  const stuck = isStuck(request, props.stuckAfterMinutes, new Date());
  return (
    <>
      {request.lastError && (
        <MessageBar intent="error" layout="multiline">
          <MessageBarBody>{request.lastError}</MessageBarBody>
        </MessageBar>
      )}
      {stuck && (
        <MessageBar intent="warning">
          <MessageBarBody>
            The request has not changed for over {props.stuckAfterMinutes} minutes and no retry is
            pending.
          </MessageBarBody>
        </MessageBar>
      )}
      <Section title="Essentials">
        <Essentials items={essentials(request)} />
      </Section>
      <Section title="Decision">
        <Essentials items={decisionItems(request)} />
      </Section>
      <Section title="Timeline" note={`${request.history.length} events`}>
        <Timeline history={request.history} />
      </Section>
    </>
  );
}

function essentials(request: RequestStatus): [string, ReactNode][] {
  const { flowRun } = request;
  const items: [string, ReactNode][] = [
    ["State", <StateBadge key="state" state={request.state} />],
    [
      "Store",
      <Link key="store" href={href({ page: "stores", storeId: request.storeId })}>
        {request.storeId}
      </Link>,
    ],
    ["Workflow", request.workflowId],
    ["Received", formatDateTime(request.createdAt)],
    ["Last change", <When key="updated" at={request.updatedAt} />],
    ["Attempts", `flow ${request.attempts.flow}, apply ${request.attempts.apply}`],
    ["Redrives", String(request.redrives)],
    [
      "Next attempt",
      request.nextAttemptAt ? formatDateTime(request.nextAttemptAt) : <Muted>none pending</Muted>,
    ],
  ];
  if (!flowRun) {
    items.push(["Flow run", request.flowRunId ?? <Muted>not claimed yet</Muted>]);
    return items;
  }
  items.push(
    [
      "Flow run",
      <Link key="run" href={flowRun.portalUrl} target="_blank" rel="noreferrer">
        {flowRun.runId}
      </Link>,
    ],
    ["Flow", `${flowRun.flowName} (environment ${flowRun.environmentName})`],
    ["Claimed", formatDateTime(flowRun.claimedAt)],
  );
  if (flowRun.cancelledAt) items.push(["Run cancelled", formatDateTime(flowRun.cancelledAt)]);
  if (flowRun.cancelError) items.push(["Cancelling failed", flowRun.cancelError]);
  return items;
}

function decisionItems(request: RequestStatus): [string, ReactNode][] {
  const { decision } = request;
  const items: [string, ReactNode][] = [];
  if (!decision) items.push(["Power Automate", <Muted key="none">no decision yet</Muted>]);
  else {
    const { approver } = decision;
    items.push(
      [
        "Power Automate",
        <Badge
          key="outcome"
          appearance="filled"
          color={decision.outcome === "approved" ? "success" : "danger"}
        >
          {decision.outcome === "approved" ? "Approved" : "Denied"}
        </Badge>,
      ],
      [
        "Approver",
        approver?.displayName && approver.email
          ? `${approver.displayName} (${approver.email})`
          : (approver?.displayName ?? approver?.email ?? "unknown"),
      ],
      ["Comments", decision.comments ?? "—"],
      ["Responded", decision.respondedAt ? formatDateTime(decision.respondedAt) : "—"],
      ["Recorded", formatDateTime(decision.recordedAt)],
    );
  }
  items.push([
    "Directory Manager",
    request.dmOutcome ? (
      `decided first: ${request.dmOutcome}`
    ) : request.state === "applied" ? (
      "took the decision"
    ) : (
      <Muted key="none">no outcome recorded</Muted>
    ),
  ]);
  return items;
}

function Timeline(props: { history: HistoryEntry[] }) {
  const styles = useStyles();
  return (
    <ol className={styles.timeline} aria-label="Timeline">
      {props.history.map((entry, index) => (
        <li className={styles.entry} key={`${entry.at}-${index}`} data-state={entry.state}>
          <span
            className={
              FAILED_STATES.has(entry.state)
                ? `${styles.dot} ${styles.failedDot}`
                : entry.state === "applied"
                  ? `${styles.dot} ${styles.finalDot}`
                  : styles.dot
            }
          />
          <Caption1>{formatDateTime(entry.at)}</Caption1>
          <span>
            <StateBadge state={entry.state} />
          </span>
          <span className={styles.detail}>
            <Body1>{entry.detail}</Body1>
          </span>
        </li>
      ))}
    </ol>
  );
}
