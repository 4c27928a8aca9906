import type { FlowUrlPolicy } from "../domain/flow-url";
import type { ReconcileRules } from "../domain/reconcile";
import type { RetryPolicy } from "../domain/retry";
import type { Logger } from "../logging";
import type {
  Clock,
  DataServiceClient,
  FlowClient,
  HealthProbe,
  LinkRepository,
  MessageQueue,
  PowerPlatformClient,
  RequestRepository,
  StoreRepository,
} from "../ports";
import type { CallbackTokens } from "../security/tokens";
import type { FlowPacer } from "./flow-pacer";

export interface RelaySettings {
  publicBaseUrl: string;
  flowUrlPolicy: FlowUrlPolicy;
  /** Registrations must name a Security Service when the relay signs in to DM with dm-token. */
  requireSecurityServiceUrl: boolean;
  flowRetry: RetryPolicy;
  applyRetry: RetryPolicy;
  reconcile: ReconcileRules;
}

/** Everything the use cases need, built once by the composition root. */
export interface RelayDeps {
  stores: StoreRepository;
  links: LinkRepository;
  requests: RequestRepository;
  queue: MessageQueue;
  flows: FlowClient;
  dataService: DataServiceClient;
  powerPlatform: PowerPlatformClient;
  tokens: CallbackTokens;
  /** The call rate of each flow, kept across this instance's concurrent dispatches. */
  pacer: FlowPacer;
  probes: HealthProbe[];
  clock: Clock;
  random: () => number;
  settings: RelaySettings;
}

/** Who made an admin change: the signed-in admin (Entra) or the holder of the function key. */
export interface AdminActor {
  /** The token's `oid`, or "function-key" in key mode. */
  id: string;
  /** The token's `upn`, `preferred_username` or `name`, when it has one. */
  name?: string;
}

/** What a use case gets per invocation besides its input. */
export interface Invocation {
  log: Logger;
  /** Set on admin routes: recorded with every change the admin makes. */
  actor?: AdminActor;
}
