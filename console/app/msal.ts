/**
 * Entra sign-in with MSAL for the browser, by redirect (no pop-up to be blocked): the console's
 * own URL is the redirect URI, and tokens are for the relay's API scope. Loaded on its own (a
 * separate chunk) and only in `entra` mode.
 */
import {
  InteractionRequiredAuthError,
  PublicClientApplication,
  type AccountInfo,
} from "@azure/msal-browser";

export interface MsalOptions {
  clientId: string;
  /** `<authority host>/<tenant id>`. */
  authority: string;
  scope: string;
}

export interface Msal {
  signedIn: boolean;
  signIn(): Promise<void>;
  token(): Promise<string>;
  signOut(): Promise<void>;
}

export async function startMsal(options: MsalOptions): Promise<Msal> {
  const redirectUri = `${location.origin}${location.pathname}`;
  const client = new PublicClientApplication({
    auth: {
      clientId: options.clientId,
      authority: options.authority,
      // Entra's own hosts are known to MSAL; a sovereign or test authority is trusted as given.
      knownAuthorities: [new URL(options.authority).host],
      redirectUri,
      postLogoutRedirectUri: redirectUri,
    },
    cache: { cacheLocation: "sessionStorage" },
  });
  await client.initialize();
  const redirected = await client.handleRedirectPromise();
  const account: AccountInfo | undefined = redirected?.account ?? client.getAllAccounts()[0];
  if (account) client.setActiveAccount(account);
  const scopes = [options.scope];
  return {
    signedIn: account !== undefined,
    signIn: () => client.loginRedirect({ scopes }),
    async token() {
      const active = client.getActiveAccount();
      if (!active) throw new Error("not signed in");
      try {
        return (await client.acquireTokenSilent({ scopes, account: active })).accessToken;
      } catch (error) {
        if (error instanceof InteractionRequiredAuthError) {
          await client.acquireTokenRedirect({ scopes, account: active });
        }
        throw error;
      }
    },
    signOut: () => client.logoutRedirect(),
  };
}
