import fc from "fast-check";
import {
  checkFlowUrl,
  checkServiceUrl,
  hostMatches,
  isHostPattern,
  redactUrl,
} from "../../shared/domain/flow-url";
import { nextAttempt } from "../../shared/domain/retry";

const policy = {
  allowedHosts: ["*.environment.api.powerplatform.com", "*.logic.azure.com"],
  allowLoopback: false,
};
const PA =
  "https://default1234.56.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/abc/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=SECRETSIG";

describe("flow URL checks", () => {
  it("accepts Power Automate and Logic Apps trigger hosts over https", () => {
    expect(checkFlowUrl(PA, policy).ok).toBe(true);
    expect(
      checkFlowUrl("https://prod-01.westeurope.logic.azure.com/workflows/x?sig=y", policy).ok,
    ).toBe(true);
  });

  it.each([
    ["http://x.environment.api.powerplatform.com/a", "must use https"],
    ["https://user:pw@x.environment.api.powerplatform.com/a", "must not carry credentials"],
    ["https://evil.example.com/a", "host evil.example.com is not in RELAY_ALLOWED_FLOW_HOSTS"],
    [
      "https://environment.api.powerplatform.com.evil.com/a",
      "host environment.api.powerplatform.com.evil.com is not in RELAY_ALLOWED_FLOW_HOSTS",
    ],
    ["https://10.0.0.4/a", "must not point at a private or link-local address"],
    ["https://169.254.169.254/metadata", "must not point at a private or link-local address"],
    ["https://[fe80::1]/a", "must not point at a private or link-local address"],
    ["https://127.0.0.1/a", "must not point at a loopback address"],
    ["https://localhost/a", "must not point at a loopback address"],
    ["not a url", "must be an absolute URL"],
  ])("refuses %s", (url, message) => {
    expect(checkFlowUrl(url, policy)).toEqual({ ok: false, message });
  });

  it("allows plain http to loopback only when RELAY_ALLOW_LOOPBACK is on and the list names the host", () => {
    const local = { allowedHosts: ["127.0.0.1", "localhost", "::1"], allowLoopback: true };
    expect(checkFlowUrl("http://127.0.0.1:8080/flow", local).ok).toBe(true);
    expect(checkFlowUrl("https://localhost/flow", local).ok).toBe(true);
    expect(checkFlowUrl("http://[::1]:8080/flow", local).ok).toBe(true);
    expect(checkFlowUrl("http://[0:0:0:0:0:0:0:1]:8080/flow", local).ok).toBe(true);
    expect(checkFlowUrl("http://192.168.1.1/flow", local).ok).toBe(false);
    expect(checkFlowUrl("http://127.0.0.1:8080/flow", { ...local, allowLoopback: false })).toEqual({
      ok: false,
      message: "must not point at a loopback address",
    });
    expect(checkServiceUrl("https://10.1.2.3/GroupIDDataService", false).ok).toBe(true);
  });

  it.each([
    "https://localhost/flow",
    "http://localhost:7072/flow",
    "http://[::1]:7072/flow",
    "http://127.0.0.2:7072/flow",
    "http://127.0.0.1:7072/flow",
  ])("refuses loopback %s that the list does not name, loopback allowed or not", (url) => {
    const host = new URL(url).hostname;
    expect(checkFlowUrl(url, { ...policy, allowLoopback: true })).toEqual({
      ok: false,
      message: `host ${host} is not in RELAY_ALLOWED_FLOW_HOSTS`,
    });
    expect(checkFlowUrl(url, policy)).toEqual({
      ok: false,
      message: "must not point at a loopback address",
    });
  });

  it("matches list entries: single labels, IP literals with or without brackets, wildcards below a domain only", () => {
    expect(hostMatches("localhost", ["LocalHost"])).toBe(true);
    expect(hostMatches("[::1]", ["[::1]"])).toBe(true);
    expect(hostMatches("[::1]", ["::1"])).toBe(true);
    expect(hostMatches("127.0.0.1", ["127.0.0.1"])).toBe(true);
    expect(hostMatches("127.0.0.2", ["127.0.0.1"])).toBe(false);
    expect(hostMatches("a.logic.azure.com", ["*.logic.azure.com"])).toBe(true);
    expect(hostMatches("logic.azure.com", ["*.logic.azure.com"])).toBe(false);
    expect(hostMatches("evillogic.azure.com", ["*.logic.azure.com"])).toBe(false);
    for (const entry of ["localhost", "127.0.0.1", "::1", "[::1]", "flows", "*.logic.azure.com"])
      expect(isHostPattern(entry)).toBe(true);
    for (const entry of ["", "*", "*.com", "a b", "a..b", "-a", "http://x", "[::1", "a/b"])
      expect(isHostPattern(entry)).toBe(false);
  });

  it("redacts the signature and keeps the rest", () => {
    const redacted = redactUrl(PA);
    expect(redacted).not.toContain("SECRETSIG");
    expect(redacted).toContain("sig=REDACTED");
    expect(redacted).toContain("api-version=1");
  });
});

describe("retry schedule", () => {
  const retry = { maxAttempts: 8, baseMs: 1000, maxMs: 60_000 };

  it("stops at the budget and otherwise waits within the exponential window, never before Retry-After", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.option(fc.integer({ min: 0, max: 10 * 60_000 }), { nil: undefined }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (attempt, retryAfterMs, random) => {
          const next = nextAttempt(attempt, retry, retryAfterMs, () => random);
          if (attempt >= retry.maxAttempts) return expect(next).toEqual({ retry: false });
          if (!next.retry) throw new Error("expected a retry");
          const ceiling = Math.min(retry.maxMs, retry.baseMs * 2 ** (attempt - 1));
          expect(next.delayMs).toBeGreaterThanOrEqual(Math.max(ceiling / 2, retryAfterMs ?? 0) - 1);
          expect(next.delayMs).toBeLessThanOrEqual(Math.max(ceiling, retryAfterMs ?? 0) + 1);
        },
      ),
    );
  });

  it("grows with the attempt", () => {
    const delays = [1, 2, 3, 4].map((a) => nextAttempt(a, retry, undefined, () => 0));
    expect(delays).toEqual([500, 1000, 2000, 4000].map((delayMs) => ({ retry: true, delayMs })));
  });
});
