/** Bearer tokens from DM's Security Service (`DATA_SERVICE_AUTH=dm-token`), one per identity store. */
import type { Clock, DataServiceTarget } from "../ports";
import {
  DEFAULT_TIMEOUT_MS,
  type FailureOutcome,
  classifyTransportError,
  createHttpClient,
  deadline,
  describeAnswer,
  isSuccessStatus,
  isTransientStatus,
  joinUrl,
  parseJson,
  propertyOf,
  transientAnswer,
} from "./http-outcome";

export type DmTokenOutcome = { kind: "ok"; token: string } | FailureOutcome;

/** What the Data service client needs of a DM token provider. */
export interface DmTokens {
  getToken(target: DataServiceTarget): Promise<DmTokenOutcome>;
  /**
   * Forgets the store's token after the Data service refused it. Given the refused token, a newer
   * one fetched meanwhile by a concurrent call is kept.
   */
  invalidate(storeId: string, refusedToken?: string): void;
}

export interface DmTokenProviderOptions {
  username: string;
  password: string;
  clientId: string;
  clientSecret: string;
  timeoutMs?: number;
  clock?: Clock;
}

interface CachedToken {
  /** The Security Service and identity store the token was issued for. */
  issuer: string;
  token: string;
  refreshAtMs: number;
}

const SERVICE = "DM Security Service";
/** Refresh this long before expiry, or 10% of the lifetime for short-lived tokens. */
const REFRESH_MARGIN_MS = 60_000;

export class DmTokenProvider implements DmTokens {
  private readonly http = createHttpClient();
  private readonly cache = new Map<string, CachedToken>();
  /** Fetches under way by store and issuer, shared by concurrent callers. */
  private readonly inFlight = new Map<string, Promise<DmTokenOutcome>>();
  private readonly timeoutMs: number;
  private readonly clock: Clock;

  constructor(private readonly options: DmTokenProviderOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.clock = options.clock ?? { now: () => new Date() };
  }

  async getToken(target: DataServiceTarget): Promise<DmTokenOutcome> {
    const { securityServiceUrl } = target;
    if (!securityServiceUrl) {
      return {
        kind: "permanent",
        reason: `store ${target.storeId} has no securityServiceUrl for a DM token`,
      };
    }
    // A re-registered store (other URL or identity store) must not reuse the old store's token.
    const issuer = `${securityServiceUrl} ${target.identityStoreId}`;
    const cached = this.cache.get(target.storeId);
    if (cached && cached.issuer === issuer && this.nowMs() < cached.refreshAtMs) {
      return { kind: "ok", token: cached.token };
    }

    const fetchKey = `${target.storeId} ${issuer}`;
    let fetching = this.inFlight.get(fetchKey);
    if (!fetching) {
      fetching = this.fetchToken(
        target.storeId,
        issuer,
        securityServiceUrl,
        target.identityStoreId,
      ).finally(() => this.inFlight.delete(fetchKey));
      this.inFlight.set(fetchKey, fetching);
    }
    return fetching;
  }

  invalidate(storeId: string, refusedToken?: string): void {
    const cached = this.cache.get(storeId);
    if (cached && (refusedToken === undefined || cached.token === refusedToken)) {
      this.cache.delete(storeId);
    }
  }

  private async fetchToken(
    storeId: string,
    issuer: string,
    securityServiceUrl: string,
    identityStoreId: number,
  ): Promise<DmTokenOutcome> {
    const form = new URLSearchParams({
      grant_type: "password",
      username: this.options.username,
      password: this.options.password,
      client_id: this.options.clientId,
      client_secret: this.options.clientSecret,
      identity_store_id: String(identityStoreId),
    });
    const requestedAtMs = this.nowMs();
    let response;
    try {
      response = await this.http.post<string>(
        joinUrl(securityServiceUrl, "connect/token"),
        form.toString(),
        {
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            accept: "application/json",
          },
          ...deadline(this.timeoutMs),
        },
      );
    } catch (error) {
      return classifyTransportError(error, SERVICE, this.timeoutMs);
    }

    if (response.status === 400 || response.status === 401) {
      return {
        kind: "permanent",
        reason: `${SERVICE} refused the credentials: ${describeAnswer(response)}`,
      };
    }
    if (!isSuccessStatus(response.status)) {
      const reason = `${SERVICE} answered ${describeAnswer(response)}`;
      return isTransientStatus(response.status)
        ? transientAnswer(response, reason)
        : { kind: "permanent", reason };
    }

    const body = parseJson(response.data);
    const token = propertyOf(body, "access_token");
    if (typeof token !== "string" || token === "") {
      return { kind: "permanent", reason: `${SERVICE} answered without an access_token` };
    }
    const lifetimeMs = Number(propertyOf(body, "expires_in")) * 1000;
    // Without a usable expires_in the token serves this call only; a 401 would expire it anyway.
    if (Number.isFinite(lifetimeMs) && lifetimeMs > 0) {
      const marginMs = Math.min(REFRESH_MARGIN_MS, lifetimeMs / 10);
      this.cache.set(storeId, {
        issuer,
        token,
        refreshAtMs: requestedAtMs + lifetimeMs - marginMs,
      });
    }
    return { kind: "ok", token };
  }

  private nowMs(): number {
    return this.clock.now().getTime();
  }
}
