/**
 * The dialogs that change a link. The trigger URL carries a secret key, so the relay returns it
 * only when it saves the link (PUT .../flow, or creating the flow): showing it means saving the
 * link again, with the flow's URL, which the relay never shows either.
 */
import {
  Body1,
  Button,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  Field,
  Input,
  MessageBar,
  MessageBarBody,
  makeStyles,
  tokens,
} from "@fluentui/react-components";
import { CopyRegular } from "@fluentui/react-icons";
import { useState } from "react";
import type { WorkflowLinkView } from "../api";
import { useConsole } from "../context";
import { ProblemBar } from "./ui";

const useStyles = makeStyles({
  content: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalM },
  copy: { display: "flex", gap: tokens.spacingHorizontalS },
  grow: { flexGrow: 1 },
  wide: { maxWidth: "720px" },
});

function CopyField(props: { label: string; value: string }) {
  const styles = useStyles();
  const [copied, setCopied] = useState(false);
  return (
    <Field label={props.label} hint={copied ? "Copied to the clipboard." : undefined}>
      <div className={styles.copy}>
        <Input
          className={styles.grow}
          readOnly
          value={props.value}
          aria-label={props.label}
          onFocus={(event) => event.target.select()}
        />
        <Button
          icon={<CopyRegular />}
          onClick={() =>
            void navigator.clipboard.writeText(props.value).then(() => setCopied(true))
          }
        >
          Copy
        </Button>
      </div>
    </Field>
  );
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

export function TriggerUrlDialog(props: {
  link: WorkflowLinkView;
  rotate: boolean;
  onClose(changed: boolean): void;
}) {
  const styles = useStyles();
  const { api } = useConsole();
  const { link, rotate } = props;
  // A URL with a signature is redacted; one without (an Entra-protected flow) is the URL itself.
  const urlIsShown = !link.flow.redactedUrl.includes("REDACTED");
  const [requestUrl, setRequestUrl] = useState(urlIsShown ? link.flow.redactedUrl : "");
  const [state, setState] = useState<{ busy: boolean; triggerUrl?: string; error?: Error }>({
    busy: false,
  });

  async function save(): Promise<void> {
    setState({ busy: true });
    try {
      const saved = await api.saveLink(link, requestUrl.trim(), rotate);
      setState({ busy: false, triggerUrl: saved.triggerUrl });
    } catch (error) {
      setState({ busy: false, error: asError(error) });
    }
  }

  const done = state.triggerUrl !== undefined;
  return (
    <Dialog open onOpenChange={(_event, data) => !data.open && props.onClose(done)}>
      <DialogSurface className={styles.wide}>
        <DialogBody>
          <DialogTitle>
            {rotate ? "Rotate the trigger key" : "Trigger URL"} of{" "}
            {link.workflowName ?? link.workflowId}
          </DialogTitle>
          <DialogContent className={styles.content}>
            {!done && rotate && (
              <MessageBar intent="warning" layout="multiline">
                <MessageBarBody>
                  A new key ends the current trigger URL: give Directory Manager the new one, or the
                  relay refuses its requests.
                </MessageBarBody>
              </MessageBar>
            )}
            {!done && !rotate && (
              <Body1>
                The relay shows a trigger URL only when it saves the link. Saving it again with the
                flow&apos;s URL shows the current trigger URL and keeps its key.
              </Body1>
            )}
            {!done && (
              <Field
                label="The flow's HTTP POST URL"
                required
                hint={
                  urlIsShown
                    ? undefined
                    : "It carries the flow's signature, which the relay never shows: copy it from the flow's trigger in Power Automate."
                }
              >
                <Input
                  value={requestUrl}
                  onChange={(_event, data) => setRequestUrl(data.value)}
                  placeholder="https://…environment.api.powerplatform.com/…"
                />
              </Field>
            )}
            {state.error && <ProblemBar title="Not saved" error={state.error} />}
            {done && rotate && (
              <MessageBar intent="success">
                <MessageBarBody>
                  New key issued: the previous trigger URL no longer works.
                </MessageBarBody>
              </MessageBar>
            )}
            {done && <CopyField label="Trigger URL" value={state.triggerUrl as string} />}
            {done && (
              <Body1>Paste it into the workflow&apos;s Request URL box in Directory Manager.</Body1>
            )}
          </DialogContent>
          <DialogActions>
            <Button appearance="secondary" onClick={() => props.onClose(done)}>
              {done ? "Close" : "Cancel"}
            </Button>
            {!done && (
              <Button
                appearance="primary"
                disabled={state.busy || requestUrl.trim() === ""}
                onClick={() => void save()}
              >
                {rotate ? "Rotate key" : "Show trigger URL"}
              </Button>
            )}
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
}

export function CreateFlowDialog(props: {
  link: WorkflowLinkView;
  onClose(changed: boolean): void;
}) {
  const styles = useStyles();
  const { api } = useConsole();
  const { link } = props;
  const [state, setState] = useState<{
    busy: boolean;
    created?: { triggerUrl?: string; name: string };
    error?: Error;
  }>({ busy: false });

  async function create(): Promise<void> {
    setState({ busy: true });
    try {
      const created = await api.createFlow(link);
      setState({
        busy: false,
        created: { name: created.cloudFlow.name, triggerUrl: created.triggerUrl },
      });
    } catch (error) {
      setState({ busy: false, error: asError(error) });
    }
  }

  const done = state.created !== undefined;
  return (
    <Dialog open onOpenChange={(_event, data) => !data.open && props.onClose(done)}>
      <DialogSurface className={styles.wide}>
        <DialogBody>
          <DialogTitle>Create the flow of {link.workflowName ?? link.workflowId}</DialogTitle>
          <DialogContent className={styles.content}>
            {!done && (
              <Body1>
                The relay creates the flow from its template in the store&apos;s Power Platform
                environment (or updates it), turns it on and links the workflow to it, for the
                approvers {link.approvers.join(", ") || "of the link"}.
              </Body1>
            )}
            {state.error && <ProblemBar title="The flow was not created" error={state.error} />}
            {state.created && (
              <MessageBar intent="success">
                <MessageBarBody>Flow “{state.created.name}” is on and linked.</MessageBarBody>
              </MessageBar>
            )}
            {state.created?.triggerUrl && (
              <CopyField label="Trigger URL" value={state.created.triggerUrl} />
            )}
          </DialogContent>
          <DialogActions>
            <Button appearance="secondary" onClick={() => props.onClose(done)}>
              {done ? "Close" : "Cancel"}
            </Button>
            {!done && (
              <Button appearance="primary" disabled={state.busy} onClick={() => void create()}>
                {state.busy ? "Creating…" : "Create flow"}
              </Button>
            )}
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
}
