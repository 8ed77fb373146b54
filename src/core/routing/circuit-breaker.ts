import { SECOND, MINUTE } from '../../util/time.js'

/**
 * A circuit breaker per peer: after `threshold` consecutive failures (a dead or hanging peer),
 * stop sending it tasks for `cooldownMs`, doubling on each re-open up to `maxCooldownMs`. After
 * the cooldown it is half-open: one task may try; success closes it, failure re-opens it.
 */
export interface BreakerParams {
  /** Consecutive failures that open the breaker. Default 3. */
  threshold: number
  /** First open period, ms. Default 5 s. */
  cooldownMs: number
  /** Longest open period, ms. Default 2 min. */
  maxCooldownMs: number
  /** Peers tracked at most (the oldest entries go first). Default 5,000. */
  maxPeers: number
}

export const DEFAULT_BREAKER_PARAMS: BreakerParams = {
  threshold: 3,
  cooldownMs: 5 * SECOND,
  maxCooldownMs: 2 * MINUTE,
  maxPeers: 5_000
}

interface BreakerState {
  failures: number
  openUntil: number
  opens: number
}

export class CircuitBreakers {
  private readonly peers = new Map<string, BreakerState>()

  constructor (private readonly params: BreakerParams = DEFAULT_BREAKER_PARAMS) {}

  /** True while the peer must not be sent tasks. */
  isOpen (peer: string, now: number): boolean {
    const s = this.peers.get(peer)
    return s != null && s.openUntil > now
  }

  success (peer: string): void {
    this.peers.delete(peer)
  }

  /** Open at once (a peer that sat on a task: no need to wait for three in a row). */
  trip (peer: string, now: number): void {
    for (let i = 0; i < this.params.threshold; i++) this.failure(peer, now)
  }

  failure (peer: string, now: number): void {
    let s = this.peers.get(peer)
    if (s == null) {
      if (this.peers.size >= this.params.maxPeers) {
        const oldest = this.peers.keys().next().value
        if (oldest != null) this.peers.delete(oldest)
      }
      s = { failures: 0, openUntil: 0, opens: 0 }
      this.peers.set(peer, s)
    }
    s.failures++
    // A half-open trial that fails re-opens at once; otherwise wait for the threshold.
    const halfOpen = s.opens > 0 && s.openUntil <= now
    if (halfOpen || s.failures >= this.params.threshold) {
      s.openUntil = now + Math.min(this.params.maxCooldownMs, this.params.cooldownMs * 2 ** s.opens)
      s.opens++
      s.failures = 0
    }
  }
}
