/** The frame around every page: the header bar, the navigation and the page itself. */
import {
  Badge,
  Button,
  Caption1,
  NavDrawer,
  NavDrawerBody,
  NavItem,
  Text,
  makeStyles,
  tokens,
} from "@fluentui/react-components";
import {
  DatabaseRegular,
  DocumentBulletListRegular,
  HeartPulseRegular,
  HomeRegular,
  SignOutRegular,
} from "@fluentui/react-icons";
import type { ReactNode } from "react";
import type { Me } from "./api";
import { href, navigate, type Route } from "./router";

const useStyles = makeStyles({
  root: {
    display: "grid",
    gridTemplateRows: "48px 1fr",
    gridTemplateColumns: "220px 1fr",
    height: "100vh",
    backgroundColor: tokens.colorNeutralBackground2,
  },
  header: {
    gridColumn: "1 / 3",
    display: "flex",
    alignItems: "center",
    gap: tokens.spacingHorizontalM,
    padding: `0 ${tokens.spacingHorizontalL}`,
    backgroundColor: tokens.colorBrandBackground,
    color: tokens.colorNeutralForegroundOnBrand,
  },
  product: { fontWeight: tokens.fontWeightSemibold, fontSize: tokens.fontSizeBase400 },
  productNote: { opacity: 0.85 },
  spacer: { flexGrow: 1 },
  who: { display: "flex", flexDirection: "column", alignItems: "flex-end", lineHeight: "1.1" },
  onBrand: { color: tokens.colorNeutralForegroundOnBrand },
  nav: {
    height: "100%",
    width: "220px",
    borderRight: `1px solid ${tokens.colorNeutralStroke2}`,
  },
  main: { overflow: "auto", minWidth: 0 },
});

const PAGES = [
  { value: "overview", label: "Overview", icon: <HomeRegular />, route: { page: "overview" } },
  {
    value: "stores",
    label: "Stores and links",
    icon: <DatabaseRegular />,
    route: { page: "stores" },
  },
  {
    value: "requests",
    label: "Requests",
    icon: <DocumentBulletListRegular />,
    route: { page: "requests", filters: {} },
  },
  { value: "health", label: "Health", icon: <HeartPulseRegular />, route: { page: "health" } },
] satisfies { value: string; label: string; icon: ReactNode; route: Route }[];

function navValue(route: Route): string {
  return route.page === "request" ? "requests" : route.page;
}

export function Shell(props: { route: Route; me: Me; onSignOut(): void; children: ReactNode }) {
  const styles = useStyles();
  const { me } = props;
  const role = me.canChange ? "Admin" : "Reader";
  return (
    <div className={styles.root}>
      <header className={styles.header}>
        <Text className={styles.product}>DM Flow Relay</Text>
        <Caption1 className={styles.productNote}>Directory Manager ⇄ Power Automate</Caption1>
        <span className={styles.spacer} />
        <div className={styles.who}>
          <Text size={200} weight="semibold" data-testid="actor">
            {me.actor.name ?? me.actor.id}
          </Text>
          <Caption1 className={styles.productNote}>
            {me.mode === "key" ? "Signed in with the local key" : "Signed in with Entra ID"}
          </Caption1>
        </div>
        <Badge appearance="outline" className={styles.onBrand} data-testid="role">
          {role}
        </Badge>
        <Button
          appearance="transparent"
          className={styles.onBrand}
          icon={<SignOutRegular />}
          onClick={props.onSignOut}
        >
          Sign out
        </Button>
      </header>
      <NavDrawer
        open
        type="inline"
        className={styles.nav}
        selectedValue={navValue(props.route)}
        onNavItemSelect={(_event, data) => {
          const page = PAGES.find((candidate) => candidate.value === data.value);
          if (page) navigate(page.route);
        }}
      >
        <NavDrawerBody>
          {PAGES.map((page) => (
            <NavItem key={page.value} value={page.value} icon={page.icon} href={href(page.route)}>
              {page.label}
            </NavItem>
          ))}
        </NavDrawerBody>
      </NavDrawer>
      <main className={styles.main}>{props.children}</main>
    </div>
  );
}
