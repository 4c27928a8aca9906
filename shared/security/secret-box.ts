import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

const VERSION = "v1";
const ALGORITHM = "aes-256-gcm";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
/** HKDF info: changing it yields unrelated keys, so it doubles as the format's key version. */
const PURPOSE = "dm-flow-relay/secret-box/v1";
const SALT = "dm-flow-relay";
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Authenticated encryption (AES-256-GCM) of secrets kept at rest, such as a flow URL or a trigger
 * key. The AES key is derived from the relay's signing key with HKDF-SHA256 and a purpose label, so
 * the signing key itself never encrypts anything and the two uses cannot be confused.
 *
 * Sealed format: `v1.<iv>.<ciphertext>.<tag>`, each part base64url.
 */
export class SecretBox {
  private readonly keys: Buffer[];

  /**
   * @param signingKey the current signing key; new secrets are sealed with it.
   * @param previousKeys keys rotated out, still accepted by `open` so stored secrets stay readable.
   */
  constructor(signingKey: string, previousKeys: readonly string[] = []) {
    this.keys = [signingKey, ...previousKeys].map(deriveKey);
  }

  /**
   * @param context binds the ciphertext to where it is stored (e.g. the record and field), so a
   *   sealed value copied to another record or field fails to open.
   */
  seal(plaintext: string, context = ""): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.keys[0], iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, "utf8"));
    const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    const parts = [iv, ciphertext, cipher.getAuthTag()].map((part) => part.toString("base64url"));
    return [VERSION, ...parts].join(".");
  }

  /** The plaintext; throws SecretBoxError when the value is malformed, tampered with or sealed under another key or context. */
  open(sealed: string, context = ""): string {
    const parts = sealed.split(".");
    if (parts.length !== 4 || parts[0] !== VERSION || parts.some((p) => !BASE64URL.test(p))) {
      throw new SecretBoxError("malformed sealed value");
    }
    const [iv, ciphertext, tag] = parts.slice(1).map((p) => Buffer.from(p, "base64url"));
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
      throw new SecretBoxError("malformed sealed value");
    }
    for (const key of this.keys) {
      const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context, "utf8"));
      decipher.setAuthTag(tag);
      try {
        return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString("utf8");
      } catch {
        // GCM authentication failed under this key: try the next one (key rotation).
      }
    }
    throw new SecretBoxError("authentication failed (tampered, or sealed with another key)");
  }
}

export class SecretBoxError extends Error {
  constructor(reason: string) {
    super(`secret box: ${reason}`);
    this.name = "SecretBoxError";
  }
}

function deriveKey(signingKey: string): Buffer {
  if (!signingKey) throw new SecretBoxError("the signing key is empty");
  return Buffer.from(hkdfSync("sha256", signingKey, SALT, PURPOSE, KEY_BYTES));
}
