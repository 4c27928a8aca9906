import fs from "node:fs";
import path from "node:path";
import { environmentSchema } from "../../shared/config";
import { LOCAL_SETTING_DESCRIPTIONS, SETTING_DESCRIPTIONS } from "../../shared/config-descriptions";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const reference = fs.readFileSync(path.join(REPO_ROOT, "docs/settings.md"), "utf8");

/** The settings docs/contract.md names. */
const CONTRACT_SETTINGS = [
  "AzureWebJobsStorage",
  "TABLES_CONNECTION",
  "ServiceBusConnection",
  "ServiceBusConnection__fullyQualifiedNamespace",
  "RELAY_PUBLIC_BASE_URL",
  "RELAY_SIGNING_KEY",
  "RELAY_ALLOWED_FLOW_HOSTS",
  "RELAY_ALLOW_LOOPBACK",
  "RELAY_LOCAL_KEY",
  "RELAY_ADMIN_AUTH",
  "RELAY_ADMIN_TENANT_ID",
  "RELAY_ADMIN_AUDIENCE",
  "DATA_SERVICE_AUTH",
  "DM_SERVICE_USERNAME",
  "DM_SERVICE_PASSWORD",
  "DM_CLIENT_ID",
  "DM_CLIENT_SECRET",
  "DATA_SERVICE_SCOPE",
  "RELAY_FLOW_MAX_ATTEMPTS",
  "RELAY_APPLY_MAX_ATTEMPTS",
  "RELAY_FLOW_AUDIENCE",
  "RELAY_RECONCILE_SCHEDULE",
  "RELAY_STUCK_AFTER_MINUTES",
  "RELAY_CLAIM_TIMEOUT_MINUTES",
  "RELAY_REQUEST_TTL_DAYS",
];

describe("the settings reference", () => {
  it("describes every setting of the schema, and only those, as app settings", () => {
    expect(Object.keys(SETTING_DESCRIPTIONS).sort()).toEqual(
      Object.keys(environmentSchema.shape).sort(),
    );
    for (const setting of LOCAL_SETTING_DESCRIPTIONS)
      expect(Object.keys(environmentSchema.shape)).not.toContain(setting.name);
  });

  it("has a row with a default and a meaning for every setting, the contract's included", () => {
    const names = [
      ...Object.keys(SETTING_DESCRIPTIONS),
      ...LOCAL_SETTING_DESCRIPTIONS.map((setting) => setting.name),
    ];
    expect(names).toEqual(expect.arrayContaining(CONTRACT_SETTINGS));
    const rows = new Map(
      [...reference.matchAll(/^\| `(\w+)` +\|(.*)\|$/gm)].map((row) => [
        row[1],
        (row[2] as string).split(" | ").map((cell) => cell.trim()),
      ]),
    );
    for (const name of names) {
      const cells = rows.get(name);
      expect({ name, documented: cells !== undefined }).toEqual({ name, documented: true });
      expect(cells?.every((cell) => cell.length > 0)).toBe(true);
    }
    expect(rows.get("RELAY_FLOW_MAX_ATTEMPTS")).toEqual([
      "`8`",
      "whole number 1-50",
      "Tries of each call to a flow (429, 5xx and timeouts are retried).",
    ]);
    expect(rows.get("RELAY_PUBLIC_BASE_URL")?.[0]).toBe("**required**");
  });
});
