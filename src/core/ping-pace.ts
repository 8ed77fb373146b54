import { SECOND } from '../util/time.js'

/**
 * How often a connected peer is pinged for RTT. A new link gets a few quick samples, so routing
 * has a measured RTT within seconds; once `warmupSamples` samples agree, the link is settled
 * and pinged every `settledMs` only: a LAN link's RTT does not move while the node idles, and
 * each ping costs a new stream (multistream-select, a peer-store write at both ends, ~600 bytes
 * on the wire). Measured on three idle daemons on loopback: pings every 2 s were about half of
 * each link's bytes and a large share of the idle CPU. A sample far from the estimate (the path
 * changed, the peer got loaded) makes the link unsettled again: quick pings until it agrees.
 */
export interface PingPace {
  /** Gap between pings of an unsettled link, ms. */
  quickMs: number
  /** Gap between pings of a settled link, ms (never below `quickMs`). */
  settledMs: number
  /** Samples in a row that agree with the estimate before a link counts as settled. */
  warmupSamples: number
  /** A sample differing from the estimate by more than this share of it… */
  changeRatio: number
  /** …and by more than this, ms, is a change (a busy machine's scheduling jitter is not: on two
   * loaded cores loopback pings of a 2 ms link ranged 1-7 ms). */
  changeFloorMs: number
}

export const DEFAULT_PING_PACE: PingPace = {
  quickMs: 2 * SECOND,
  settledMs: 30 * SECOND,
  warmupSamples: 5,
  changeRatio: 0.5,
  changeFloorMs: 10
}

/** Gap before the next ping of a link that has had `steadySamples` agreeing samples in a row. */
export function pingGapMs (pace: PingPace, steadySamples: number): number {
  return steadySamples >= pace.warmupSamples ? Math.max(pace.quickMs, pace.settledMs) : pace.quickMs
}

/** Does `sampleMs` say the link changed from its estimate (so it should be watched closely again)? */
export function isRttChange (pace: PingPace, estimateMs: number | undefined, sampleMs: number): boolean {
  if (estimateMs == null) return false
  const diff = Math.abs(sampleMs - estimateMs)
  return diff > pace.changeFloorMs && diff > pace.changeRatio * estimateMs
}
