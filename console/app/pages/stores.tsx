/**
 * Stores and their workflow links: what is registered and linked, the flow template or solution to
 * download, and, for admins, the trigger URL (shown only when the relay issues it), a new trigger
 * key, and the flow created in Power Automate.
 */
import {
  Button,
  Link,
  Menu,
  MenuItem,
  MenuList,
  MenuPopover,
  MenuTrigger,
  Table,
  TableBody,
  TableCell,
  TableCellLayout,
  TableHeader,
  TableHeaderCell,
  TableRow,
  makeStyles,
  tokens,
} from "@fluentui/react-components";
import {
  ArrowDownloadRegular,
  CloudFlowRegular,
  KeyResetRegular,
  LinkRegular,
  MoreHorizontalRegular,
} from "@fluentui/react-icons";
import { useState } from "react";
import type { StoreRegistration, WorkflowLinkView } from "../api";
import { CreateFlowDialog, TriggerUrlDialog } from "../components/link-dialogs";
import { Blade, Loading, Muted, ProblemBar, RefreshButton, Section, When } from "../components/ui";
import { useConsole } from "../context";
import { href } from "../router";
import { useLoad } from "../use-load";

const useStyles = makeStyles({
  selected: { backgroundColor: tokens.colorBrandBackground2 },
  approvers: { overflowWrap: "anywhere" },
});

type LinkAction = "trigger-url" | "rotate" | "create-flow";

export function Stores(props: { storeId?: string }) {
  const styles = useStyles();
  const { api } = useConsole();
  const stores = useLoad(() => api.stores(), "stores");
  return (
    <Blade
      title="Stores and links"
      subtitle="Identity stores registered with the relay, and their workflows' flows"
      commands={<RefreshButton onClick={stores.reload} />}
    >
      {stores.error && <ProblemBar error={stores.error} />}
      <Section
        title="Stores"
        note={stores.data ? `${stores.data.stores.length} registered` : undefined}
      >
        {!stores.data && !stores.error && <Loading label="Loading stores" />}
        {stores.data?.stores.length === 0 && (
          <Muted>
            No store is registered yet: register one with PUT
            /api/stores/&#123;storeId&#125;/power-automate or the CLI.
          </Muted>
        )}
        {stores.data && stores.data.stores.length > 0 && (
          <Table size="small" aria-label="Stores">
            <TableHeader>
              <TableRow>
                <TableHeaderCell style={{ width: "14%" }}>Store</TableHeaderCell>
                <TableHeaderCell style={{ width: "24%" }}>Dataverse environment</TableHeaderCell>
                <TableHeaderCell style={{ width: "10%" }}>Identity store</TableHeaderCell>
                <TableHeaderCell style={{ width: "18%" }}>Data service</TableHeaderCell>
                <TableHeaderCell>Tenant</TableHeaderCell>
                <TableHeaderCell style={{ width: "12%" }}>Registered</TableHeaderCell>
              </TableRow>
            </TableHeader>
            <TableBody>
              {stores.data.stores.map((store) => (
                <StoreRow
                  key={store.storeId}
                  store={store}
                  selected={store.storeId === props.storeId}
                  className={styles.selected}
                />
              ))}
            </TableBody>
          </Table>
        )}
      </Section>
      {props.storeId && <Links storeId={props.storeId} />}
      {!props.storeId && stores.data && stores.data.stores.length > 0 && (
        <Muted>Choose a store to see its workflow links.</Muted>
      )}
    </Blade>
  );
}

function StoreRow(props: { store: StoreRegistration; selected: boolean; className: string }) {
  const { store } = props;
  return (
    <TableRow
      className={props.selected ? props.className : undefined}
      aria-selected={props.selected}
    >
      <TableCell>
        <Link href={href({ page: "stores", storeId: store.storeId })}>{store.storeId}</Link>
      </TableCell>
      <TableCell>
        <TableCellLayout truncate>
          {store.organizationCode}.{store.region}.dynamics.com
        </TableCellLayout>
      </TableCell>
      <TableCell>{store.identityStoreId}</TableCell>
      <TableCell>
        <TableCellLayout truncate title={store.dataServiceUrl}>
          {hostOf(store.dataServiceUrl)}
        </TableCellLayout>
      </TableCell>
      <TableCell>
        <TableCellLayout truncate title={store.tenantId}>
          {store.tenantId}
        </TableCellLayout>
      </TableCell>
      <TableCell>
        <When at={store.updatedAt} />
      </TableCell>
    </TableRow>
  );
}

function Links(props: { storeId: string }) {
  const styles = useStyles();
  const { api, me } = useConsole();
  const links = useLoad(() => api.workflows(props.storeId), `links/${props.storeId}`);
  const [action, setAction] = useState<{ kind: LinkAction; link: WorkflowLinkView }>();
  const [downloadError, setDownloadError] = useState<Error>();

  async function download(link: WorkflowLinkView, format: "definition" | "solution") {
    setDownloadError(undefined);
    try {
      const { blob, fileName } = await api.template(link, format);
      const url = URL.createObjectURL(blob);
      const anchor = document.createElement("a");
      anchor.href = url;
      anchor.download = fileName;
      anchor.click();
      URL.revokeObjectURL(url);
    } catch (error) {
      setDownloadError(error instanceof Error ? error : new Error(String(error)));
    }
  }

  return (
    <Section
      title={`Workflow links of ${props.storeId}`}
      note={links.data ? `${links.data.workflows.length} linked` : undefined}
    >
      {links.error && <ProblemBar error={links.error} />}
      {downloadError && <ProblemBar title="Download failed" error={downloadError} />}
      {!links.data && !links.error && <Loading label="Loading links" />}
      {links.data?.workflows.length === 0 && (
        <Muted>No workflow of this store is linked to a flow yet.</Muted>
      )}
      {links.data && links.data.workflows.length > 0 && (
        <Table size="small" aria-label="Workflow links">
          <TableHeader>
            <TableRow>
              <TableHeaderCell style={{ width: "22%" }}>Workflow</TableHeaderCell>
              <TableHeaderCell style={{ width: "26%" }}>Flow</TableHeaderCell>
              <TableHeaderCell style={{ width: "12%" }}>Relay signs in</TableHeaderCell>
              <TableHeaderCell>Approvers</TableHeaderCell>
              <TableHeaderCell style={{ width: "10%" }}>Linked</TableHeaderCell>
              <TableHeaderCell style={{ width: "64px" }} aria-label="Actions" />
            </TableRow>
          </TableHeader>
          <TableBody>
            {links.data.workflows.map((link) => (
              <TableRow key={link.workflowId} data-workflow-id={link.workflowId}>
                <TableCell>
                  <TableCellLayout
                    truncate
                    description={link.workflowName ? link.workflowId : undefined}
                  >
                    {link.workflowName ?? link.workflowId}
                  </TableCellLayout>
                </TableCell>
                <TableCell>
                  <TableCellLayout truncate title={link.flow.redactedUrl}>
                    {link.flow.host}
                  </TableCellLayout>
                </TableCell>
                <TableCell>{link.flowAuth === "sas" ? "URL signature" : "Entra token"}</TableCell>
                <TableCell className={styles.approvers}>
                  {link.approvers.length > 0 ? link.approvers.join(", ") : <Muted>none</Muted>}
                </TableCell>
                <TableCell>
                  <When at={link.updatedAt} />
                </TableCell>
                <TableCell>
                  <Menu>
                    <MenuTrigger disableButtonEnhancement>
                      <Button
                        appearance="subtle"
                        icon={<MoreHorizontalRegular />}
                        aria-label={`Actions for ${link.workflowId}`}
                      />
                    </MenuTrigger>
                    <MenuPopover>
                      <MenuList>
                        {me.canChange && (
                          <MenuItem
                            icon={<LinkRegular />}
                            onClick={() => setAction({ kind: "trigger-url", link })}
                          >
                            Copy trigger URL…
                          </MenuItem>
                        )}
                        {me.canChange && (
                          <MenuItem
                            icon={<KeyResetRegular />}
                            onClick={() => setAction({ kind: "rotate", link })}
                          >
                            Rotate trigger key…
                          </MenuItem>
                        )}
                        <MenuItem
                          icon={<ArrowDownloadRegular />}
                          onClick={() => void download(link, "definition")}
                        >
                          Download flow template
                        </MenuItem>
                        <MenuItem
                          icon={<ArrowDownloadRegular />}
                          onClick={() => void download(link, "solution")}
                        >
                          Download solution
                        </MenuItem>
                        {me.canChange && (
                          <MenuItem
                            icon={<CloudFlowRegular />}
                            onClick={() => setAction({ kind: "create-flow", link })}
                          >
                            Create the flow in Power Automate…
                          </MenuItem>
                        )}
                      </MenuList>
                    </MenuPopover>
                  </Menu>
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
      {action && action.kind !== "create-flow" && (
        <TriggerUrlDialog
          link={action.link}
          rotate={action.kind === "rotate"}
          onClose={(changed) => {
            setAction(undefined);
            if (changed) links.reload();
          }}
        />
      )}
      {action?.kind === "create-flow" && (
        <CreateFlowDialog
          link={action.link}
          onClose={(changed) => {
            setAction(undefined);
            if (changed) links.reload();
          }}
        />
      )}
    </Section>
  );
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
