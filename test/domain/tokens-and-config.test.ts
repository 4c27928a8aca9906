import { loadConfig } from "../../shared/config";
import {
  CALLBACK_TOKEN_LIFETIME_MS,
  CallbackTokens,
  triggerKeyMatches,
} from "../../shared/security/tokens";

const KEY = "k".repeat(40);
const now = new Date("2026-11-28T10:00:00Z");

describe("callback tokens", () => {
  const tokens = new CallbackTokens(KEY);
  const token = tokens.issue("store-1", "42", now);

  it("verify for their own store and request only", () => {
    expect(tokens.verify(token, "store-1", "42", now)).toEqual({ ok: true });
    expect(tokens.verify(token, "store-1", "43", now)).toEqual({ ok: false, reason: "scope" });
    expect(tokens.verify(token, "store-2", "42", now)).toEqual({ ok: false, reason: "scope" });
  });

  it("expire after 30 days", () => {
    const later = new Date(now.getTime() + CALLBACK_TOKEN_LIFETIME_MS + 1);
    expect(tokens.verify(token, "store-1", "42", later)).toEqual({ ok: false, reason: "expired" });
  });

  it("refuse tampering, other keys and garbage; still verify under a previous key after rotation", () => {
    const [v, claims, mac] = token.split(".");
    const forged = Buffer.from(
      JSON.stringify({ s: "store-1", r: "43", e: Date.now() * 2 }),
    ).toString("base64url");
    expect(tokens.verify(`${v}.${forged}.${mac}`, "store-1", "43", now)).toEqual({
      ok: false,
      reason: "signature",
    });
    expect(new CallbackTokens("x".repeat(40)).verify(token, "store-1", "42", now).ok).toBe(false);
    expect(tokens.verify("garbage", "store-1", "42", now)).toEqual({
      ok: false,
      reason: "malformed",
    });
    expect(tokens.verify(`${v}.${claims}`, "store-1", "42", now)).toEqual({
      ok: false,
      reason: "malformed",
    });
    expect(new CallbackTokens("n".repeat(40), [KEY]).verify(token, "store-1", "42", now)).toEqual({
      ok: true,
    });
  });

  it("trigger keys compare exactly", () => {
    expect(triggerKeyMatches("abc", "abc")).toBe(true);
    expect(triggerKeyMatches("abd", "abc")).toBe(false);
    expect(triggerKeyMatches(null, "abc")).toBe(false);
    expect(triggerKeyMatches("", "abc")).toBe(false);
  });
});

describe("settings", () => {
  const valid = {
    AzureWebJobsStorage: "UseDevelopmentStorage=true",
    ServiceBusConnection:
      "Endpoint=sb://localhost;SharedAccessKeyName=a;SharedAccessKey=b;UseDevelopmentEmulator=true",
    RELAY_PUBLIC_BASE_URL: "https://relay.example.com/",
    RELAY_SIGNING_KEY: KEY,
    DATA_SERVICE_AUTH: "none",
  };

  it("load a valid environment with defaults", () => {
    const config = loadConfig(valid);
    expect(config.publicBaseUrl).toBe("https://relay.example.com");
    expect(config.flowMaxAttempts).toBe(8);
    expect(config.allowedFlowHosts).toEqual([
      "*.environment.api.powerplatform.com",
      "*.logic.azure.com",
    ]);
    expect(config.flowAudience).toBe("https://service.flow.microsoft.com/");
  });

  it("take localhost, IP literals and other single-label names as allowed flow hosts", () => {
    const config = loadConfig({
      ...valid,
      RELAY_ALLOWED_FLOW_HOSTS: "*.logic.azure.com, localhost,127.0.0.1,[::1],::1,flows",
    });
    expect(config.allowedFlowHosts).toEqual([
      "*.logic.azure.com",
      "localhost",
      "127.0.0.1",
      "[::1]",
      "::1",
      "flows",
    ]);
  });

  it("use managed identity endpoints when no connection string is set", () => {
    const { AzureWebJobsStorage: _a, ServiceBusConnection: _s, ...rest } = valid;
    const config = loadConfig({
      ...rest,
      AzureWebJobsStorage__accountName: "relaystore",
      ServiceBusConnection__fullyQualifiedNamespace: "relay.servicebus.windows.net",
    });
    expect(config.tables).toEqual({
      kind: "endpoint",
      endpoint: "https://relaystore.table.core.windows.net",
    });
    expect(config.serviceBus).toEqual({
      kind: "namespace",
      fullyQualifiedNamespace: "relay.servicebus.windows.net",
    });
  });

  it.each([
    [{ RELAY_SIGNING_KEY: undefined }, "Setting RELAY_SIGNING_KEY is required"],
    [{ RELAY_SIGNING_KEY: "short" }, "Setting RELAY_SIGNING_KEY must be at least 32 characters"],
    [{ RELAY_PUBLIC_BASE_URL: "relay" }, "Setting RELAY_PUBLIC_BASE_URL must be an http(s) URL"],
    [
      { RELAY_FLOW_MAX_ATTEMPTS: "many" },
      "Setting RELAY_FLOW_MAX_ATTEMPTS must be a whole number from 1 to 50",
    ],
    [{ DATA_SERVICE_AUTH: "basic" }, "Setting DATA_SERVICE_AUTH must be dm-token, entra or none"],
    [{ RELAY_FLOW_AUDIENCE: "audience" }, "Setting RELAY_FLOW_AUDIENCE must be a URL"],
    [{ RELAY_TABLE_PREFIX: "1x" }, "Setting RELAY_TABLE_PREFIX must be letters and digits"],
    [
      {
        RELAY_SIGNING_KEY:
          "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/relay-signing-key)",
      },
      "Setting RELAY_SIGNING_KEY is a Key Vault reference that did not resolve",
    ],
    [
      { DATA_SERVICE_AUTH: "dm-token" },
      "Setting DM_SERVICE_USERNAME is required when DATA_SERVICE_AUTH is dm-token",
    ],
    [{ ServiceBusConnection: undefined }, "Setting ServiceBusConnection is required"],
    [{ RELAY_ALLOW_LOOPBACK: "perhaps" }, "Setting RELAY_ALLOW_LOOPBACK must be true or false"],
    [
      { RELAY_ALLOWED_FLOW_HOSTS: "*.logic.azure.com,a b" },
      "Setting RELAY_ALLOWED_FLOW_HOSTS must be comma-separated host names or IP addresses",
    ],
  ])("stop with one line naming the setting: %j", (change, message) => {
    expect(() => loadConfig({ ...valid, ...change })).toThrow(message);
    try {
      loadConfig({ ...valid, ...change });
    } catch (error) {
      expect((error as Error).message).not.toContain("\n");
    }
  });
});
