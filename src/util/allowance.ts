/**
 * A per-key allowance (a token bucket): up to `burst` at once, then one more every `intervalMs`.
 * The caller keeps the state per key in any map (an LRU in a service, a plain map in the
 * simulator), so the rule is the same wherever it is applied.
 */
export interface AllowanceRule {
  burst: number
  intervalMs: number
}

export interface AllowanceState {
  tokens: number
  at: number
}

interface AllowanceStore<K> {
  get: (key: K) => AllowanceState | undefined
  set: (key: K, state: AllowanceState) => unknown
}

/** Take one for `key` at `now`: false (nothing taken) when its allowance is spent. */
export function takeAllowance<K> (store: AllowanceStore<K>, key: K, now: number, rule: AllowanceRule): boolean {
  const last = store.get(key)
  const tokens = last == null ? rule.burst : Math.min(rule.burst, last.tokens + Math.max(0, now - last.at) / rule.intervalMs)
  if (tokens < 1) return false
  // Refilled up to the later of the two: a clock that stepped back must not credit that span twice.
  store.set(key, { tokens: tokens - 1, at: Math.max(now, last?.at ?? now) })
  return true
}
