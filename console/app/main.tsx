/**
 * The web console of the relay (README "Web console"): reads `config.json`, signs the admin in,
 * and shows the pages over the admin API. Readers (`canChange: false` from `/api/me`) get no
 * control that changes anything; the API refuses them anyway.
 */
import { FluentProvider, webLightTheme } from "@fluentui/react-components";
import { useState, type ReactNode } from "react";
import { createRoot } from "react-dom/client";
import { loadSettings, type ConsoleSettings } from "./api";
import { ConsoleContextValue } from "./context";
import { Health } from "./pages/health";
import { Overview } from "./pages/overview";
import { RequestDetail } from "./pages/request-detail";
import { Requests } from "./pages/requests";
import { Stores } from "./pages/stores";
import { useRoute, type Route } from "./router";
import { startSession, type Session, type SignIn } from "./session";
import { Shell } from "./shell";
import { SignInPage } from "./sign-in";
import { ProblemBar } from "./components/ui";

function Page(props: { route: Route }) {
  const { route } = props;
  switch (route.page) {
    case "overview":
      return <Overview />;
    case "stores":
      return <Stores storeId={route.storeId} />;
    case "requests":
      return <Requests filters={route.filters} />;
    case "request":
      return <RequestDetail storeId={route.storeId} requestId={route.requestId} />;
    case "health":
      return <Health />;
  }
}

function Console(props: { settings: ConsoleSettings; session?: Session; signIn: SignIn }) {
  const [session, setSession] = useState(props.session);
  const route = useRoute();
  if (!session) return <SignInPage signIn={props.signIn} onSignedIn={setSession} />;
  const signOut = (): void => {
    void session.signOut().then(() => setSession(undefined));
  };
  return (
    <ConsoleContextValue.Provider
      value={{ api: session.api, me: session.me, settings: props.settings }}
    >
      <Shell route={route} me={session.me} onSignOut={signOut}>
        <Page route={route} />
      </Shell>
    </ConsoleContextValue.Provider>
  );
}

async function start(): Promise<void> {
  const root = createRoot(document.getElementById("root") as HTMLElement);
  const render = (content: ReactNode): void =>
    root.render(<FluentProvider theme={webLightTheme}>{content}</FluentProvider>);
  try {
    const settings = await loadSettings();
    const { session, signIn } = await startSession(settings);
    render(<Console settings={settings} session={session} signIn={signIn} />);
  } catch (error) {
    render(
      <div style={{ padding: 24 }}>
        <ProblemBar
          title="The console could not start"
          error={error instanceof Error ? error : new Error(String(error))}
        />
      </div>,
    );
  }
}

void start();
