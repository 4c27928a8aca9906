import { z } from "zod";
import { checkServiceUrl } from "../domain/flow-url";
import type { StoreRegistration } from "../domain/model";
import type { RelayDeps } from "./deps";
import { notFound } from "./errors";
import { parseBody } from "./validation";

const dnsLabel = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
/** Dataverse region hosts: crm (North America), crm2 ... crm29 (crm4 EMEA, crm5 APAC, ...). */
const dataverseRegion = /^crm([2-9]|[12][0-9])?$/;
const guid = z.guid({ message: "must be a GUID" });

/** The Data service may sit on a private network (VNet integration): no host allow-list here. */
function serviceUrl(deps: RelayDeps) {
  return z.string().superRefine((value, ctx) => {
    const check = checkServiceUrl(value, deps.settings.flowUrlPolicy.allowLoopback);
    if (!check.ok) ctx.addIssue({ code: "custom", message: check.message });
  });
}

function registrationSchema(deps: RelayDeps) {
  return z
    .object({
      organizationCode: z.string().regex(dnsLabel, { message: "must be a DNS label" }),
      region: z.string().regex(dataverseRegion, {
        message: "must be a Dataverse region label such as crm or crm4",
      }),
      dataServiceUrl: serviceUrl(deps),
      securityServiceUrl: serviceUrl(deps).optional(),
      identityStoreId: z
        .number({ message: "must be a number" })
        .int()
        .positive({ message: "must be a positive integer" }),
      tenantId: guid,
      clientId: guid,
    })
    .superRefine((value, ctx) => {
      if (deps.settings.requireSecurityServiceUrl && !value.securityServiceUrl)
        ctx.addIssue({
          code: "custom",
          path: ["securityServiceUrl"],
          message: "is required when the relay signs in to DM with dm-token",
        });
    });
}

export async function registerStore(
  deps: RelayDeps,
  storeId: string,
  body: string,
): Promise<StoreRegistration> {
  const input = parseBody(registrationSchema(deps), body);
  const registration: StoreRegistration = {
    storeId,
    ...input,
    dataServiceUrl: input.dataServiceUrl.replace(/\/+$/, ""),
    ...(input.securityServiceUrl && {
      securityServiceUrl: input.securityServiceUrl.replace(/\/+$/, ""),
    }),
    organizationCode: input.organizationCode.toLowerCase(),
    updatedAt: deps.clock.now().toISOString(),
  };
  await deps.stores.put(registration);
  return registration;
}

export async function getStore(deps: RelayDeps, storeId: string): Promise<StoreRegistration> {
  const registration = await deps.stores.get(storeId);
  if (!registration) throw notFound(`store ${storeId} is not registered`);
  return registration;
}

export async function listStores(deps: RelayDeps): Promise<{ stores: StoreRegistration[] }> {
  return { stores: await deps.stores.list() };
}
