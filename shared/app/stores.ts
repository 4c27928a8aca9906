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
/** Longer URLs than this are not DM's services; the limit keeps a registration well inside a Table row. */
const MAX_SERVICE_URL_LENGTH = 2048;
const serviceUrl = z
  .string({ message: "must be a URL" })
  .max(MAX_SERVICE_URL_LENGTH, { message: `must be at most ${MAX_SERVICE_URL_LENGTH} characters` })
  .meta({ format: "uri" });

/**
 * The body of `PUT .../power-automate` (CONTRACT section 1), as the OpenAPI document shows it.
 * What depends on the settings (loopback, the Security Service when DM tokens are used) is checked
 * on top of it by `registrationSchema`.
 */
export const storeRegistrationSchema = z.object({
  organizationCode: z
    .string({ message: "must be a DNS label" })
    .max(63, { message: "must be a DNS label" })
    .regex(dnsLabel, { message: "must be a DNS label" }),
  region: z
    .string({ message: "must be a Dataverse region label such as crm or crm4" })
    .regex(dataverseRegion, { message: "must be a Dataverse region label such as crm or crm4" }),
  dataServiceUrl: serviceUrl,
  securityServiceUrl: serviceUrl.optional(),
  identityStoreId: z
    .number({ message: "must be a number" })
    .int({ message: "must be a positive integer" })
    .positive({ message: "must be a positive integer" })
    .max(2_147_483_647, { message: "must be at most 2147483647" }),
  tenantId: guid,
  clientId: guid,
});

/** The Data service may sit on a private network (VNet integration): no host allow-list here. */
function checkedServiceUrl(deps: RelayDeps) {
  return (value: string, ctx: z.RefinementCtx): void => {
    const check = checkServiceUrl(value, deps.settings.flowUrlPolicy.allowLoopback);
    if (!check.ok) ctx.addIssue({ code: "custom", message: check.message });
  };
}

function registrationSchema(deps: RelayDeps) {
  const { dataServiceUrl, securityServiceUrl } = storeRegistrationSchema.shape;
  return storeRegistrationSchema
    .extend({
      dataServiceUrl: dataServiceUrl.superRefine(checkedServiceUrl(deps)),
      securityServiceUrl: securityServiceUrl
        .unwrap()
        .superRefine(checkedServiceUrl(deps))
        .optional(),
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
