/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half random, so retries from
 * many nodes spread out but a retry never comes sooner than half the nominal delay.
 */
export interface BackoffPolicy {
  /** First delay, ms. */
  minMs: number
  /** Upper bound of the nominal delay, ms; the backoff never gives up, it just stops growing. */
  maxMs: number
}

export function backoffDelay (attempt: number, policy: BackoffPolicy, random: () => number): number {
  const nominal = Math.min(policy.maxMs, policy.minMs * 2 ** Math.max(0, Math.min(attempt, 30)))
  return nominal / 2 + random() * nominal / 2
}
