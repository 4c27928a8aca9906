import fc from "fast-check";
import { checkFlowUrl, checkServiceUrl, redactUrl } from "../../shared/domain/flow-url";
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

  it("allows plain http to loopback only when RELAY_ALLOW_LOOPBACK is on", () => {
    expect(checkFlowUrl("http://127.0.0.1:8080/flow", { ...policy, allowLoopback: true }).ok).toBe(
      true,
    );
    expect(checkFlowUrl("http://192.168.1.1/flow", { ...policy, allowLoopback: true }).ok).toBe(
      false,
    );
    expect(checkServiceUrl("https://10.1.2.3/GroupIDDataService", false).ok).toBe(true);
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
