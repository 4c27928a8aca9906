import { SecretBox, SecretBoxError } from "../../shared/security/secret-box";

const KEY = "current-signing-key-0123456789";
const OLD_KEY = "previous-signing-key-0123456789";
const FLOW_URL =
  "https://prod-01.westeurope.environment.api.powerplatform.com/workflows/abc/triggers/manual/paths/invoke?sig=s3cr3t";

/** Flips one bit of the base64url part at `index` (1 = iv, 2 = ciphertext, 3 = tag). */
function tamper(sealed: string, index: number): string {
  const parts = sealed.split(".");
  const bytes = Buffer.from(parts[index], "base64url");
  bytes[0] ^= 0x01;
  parts[index] = bytes.toString("base64url");
  return parts.join(".");
}

describe("SecretBox", () => {
  const box = new SecretBox(KEY);

  it("round-trips text, including empty and multi-byte strings", () => {
    for (const secret of [FLOW_URL, "", "clé-🔑-鍵"]) {
      expect(box.open(box.seal(secret))).toBe(secret);
    }
  });

  it("writes a compact versioned string without the plaintext, fresh each time", () => {
    const sealed = box.seal(FLOW_URL);
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(sealed).not.toContain("s3cr3t");
    expect(box.seal(FLOW_URL)).not.toBe(sealed);
  });

  it.each([
    ["iv", 1],
    ["ciphertext", 2],
    ["tag", 3],
  ])("refuses a value whose %s was tampered with", (_part, index) => {
    expect(() => box.open(tamper(box.seal(FLOW_URL), index))).toThrow(
      /secret box: authentication failed/,
    );
  });

  it.each(["", "v1.abc", "v2.a.b.c", "v1.***.b.c", "v1.AAAA.AAAA.AAAA"])(
    "refuses the malformed value %j",
    (sealed) => {
      expect(() => box.open(sealed)).toThrow(SecretBoxError);
    },
  );

  it("refuses a value sealed with another key", () => {
    const sealed = new SecretBox("someone-elses-key-0123456789").seal(FLOW_URL);
    expect(() => box.open(sealed)).toThrow(/authentication failed/);
  });

  it("refuses a value opened under another context", () => {
    const sealed = box.seal(FLOW_URL, "link/s1/w1/requestUrl");
    expect(box.open(sealed, "link/s1/w1/requestUrl")).toBe(FLOW_URL);
    expect(() => box.open(sealed, "link/s1/w2/requestUrl")).toThrow(/authentication failed/);
  });

  it("opens values sealed with a previous key after rotation, and seals with the new one", () => {
    const sealedBefore = new SecretBox(OLD_KEY).seal(FLOW_URL);
    const rotated = new SecretBox(KEY, [OLD_KEY]);
    expect(rotated.open(sealedBefore)).toBe(FLOW_URL);
    expect(new SecretBox(KEY).open(rotated.seal(FLOW_URL))).toBe(FLOW_URL);
  });

  it("refuses an empty signing key", () => {
    expect(() => new SecretBox("")).toThrow(/signing key is empty/);
  });
});
