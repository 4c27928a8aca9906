/**
 * What the functions need once they are invoked: the relay's dependencies (the composition root),
 * the use cases and the HTTP helpers. `shared/runtime.ts` loads this module on the first
 * invocation, so nothing of it (the Azure SDKs, axios, zod) is loaded while the app starts; the
 * build bundles it on its own (`dist/functions/relay-kit.js`).
 */
import { acceptTrigger } from "./app/accept-trigger";
import { applyDecision } from "./app/apply-decision";
import { claimRequest } from "./app/claim";
import { dispatchToFlow } from "./app/dispatch";
import { createFlow, getFlowTemplate } from "./app/flow-setup";
import { checkHealth } from "./app/health";
import { getLink, linkWorkflow, listLinks, unlinkWorkflow } from "./app/links";
import { recordDecision } from "./app/record-decision";
import { reconcile } from "./app/reconcile";
import { getRequestStatus, listRequests, redriveRequest } from "./app/requests";
import { openApiDocument } from "./http/openapi";
import { getStore, listStores, registerStore } from "./app/stores";

export { parseStepMessage } from "./app/step-message";
export { getAdminAuthenticator, getRelay } from "./composition";
export { actorFields, admitAdmin } from "./http/admin-access";
export { errorResponse, json } from "./http/responses";
export { routeIds } from "./http/route-ids";

export const useCases = {
  checkHealth,
  registerStore,
  getStore,
  listStores,
  linkWorkflow,
  getLink,
  listLinks,
  unlinkWorkflow,
  getFlowTemplate,
  createFlow,
  acceptTrigger,
  claimRequest,
  recordDecision,
  getRequestStatus,
  listRequests,
  redriveRequest,
  dispatchToFlow,
  applyDecision,
  reconcile,
  openApiDocument,
};

export type UseCases = typeof useCases;
