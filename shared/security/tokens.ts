import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";

/** Longest a flow run can wait for an approval, so the longest a callback token must live. */
export const CALLBACK_TOKEN_LIFETIME_MS = 30 * 24 * 60 * 60 * 1000;

type TokenCheck =
  { ok: true } | { ok: false; reason: "malformed" | "signature" | "expired" | "scope" };

function deriveKey(signingKey: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync("sha256", signingKey, Buffer.alloc(0), purpose, 32));
}

/**
 * Callback tokens: `v1.<claims>.<mac>`, claims = store, request and expiry, MAC = HMAC-SHA256
 * with a key derived from RELAY_SIGNING_KEY. Previous keys still verify, so the signing key can
 * be rotated while flows wait.
 */
export class CallbackTokens {
  private readonly keys: Buffer[];

  constructor(signingKey: string, previousKeys: string[] = []) {
    this.keys = [signingKey, ...previousKeys].map((key) =>
      deriveKey(key, "dm-flow-relay callback token v1"),
    );
  }

  issue(storeId: string, requestId: string, now: Date): string {
    const claims = Buffer.from(
      JSON.stringify({ s: storeId, r: requestId, e: now.getTime() + CALLBACK_TOKEN_LIFETIME_MS }),
    ).toString("base64url");
    return `v1.${claims}.${this.mac(this.keys[0] as Buffer, claims)}`;
  }

  verify(token: string, storeId: string, requestId: string, now: Date): TokenCheck {
    const [version, claims, mac, ...rest] = token.split(".");
    if (version !== "v1" || !claims || !mac || rest.length > 0)
      return { ok: false, reason: "malformed" };
    const expected = Buffer.from(mac);
    const signedByUs = this.keys.some((key) => {
      const actual = Buffer.from(this.mac(key, claims));
      return actual.length === expected.length && timingSafeEqual(actual, expected);
    });
    if (!signedByUs) return { ok: false, reason: "signature" };
    let parsed: { s?: unknown; r?: unknown; e?: unknown };
    try {
      parsed = JSON.parse(Buffer.from(claims, "base64url").toString("utf8"));
    } catch {
      return { ok: false, reason: "malformed" };
    }
    if (parsed.s !== storeId || parsed.r !== requestId) return { ok: false, reason: "scope" };
    if (typeof parsed.e !== "number" || parsed.e <= now.getTime())
      return { ok: false, reason: "expired" };
    return { ok: true };
  }

  private mac(key: Buffer, claims: string): string {
    return createHmac("sha256", key).update(claims).digest("base64url");
  }
}

/** A new random trigger key: what DM presents as `?sig=` on the relay's trigger URL. */
export function newTriggerKey(): string {
  return randomBytes(32).toString("base64url");
}

/** Constant-time comparison of a presented key with the stored one. */
export function triggerKeyMatches(presented: string | null | undefined, stored: string): boolean {
  if (!presented) return false;
  const digest = (value: string): Buffer => createHash("sha256").update(value).digest();
  return timingSafeEqual(digest(presented), digest(stored));
}
