/** The pieces every page is made of, laid out like a blade of the Azure portal. */
import {
  Badge,
  Body1,
  Button,
  Caption1,
  MessageBar,
  MessageBarBody,
  MessageBarTitle,
  Spinner,
  Subtitle2,
  Title3,
  makeStyles,
  tokens,
  type BadgeProps,
} from "@fluentui/react-components";
import { ArrowClockwiseRegular } from "@fluentui/react-icons";
import type { ReactNode } from "react";
import type { RequestState } from "../api";
import { formatAgo, formatDateTime } from "../format";

const useStyles = makeStyles({
  blade: { display: "flex", flexDirection: "column", minHeight: "100%" },
  bladeHeader: {
    padding: `${tokens.spacingVerticalXL} ${tokens.spacingHorizontalXXL} ${tokens.spacingVerticalM}`,
    backgroundColor: tokens.colorNeutralBackground1,
  },
  bladeTitle: { display: "block", margin: 0 },
  bladeSubtitle: { color: tokens.colorNeutralForeground3 },
  commandBar: {
    display: "flex",
    alignItems: "center",
    gap: tokens.spacingHorizontalXS,
    padding: `${tokens.spacingVerticalXS} ${tokens.spacingHorizontalL}`,
    backgroundColor: tokens.colorNeutralBackground1,
    borderBottom: `1px solid ${tokens.colorNeutralStroke2}`,
    minHeight: "40px",
  },
  bladeBody: {
    display: "flex",
    flexDirection: "column",
    gap: tokens.spacingVerticalL,
    padding: `${tokens.spacingVerticalL} ${tokens.spacingHorizontalXXL} ${tokens.spacingVerticalXXL}`,
  },
  section: {
    backgroundColor: tokens.colorNeutralBackground1,
    border: `1px solid ${tokens.colorNeutralStroke2}`,
    borderRadius: tokens.borderRadiusMedium,
    padding: `${tokens.spacingVerticalM} ${tokens.spacingHorizontalL} ${tokens.spacingVerticalL}`,
    display: "flex",
    flexDirection: "column",
    gap: tokens.spacingVerticalM,
    minWidth: 0,
  },
  sectionHeader: {
    display: "flex",
    alignItems: "baseline",
    justifyContent: "space-between",
    gap: tokens.spacingHorizontalM,
  },
  sectionTitle: { margin: 0 },
  sectionNote: { color: tokens.colorNeutralForeground3 },
  essentials: {
    display: "grid",
    gridTemplateColumns: "repeat(auto-fit, minmax(320px, 1fr))",
    columnGap: tokens.spacingHorizontalXXXL,
    rowGap: tokens.spacingVerticalS,
  },
  essential: {
    display: "grid",
    gridTemplateColumns: "160px 1fr",
    columnGap: tokens.spacingHorizontalM,
    alignItems: "baseline",
  },
  essentialLabel: { color: tokens.colorNeutralForeground3 },
  essentialValue: { minWidth: 0, overflowWrap: "anywhere" },
  loading: { padding: tokens.spacingVerticalXXL },
  muted: { color: tokens.colorNeutralForeground3 },
});

export function Blade(props: {
  title: string;
  subtitle?: string;
  commands?: ReactNode;
  children: ReactNode;
}) {
  const styles = useStyles();
  return (
    <div className={styles.blade}>
      <header className={styles.bladeHeader}>
        <Title3 as="h1" className={styles.bladeTitle}>
          {props.title}
        </Title3>
        {props.subtitle && <Caption1 className={styles.bladeSubtitle}>{props.subtitle}</Caption1>}
      </header>
      {props.commands && (
        <div className={styles.commandBar} role="toolbar" aria-label="Commands">
          {props.commands}
        </div>
      )}
      <div className={styles.bladeBody}>{props.children}</div>
    </div>
  );
}

export function Section(props: {
  title: string;
  note?: ReactNode;
  className?: string;
  children: ReactNode;
}) {
  const styles = useStyles();
  return (
    <section
      className={props.className ? `${styles.section} ${props.className}` : styles.section}
      aria-label={props.title}
    >
      <div className={styles.sectionHeader}>
        <Subtitle2 as="h2" className={styles.sectionTitle}>
          {props.title}
        </Subtitle2>
        {props.note && <Caption1 className={styles.sectionNote}>{props.note}</Caption1>}
      </div>
      {props.children}
    </section>
  );
}

/** The key-value grid at the top of a resource's blade ("Essentials"). */
export function Essentials(props: { items: [string, ReactNode][] }) {
  const styles = useStyles();
  return (
    <dl className={styles.essentials} style={{ margin: 0 }}>
      {props.items.map(([label, value]) => (
        <div className={styles.essential} key={label}>
          <dt className={styles.essentialLabel}>
            <Body1>{label}</Body1>
          </dt>
          <dd className={styles.essentialValue} style={{ margin: 0 }}>
            <Body1>{value}</Body1>
          </dd>
        </div>
      ))}
    </dl>
  );
}

const STATE_LOOK: Record<RequestState, { label: string; color: BadgeProps["color"] }> = {
  queued: { label: "Queued", color: "informative" },
  "flow-triggered": { label: "Flow triggered", color: "brand" },
  decided: { label: "Decided", color: "brand" },
  applied: { label: "Applied", color: "success" },
  superseded: { label: "Superseded", color: "subtle" },
  expired: { label: "Expired", color: "subtle" },
  "flow-failed": { label: "Flow failed", color: "danger" },
  "apply-failed": { label: "Apply failed", color: "danger" },
};

export function stateLabel(state: RequestState): string {
  return STATE_LOOK[state]?.label ?? state;
}

export function StateBadge(props: { state: RequestState }) {
  const look = STATE_LOOK[props.state] ?? { label: props.state, color: "informative" };
  return (
    <Badge appearance="tint" color={look.color} data-state={props.state}>
      {look.label}
    </Badge>
  );
}

export function ProblemBar(props: { title?: string; error: Error }) {
  return (
    <MessageBar intent="error" layout="multiline">
      <MessageBarBody>
        {props.title && <MessageBarTitle>{props.title}</MessageBarTitle>}
        {props.error.message}
      </MessageBarBody>
    </MessageBar>
  );
}

/** A blade's command that loads its page again. */
export function RefreshButton(props: { onClick: () => void }) {
  return (
    <Button appearance="subtle" icon={<ArrowClockwiseRegular />} onClick={props.onClick}>
      Refresh
    </Button>
  );
}

export function Loading(props: { label: string }) {
  const styles = useStyles();
  return <Spinner className={styles.loading} size="small" label={props.label} />;
}

export function When(props: { at: string }) {
  return <span title={formatDateTime(props.at)}>{formatAgo(props.at)}</span>;
}

export function Muted(props: { children: ReactNode }) {
  const styles = useStyles();
  return <span className={styles.muted}>{props.children}</span>;
}
