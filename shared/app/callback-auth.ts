import type { RelayDeps } from "./deps";
import { unauthorized } from "./errors";

/**
 * The flow's proof that it acts for this request: the callback token the relay sent it, as
 * `Authorization: Bearer`. Used by the claim and the decision alike.
 */
export function requireCallbackToken(
  deps: Pick<RelayDeps, "tokens" | "clock">,
  input: { storeId: string; requestId: string; authorization: string | null },
): void {
  const token = /^Bearer\s+(\S+)$/i.exec(input.authorization ?? "")?.[1];
  const check = token
    ? deps.tokens.verify(token, input.storeId, input.requestId, deps.clock.now())
    : { ok: false as const, reason: "missing" };
  if (!check.ok)
    throw unauthorized(
      `the callback token is ${check.reason === "expired" ? "expired" : "missing or not valid for this request"}`,
    );
}
