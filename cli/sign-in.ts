/**
 * Entra ID sign-in for relays whose admin routes want a bearer token (RELAY_ADMIN_AUTH=entra):
 * the Azure CLI's signed-in account first (`az account get-access-token`), then, in a terminal,
 * a device code whose instructions go to stderr so stdout stays the answer.
 */
import {
  AggregateAuthenticationError,
  AzureCliCredential,
  ChainedTokenCredential,
  DeviceCodeCredential,
  type TokenCredential,
} from "@azure/identity";
import { localFailure } from "./relay-api";

export function signInCredential(tenantId: string | undefined): TokenCredential {
  const sources: TokenCredential[] = [new AzureCliCredential({ tenantId })];
  // Device code waits for a person; with no terminal to show the code to, it would only hang.
  if (process.stderr.isTTY)
    sources.push(
      new DeviceCodeCredential({
        tenantId,
        userPromptCallback: (info) => process.stderr.write(`${info.message}\n`),
      }),
    );
  return new ChainedTokenCredential(...sources);
}

/** The `authorization` header for `scope`, signed in once per run. */
export function bearerCredentials(
  scope: string,
  tenantId: string | undefined,
): () => Promise<Record<string, string>> {
  let header: Promise<Record<string, string>> | undefined;
  return () => (header ??= signIn(signInCredential(tenantId), scope));
}

async function signIn(credential: TokenCredential, scope: string): Promise<Record<string, string>> {
  try {
    const token = await credential.getToken(scope);
    if (!token) throw new Error("no token was issued");
    return { authorization: `Bearer ${token.token}` };
  } catch (error) {
    const reasons =
      error instanceof AggregateAuthenticationError
        ? (error.errors as unknown[]).map(reason)
        : [reason(error)];
    const message = `cannot sign in for ${scope}: ${reasons.join("; ")}${
      process.stderr.isTTY ? "" : " (device code sign-in needs a terminal)"
    }`;
    throw localFailure("Cannot sign in", message);
  }
}

const reason = (error: unknown): string =>
  error instanceof Error
    ? `${error.name}: ${error.message.split("\n", 1)[0]}`
    : String(error).split("\n", 1)[0];
