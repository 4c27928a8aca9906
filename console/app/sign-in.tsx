/** The sign-in page: the local key in `key` mode, Microsoft's sign-in in `entra` mode. */
import {
  Body1,
  Button,
  Card,
  Field,
  Input,
  Subtitle1,
  makeStyles,
  tokens,
} from "@fluentui/react-components";
import { useState, type FormEvent } from "react";
import { ApiError } from "./api";
import { ProblemBar } from "./components/ui";
import type { Session, SignIn } from "./session";

const useStyles = makeStyles({
  page: {
    minHeight: "100vh",
    display: "flex",
    alignItems: "center",
    justifyContent: "center",
    backgroundColor: tokens.colorNeutralBackground2,
  },
  card: { width: "400px", padding: tokens.spacingHorizontalXXL },
  form: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalM },
  note: { color: tokens.colorNeutralForeground3 },
});

export function SignInPage(props: { signIn: SignIn; onSignedIn(session: Session): void }) {
  const styles = useStyles();
  const [key, setKey] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const { signIn } = props;

  async function submit(event: FormEvent): Promise<void> {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      if (signIn.mode === "key") props.onSignedIn(await signIn.withKey(key));
      else await signIn.redirect();
    } catch (caught) {
      setError(
        caught instanceof ApiError && caught.status === 401
          ? new Error("The relay refused this key.")
          : caught instanceof Error
            ? caught
            : new Error(String(caught)),
      );
      setBusy(false);
    }
  }

  return (
    <div className={styles.page}>
      <Card className={styles.card}>
        <form className={styles.form} onSubmit={(event) => void submit(event)}>
          <Subtitle1 as="h1">DM Flow Relay console</Subtitle1>
          {signIn.mode === "key" ? (
            <>
              <Body1 className={styles.note}>
                This relay signs admins in with its key (RELAY_ADMIN_AUTH=key). The key stays in
                this browser tab only.
              </Body1>
              <Field label="Admin key" required>
                <Input
                  type="password"
                  name="key"
                  autoComplete="current-password"
                  value={key}
                  onChange={(_event, data) => setKey(data.value)}
                />
              </Field>
            </>
          ) : (
            <Body1 className={styles.note}>
              Sign in with your work account. You need the Relay.Admin or Relay.Reader role of the
              relay&apos;s app registration.
            </Body1>
          )}
          {error && <ProblemBar title="Not signed in" error={error} />}
          <Button
            appearance="primary"
            type="submit"
            disabled={busy || (signIn.mode === "key" && key === "")}
          >
            {signIn.mode === "key" ? "Sign in" : "Sign in with Microsoft"}
          </Button>
        </form>
      </Card>
    </div>
  );
}
