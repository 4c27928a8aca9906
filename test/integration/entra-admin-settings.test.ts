/** The settings of admin sign-in with Entra ID: where the relay may read the tenant's keys. */
import { DUMMY_RELAY_SETTINGS } from "../../bench/dummy-settings";
import { loadConfig } from "../../shared/config";

const entra = {
  ...DUMMY_RELAY_SETTINGS,
  RELAY_ADMIN_AUTH: "entra",
  RELAY_ADMIN_TENANT_ID: "9b1c7e2a-5d4f-4e8a-b3c6-2f7d1a0e9c55",
  RELAY_ADMIN_AUDIENCE: "api://dm-flow-relay, 4e0c2b9d-8a1f-4c3e-9d7b-6a5f0e1d2c3b",
};

it("reads the keys from Entra's public authority by default", () => {
  expect(loadConfig(entra).adminAuth).toEqual({
    mode: "entra",
    tenantId: "9b1c7e2a-5d4f-4e8a-b3c6-2f7d1a0e9c55",
    audiences: ["api://dm-flow-relay", "4e0c2b9d-8a1f-4c3e-9d7b-6a5f0e1d2c3b"],
    authority: "https://login.microsoftonline.com",
  });
});

it.each([
  [{ RELAY_ADMIN_AUTHORITY: "http://login.contoso.com" }, "must use https"],
  [{ RELAY_ADMIN_AUTHORITY: "http://127.0.0.1:4000" }, "must not point at a loopback address"],
  [{ RELAY_ADMIN_AUTHORITY: "https://admin:pw@login.contoso.com" }, "must not carry credentials"],
])("refuses the authority %j", (change, message) => {
  expect(() => loadConfig({ ...entra, ...change })).toThrow(
    `Setting RELAY_ADMIN_AUTHORITY ${message}`,
  );
});

it("takes a loopback authority only with RELAY_ALLOW_LOOPBACK=true (tests)", () => {
  const config = loadConfig({
    ...entra,
    RELAY_ADMIN_AUTHORITY: "http://127.0.0.1:4000/",
    RELAY_ALLOW_LOOPBACK: "true",
  });
  expect(config.adminAuth).toMatchObject({ authority: "http://127.0.0.1:4000" });
});
