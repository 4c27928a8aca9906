/** Overview: open requests by state, failures of the last 24 hours, and activity by hour. */
import {
  Link,
  Table,
  TableBody,
  TableCell,
  TableHeader,
  TableHeaderCell,
  TableRow,
  Text,
  makeStyles,
  tokens,
} from "@fluentui/react-components";
import { ActivityChart } from "../components/activity-chart";
import {
  Blade,
  Loading,
  Muted,
  ProblemBar,
  RefreshButton,
  Section,
  StateBadge,
  When,
} from "../components/ui";
import { useConsole } from "../context";
import {
  DAY_MS,
  FINAL_STATES,
  OPEN_STATES,
  failuresSince,
  hourlyActivity,
  requestsOfStores,
} from "../requests";
import { href } from "../router";
import { useLoad } from "../use-load";

const useStyles = makeStyles({
  tiles: {
    display: "grid",
    gridTemplateColumns: "repeat(4, minmax(0, 1fr))",
    gap: tokens.spacingHorizontalL,
  },
  tileValue: {
    fontSize: tokens.fontSizeHero800,
    lineHeight: tokens.lineHeightHero800,
    fontWeight: tokens.fontWeightSemibold,
  },
  danger: { color: tokens.colorPaletteRedForeground1 },
  row: {
    display: "grid",
    gridTemplateColumns: "minmax(280px, 1fr) minmax(0, 2fr)",
    gap: tokens.spacingHorizontalL,
    alignItems: "start",
  },
  count: { textAlign: "right", width: "80px" },
  reason: { overflowWrap: "anywhere" },
});

export function Overview() {
  const styles = useStyles();
  const { api } = useConsole();
  const loaded = useLoad(async () => {
    const { stores } = await api.stores();
    const requests = await requestsOfStores(
      api,
      stores.map((store) => store.storeId),
    );
    return { stores, requests, now: new Date() };
  }, "overview");

  const commands = <RefreshButton onClick={loaded.reload} />;
  if (!loaded.data)
    return (
      <Blade title="Overview" subtitle="Requests of every store" commands={commands}>
        {loaded.error ? <ProblemBar error={loaded.error} /> : <Loading label="Loading requests" />}
      </Blade>
    );

  const { stores, requests, now } = loaded.data;
  const open = requests.filter((request) => !FINAL_STATES.has(request.state));
  const since = new Date(now.getTime() - DAY_MS);
  const failures = failuresSince(requests, since);
  const hours = hourlyActivity(requests, now);
  const appliedToday = hours.reduce((sum, hour) => sum + hour.applied, 0);
  const tiles: [string, number, boolean][] = [
    ["Open requests", open.length, false],
    ["Failures, last 24 hours", failures.length, failures.length > 0],
    ["Applied, last 24 hours", appliedToday, false],
    ["Stores", stores.length, false],
  ];

  return (
    <Blade title="Overview" subtitle="Requests of every store" commands={commands}>
      {loaded.error && <ProblemBar error={loaded.error} />}
      <div className={styles.tiles}>
        {tiles.map(([label, value, alarming]) => (
          <Section title={label} key={label}>
            <Text className={alarming ? `${styles.tileValue} ${styles.danger}` : styles.tileValue}>
              {value}
            </Text>
          </Section>
        ))}
      </div>
      <div className={styles.row}>
        <Section title="Open requests by state">
          <Table size="small" aria-label="Open requests by state">
            <TableHeader>
              <TableRow>
                <TableHeaderCell>State</TableHeaderCell>
                <TableHeaderCell className={styles.count}>Requests</TableHeaderCell>
              </TableRow>
            </TableHeader>
            <TableBody>
              {OPEN_STATES.map((state) => (
                <TableRow key={state}>
                  <TableCell>
                    <Link href={href({ page: "requests", filters: { state } })}>
                      <StateBadge state={state} />
                    </Link>
                  </TableCell>
                  <TableCell className={styles.count}>
                    {open.filter((request) => request.state === state).length}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </Section>
        <Section title="Activity, last 24 hours" note="by hour, local time">
          <ActivityChart hours={hours} />
        </Section>
      </div>
      <Section title="Failures in the last 24 hours" note={`${failures.length} in all`}>
        {failures.length === 0 ? (
          <Muted>No request failed in the last 24 hours.</Muted>
        ) : (
          <Table size="small" aria-label="Failures in the last 24 hours">
            <TableHeader>
              <TableRow>
                <TableHeaderCell style={{ width: 140 }}>When</TableHeaderCell>
                <TableHeaderCell style={{ width: 200 }}>Request</TableHeaderCell>
                <TableHeaderCell style={{ width: 140 }}>Store</TableHeaderCell>
                <TableHeaderCell style={{ width: 120 }}>Failure</TableHeaderCell>
                <TableHeaderCell>Reason</TableHeaderCell>
              </TableRow>
            </TableHeader>
            <TableBody>
              {failures.slice(0, 20).map(({ request, entry }) => (
                <TableRow key={`${request.storeId}/${request.requestId}/${entry.at}`}>
                  <TableCell>
                    <When at={entry.at} />
                  </TableCell>
                  <TableCell>
                    <Link
                      href={href({
                        page: "request",
                        storeId: request.storeId,
                        requestId: request.requestId,
                      })}
                    >
                      {request.requestId}
                    </Link>
                  </TableCell>
                  <TableCell>{request.storeId}</TableCell>
                  <TableCell>
                    <StateBadge state={entry.state} />
                  </TableCell>
                  <TableCell className={styles.reason}>{entry.detail}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
      </Section>
    </Blade>
  );
}
