/** Health: whether the relay reaches Table Storage and Service Bus, and who is signed in. */
import {
  Badge,
  Table,
  TableBody,
  TableCell,
  TableHeader,
  TableHeaderCell,
  TableRow,
  makeStyles,
  tokens,
} from "@fluentui/react-components";
import { Blade, Essentials, Loading, ProblemBar, RefreshButton, Section } from "../components/ui";
import { useConsole } from "../context";
import { formatDateTime } from "../format";
import { useLoad } from "../use-load";

const DEPENDENCY_NAMES: Record<string, string> = {
  tables: "Table Storage",
  "service-bus": "Service Bus",
};

const useStyles = makeStyles({
  row: {
    display: "grid",
    gridTemplateColumns: "repeat(2, minmax(0, 1fr))",
    gap: tokens.spacingHorizontalL,
    alignItems: "start",
  },
});

export function Health() {
  const styles = useStyles();
  const { api, me, settings } = useConsole();
  const health = useLoad(async () => ({ report: await api.health(), at: new Date() }), "health");
  const report = health.data?.report;

  return (
    <Blade
      title="Health"
      subtitle="GET /api/health, and this session"
      commands={<RefreshButton onClick={health.reload} />}
    >
      {health.error && <ProblemBar error={health.error} />}
      <Section
        title="Relay"
        note={health.data ? `checked ${formatDateTime(health.data.at.toISOString())}` : undefined}
      >
        {!report && !health.error && <Loading label="Checking" />}
        {report && (
          <>
            <Essentials
              items={[
                [
                  "Status",
                  <Badge
                    key="status"
                    appearance="filled"
                    color={report.status === "healthy" ? "success" : "danger"}
                    data-testid="health-status"
                  >
                    {report.status === "healthy" ? "Healthy" : "Unhealthy"}
                  </Badge>,
                ],
              ]}
            />
            <Table size="small" aria-label="Dependencies">
              <TableHeader>
                <TableRow>
                  <TableHeaderCell>Dependency</TableHeaderCell>
                  <TableHeaderCell>Answers</TableHeaderCell>
                </TableRow>
              </TableHeader>
              <TableBody>
                {Object.entries(report.checks).map(([name, result]) => (
                  <TableRow key={name}>
                    <TableCell>{DEPENDENCY_NAMES[name] ?? name}</TableCell>
                    <TableCell>
                      <Badge appearance="tint" color={result === "ok" ? "success" : "danger"}>
                        {result === "ok" ? "OK" : "Failing"}
                      </Badge>
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </>
        )}
      </Section>
      <div className={styles.row}>
        <Section title="Your access">
          <Essentials
            items={[
              ["Signed in as", me.actor.name ? `${me.actor.name} (${me.actor.id})` : me.actor.id],
              ["With", me.mode === "key" ? "the local key" : "Entra ID"],
              ["Roles", me.roles.length > 0 ? me.roles.join(", ") : "none"],
              ["May change", me.canChange ? "yes" : "no: read only"],
            ]}
          />
        </Section>
        <Section title="Sign-in">
          <Essentials
            items={[
              [
                "Admin sign-in",
                settings.auth === "key" ? "key (RELAY_ADMIN_AUTH=key)" : "Entra ID",
              ],
              ...(settings.auth === "entra"
                ? ([
                    ["Tenant", settings.tenantId ?? "—"],
                    ["Console app", settings.clientId ?? "—"],
                    ["API scope", settings.apiScope ?? "—"],
                  ] as [string, string][])
                : []),
              ["Stuck after", `${settings.stuckAfterMinutes} minutes`],
            ]}
          />
        </Section>
      </div>
    </Blade>
  );
}
