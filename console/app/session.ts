/**
 * Who is signed in, and the credential the API calls carry: the local key in `key` mode (kept in
 * sessionStorage, so it ends with the tab), or an Entra token for the relay's API in `entra` mode
 * (MSAL, loaded only in that mode).
 */
import { ApiError, RelayApi, type ConsoleSettings, type Credential, type Me } from "./api";

export interface Session {
  api: RelayApi;
  me: Me;
  signOut(): Promise<void>;
}

/** How the sign-in page signs the admin in. */
export type SignIn =
  | { mode: "key"; withKey(key: string): Promise<Session> }
  | { mode: "entra"; redirect(): Promise<void> };

export interface Start {
  /** The session when the admin is signed in already (a stored key, an MSAL account). */
  session?: Session;
  signIn: SignIn;
}

const KEY_ITEM = "dm-flow-relay.console.key";

export async function startSession(settings: ConsoleSettings): Promise<Start> {
  return settings.auth === "key" ? startWithKey() : startWithEntra(settings);
}

async function startWithKey(): Promise<Start> {
  const withKey = async (key: string): Promise<Session> => {
    const credential: Credential = async () => ({ "x-functions-key": key });
    const api = new RelayApi(credential);
    const me = await api.me();
    sessionStorage.setItem(KEY_ITEM, key);
    return {
      api,
      me,
      signOut: async () => sessionStorage.removeItem(KEY_ITEM),
    };
  };
  const signIn: SignIn = { mode: "key", withKey };
  const stored = sessionStorage.getItem(KEY_ITEM);
  if (!stored) return { signIn };
  try {
    return { session: await withKey(stored), signIn };
  } catch (error) {
    // A key that no longer works (changed setting) means signing in again; anything else shows.
    if (!(error instanceof ApiError && error.status === 401)) throw error;
    sessionStorage.removeItem(KEY_ITEM);
    return { signIn };
  }
}

async function startWithEntra(settings: ConsoleSettings): Promise<Start> {
  if (!settings.clientId || !settings.apiScope || !settings.authority)
    throw new Error(
      "Entra sign-in is not configured: the relay needs RELAY_CONSOLE_CLIENT_ID and RELAY_ADMIN_AUDIENCE",
    );
  const { startMsal } = await import("./msal");
  const msal = await startMsal({
    clientId: settings.clientId,
    authority: settings.authority,
    scope: settings.apiScope,
  });
  const signIn: SignIn = { mode: "entra", redirect: msal.signIn };
  if (!msal.signedIn) return { signIn };
  const api = new RelayApi(async () => ({ authorization: `Bearer ${await msal.token()}` }));
  return { session: { api, me: await api.me(), signOut: msal.signOut }, signIn };
}
