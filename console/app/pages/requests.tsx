/** Requests: every store's (or one store's) requests, filtered by state and id, a page at a time. */
import {
  Button,
  Caption1,
  Dropdown,
  Field,
  Input,
  Link,
  Option,
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
import { ChevronLeftRegular, ChevronRightRegular, SearchRegular } from "@fluentui/react-icons";
import { REQUEST_STATES, type RequestState } from "../api";
import {
  Blade,
  Loading,
  Muted,
  ProblemBar,
  RefreshButton,
  Section,
  StateBadge,
  stateLabel,
  When,
} from "../components/ui";
import { useConsole } from "../context";
import { byLastChange, requestsOfStores } from "../requests";
import { href, navigate, type RequestFilters } from "../router";
import { useLoad } from "../use-load";

const PAGE_SIZE = 20;
const ALL = "";

const useStyles = makeStyles({
  filters: {
    display: "flex",
    gap: tokens.spacingHorizontalL,
    alignItems: "flex-end",
    flexWrap: "wrap",
  },
  filter: { minWidth: "200px" },
  pager: {
    display: "flex",
    alignItems: "center",
    justifyContent: "flex-end",
    gap: tokens.spacingHorizontalS,
  },
  error: {
    color: tokens.colorPaletteRedForeground1,
    overflow: "hidden",
    textOverflow: "ellipsis",
    whiteSpace: "nowrap",
    display: "block",
  },
});

export function Requests(props: { filters: RequestFilters }) {
  const styles = useStyles();
  const { api } = useConsole();
  const { storeId, state, id = "", page = 1 } = props.filters;
  const stores = useLoad(() => api.stores(), "stores");
  const loaded = useLoad(
    async () => {
      const storeIds = storeId
        ? [storeId]
        : (await api.stores()).stores.map((store) => store.storeId);
      return requestsOfStores(api, storeIds, state);
    },
    `${storeId ?? ""}|${state ?? ""}`,
  );

  const setFilters = (change: RequestFilters): void =>
    navigate({ page: "requests", filters: { ...props.filters, page: 1, ...change } });
  const matching = (loaded.data ?? [])
    .filter((request) => request.requestId.toLowerCase().includes(id.trim().toLowerCase()))
    .sort(byLastChange);
  const pages = Math.max(1, Math.ceil(matching.length / PAGE_SIZE));
  const current = Math.min(page, pages);
  const shown = matching.slice((current - 1) * PAGE_SIZE, current * PAGE_SIZE);

  return (
    <Blade
      title="Requests"
      subtitle="Directory Manager requests the relay has taken"
      commands={<RefreshButton onClick={loaded.reload} />}
    >
      <Section title="Filters">
        <div className={styles.filters}>
          <Field label="Store" className={styles.filter}>
            <Dropdown
              aria-label="Store"
              value={storeId ?? "All stores"}
              selectedOptions={[storeId ?? ALL]}
              onOptionSelect={(_event, data) =>
                setFilters({ storeId: data.optionValue || undefined })
              }
            >
              <Option value={ALL}>All stores</Option>
              {(stores.data?.stores ?? []).map((store) => (
                <Option key={store.storeId} value={store.storeId}>
                  {store.storeId}
                </Option>
              ))}
            </Dropdown>
          </Field>
          <Field label="State" className={styles.filter}>
            <Dropdown
              aria-label="State"
              value={state ? stateLabel(state) : "All states"}
              selectedOptions={[state ?? ALL]}
              onOptionSelect={(_event, data) =>
                setFilters({ state: (data.optionValue || undefined) as RequestState | undefined })
              }
            >
              <Option value={ALL}>All states</Option>
              {REQUEST_STATES.map((candidate) => (
                <Option key={candidate} value={candidate}>
                  {stateLabel(candidate)}
                </Option>
              ))}
            </Dropdown>
          </Field>
          <Field label="Request id" className={styles.filter}>
            <Input
              aria-label="Request id"
              contentBefore={<SearchRegular />}
              placeholder="Part of the id"
              value={id}
              onChange={(_event, data) => setFilters({ id: data.value || undefined })}
            />
          </Field>
        </div>
      </Section>
      {loaded.error && <ProblemBar error={loaded.error} />}
      <Section
        title="Results"
        note={loaded.data ? `${matching.length} request${matching.length === 1 ? "" : "s"}` : ""}
      >
        {!loaded.data && !loaded.error && <Loading label="Loading requests" />}
        {loaded.data && matching.length === 0 && <Muted>No request matches these filters.</Muted>}
        {shown.length > 0 && (
          <Table size="small" aria-label="Requests">
            <TableHeader>
              <TableRow>
                <TableHeaderCell style={{ width: "14%" }}>Request</TableHeaderCell>
                <TableHeaderCell style={{ width: "10%" }}>Store</TableHeaderCell>
                <TableHeaderCell style={{ width: "14%" }}>Workflow</TableHeaderCell>
                <TableHeaderCell style={{ width: "11%" }}>State</TableHeaderCell>
                <TableHeaderCell style={{ width: "11%" }}>Attempts</TableHeaderCell>
                <TableHeaderCell style={{ width: "11%" }}>Last change</TableHeaderCell>
                <TableHeaderCell>Last error</TableHeaderCell>
              </TableRow>
            </TableHeader>
            <TableBody>
              {shown.map((request) => (
                <TableRow
                  key={`${request.storeId}/${request.requestId}`}
                  data-request-id={request.requestId}
                >
                  <TableCell>
                    <TableCellLayout truncate>
                      <Link
                        href={href({
                          page: "request",
                          storeId: request.storeId,
                          requestId: request.requestId,
                        })}
                      >
                        {request.requestId}
                      </Link>
                    </TableCellLayout>
                  </TableCell>
                  <TableCell>{request.storeId}</TableCell>
                  <TableCell>
                    <TableCellLayout truncate>{request.workflowId}</TableCellLayout>
                  </TableCell>
                  <TableCell>
                    <StateBadge state={request.state} />
                  </TableCell>
                  <TableCell>
                    <Caption1>
                      flow {request.attempts.flow} · apply {request.attempts.apply}
                    </Caption1>
                  </TableCell>
                  <TableCell>
                    <When at={request.updatedAt} />
                  </TableCell>
                  <TableCell>
                    {request.lastError ? (
                      <span className={styles.error} title={request.lastError}>
                        {request.lastError}
                      </span>
                    ) : (
                      <Muted>—</Muted>
                    )}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
        {matching.length > PAGE_SIZE && (
          <div className={styles.pager}>
            <Button
              size="small"
              icon={<ChevronLeftRegular />}
              disabled={current <= 1}
              onClick={() => setFilters({ page: current - 1 })}
            >
              Previous
            </Button>
            <Caption1>
              Page {current} of {pages}
            </Caption1>
            <Button
              size="small"
              icon={<ChevronRightRegular />}
              iconPosition="after"
              disabled={current >= pages}
              onClick={() => setFilters({ page: current + 1 })}
            >
              Next
            </Button>
          </div>
        )}
      </Section>
    </Blade>
  );
}
