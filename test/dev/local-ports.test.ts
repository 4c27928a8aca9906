import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { azuriteConnectionString } from "../../dev/azurite";
import {
  assertPortFree,
  followLocalPorts,
  portSetting,
  SAMPLE_LOCAL_VALUES,
} from "../../dev/local-ports";
import { emulatorConnectionString } from "../../dev/servicebus-emulator";

const sample = JSON.parse(
  fs.readFileSync(path.join(__dirname, "..", "..", "local.settings.sample.json"), "utf8"),
).Values as Record<string, string>;

/** An env as applyLocalSettings leaves it: `file` values taken from local.settings.json. */
function settings(file: Record<string, string>, environment: Record<string, string> = {}) {
  const env: NodeJS.ProcessEnv = { ...environment };
  const takenFromFile = new Set<string>();
  for (const [name, value] of Object.entries(file)) {
    if (env[name] !== undefined) continue;
    env[name] = value;
    takenFromFile.add(name);
  }
  return { env, takenFromFile };
}

describe("local ports", () => {
  it("knows the sample's local values (so a changed sample cannot silently stop following)", () => {
    for (const [name, value] of Object.entries(SAMPLE_LOCAL_VALUES)) {
      expect([name, sample[name]]).toEqual([name, value]);
    }
  });

  it("moves the sample's values to the ports in use", () => {
    const { env, takenFromFile } = settings(sample, {
      AZURITE_TABLE_PORT: "20002",
      SERVICEBUS_EMULATOR_PORT: "15672",
    });
    followLocalPorts(env, takenFromFile, 7081);
    expect(env.RELAY_PUBLIC_BASE_URL).toBe("http://localhost:7081");
    expect(env.AzureWebJobsStorage).toBe(azuriteConnectionString(20002));
    expect(env.ServiceBusConnection).toBe(emulatorConnectionString(15672));
  });

  it("leaves the sample's values as they are at the default ports", () => {
    const { env, takenFromFile } = settings(sample);
    followLocalPorts(env, takenFromFile, 7071);
    expect(env).toMatchObject(SAMPLE_LOCAL_VALUES);
  });

  it("derives a missing public base URL, never a missing connection string", () => {
    const { env, takenFromFile } = settings({});
    followLocalPorts(env, takenFromFile, 7090);
    expect(env).toEqual({ RELAY_PUBLIC_BASE_URL: "http://localhost:7090" });
  });

  it("keeps values set in the environment, even the sample's", () => {
    const explicit = { ...SAMPLE_LOCAL_VALUES, AZURITE_TABLE_PORT: "20002" };
    const { env, takenFromFile } = settings(sample, explicit);
    followLocalPorts(env, takenFromFile, 7081);
    expect(env).toMatchObject(explicit);
  });

  it("keeps values local.settings.json sets to something else", () => {
    const custom = {
      RELAY_PUBLIC_BASE_URL: "https://relay.example.com",
      AzureWebJobsStorage: "UseDevelopmentStorage=true",
      ServiceBusConnection:
        "Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessKeyName=a;SharedAccessKey=b",
    };
    const { env, takenFromFile } = settings(custom, { SERVICEBUS_EMULATOR_PORT: "15672" });
    followLocalPorts(env, takenFromFile, 7081);
    expect(env).toMatchObject(custom);
  });

  it.each(["abc", "-1", "65536", "70.5", "0x50", "1e3"])(
    "refuses RELAY_PORT=%s with one line naming it",
    (value) => {
      expect(() => portSetting("RELAY_PORT", { RELAY_PORT: value })).toThrow(
        new Error("Setting RELAY_PORT must be a port number (0-65535)"),
      );
    },
  );

  it("reads port settings, with their defaults when unset", () => {
    expect(portSetting("RELAY_PORT", {})).toBe(7071);
    expect(portSetting("AZURITE_TABLE_PORT", { AZURITE_TABLE_PORT: " 0 " })).toBe(0);
    expect(portSetting("SERVICEBUS_EMULATOR_PORT", { SERVICEBUS_EMULATOR_PORT: "65535" })).toBe(
      65535,
    );
  });

  it("refuses to connect to port 0 with one line naming the setting", () => {
    const { env, takenFromFile } = settings(sample, { AZURITE_TABLE_PORT: "0" });
    expect(() => followLocalPorts(env, takenFromFile, 7071)).toThrow(
      /^Setting AZURITE_TABLE_PORT is 0/,
    );
  });

  it("names the setting of a port something already listens on", async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const { port } = holder.address() as net.AddressInfo;
    try {
      await expect(assertPortFree(port, "AZURITE_TABLE_PORT")).rejects.toThrow(
        `Port ${port} (AZURITE_TABLE_PORT) is in use: `,
      );
    } finally {
      holder.close();
    }
    await expect(assertPortFree(port, "AZURITE_TABLE_PORT")).resolves.toBeUndefined();
  });
});
