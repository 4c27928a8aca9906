export interface RetryPolicy {
  maxAttempts: number;
  baseMs: number;
  maxMs: number;
}

export type NextAttempt = { retry: true; delayMs: number } | { retry: false };

/** Longest Retry-After honoured, so a misbehaving server cannot park a request for weeks. */
const RETRY_AFTER_CEILING_MS = 6 * 60 * 60 * 1000;

/**
 * After attempt `attempt` (1-based) failed transiently: whether to try again and when.
 * Exponential backoff with "equal jitter" (half fixed, half random), never sooner than the
 * server's Retry-After.
 */
export function nextAttempt(
  attempt: number,
  policy: RetryPolicy,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): NextAttempt {
  if (attempt >= policy.maxAttempts) return { retry: false };
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
  const backoff = Math.round(ceiling / 2 + random() * (ceiling / 2));
  const floor = Math.min(Math.max(retryAfterMs ?? 0, 0), RETRY_AFTER_CEILING_MS);
  return { retry: true, delayMs: Math.max(backoff, floor) };
}
