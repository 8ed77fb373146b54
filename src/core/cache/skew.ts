/**
 * The clock-skew rule of the replicated cache (protocols/cache.md, "Clock skew"). Versions carry
 * the writer's wall time and the newer one wins, so a node must never share a version its peers
 * will refuse as future-dated (it would be acknowledged here and lost everywhere else), nor accept
 * one they refuse (it would stay here alone). Everything below is a pure function of what the node
 * measured of its peers' clocks (MeshTimeView) and the drift bound D (60 s by default):
 *
 * - remote versions are accepted up to reference + D;
 * - local versions are stamped from min(wall clock, reference): peers can hold this node's
 *   clock back to the mesh's time, never push it ahead of its own clock;
 * - a local write is acknowledged only if its version falls in the range every peer accepts,
 *   with D/2 of margin for the error of each node's measurement; alone (no peer clock known)
 *   there is no range, and the write stays unshared until the node knows one (services/cache/
 *   settle.ts: released as it is when inside the range, re-dated first when not).
 */
import type { MeshTimeView } from '../mesh-time.js'

export interface CacheTime {
  /** The cache's "now": TTL expiry, the tombstone horizon and collection use it. */
  nowMs: number
  /** The physical part of new versions (the hybrid logical clock's clock). */
  stampFromMs: number
  /** Remote versions whose wall time is above this are refused as future-dated. */
  acceptUpToMs: number
  /** Shared versions must fall in [lo, hi]; undefined while alone (no peer clock known). */
  writeRange?: { lo: number, hi: number }
  /** Why writes may be refused, for errors and `status`. */
  basis: 'alone' | 'one peer' | 'majority'
}

export interface SkewBounds {
  /** How far ahead of the reference a remote version may be (D). */
  maxDriftMs: number
  /** The largest correction of the wall clock (MeshTime's), which also bounds how old a new version may be. */
  maxCorrectionMs: number
}

export function cacheTime (view: MeshTimeView, bounds: SkewBounds): CacheTime {
  const d = bounds.maxDriftMs
  const ref = view.referenceMs
  const base = { nowMs: ref, stampFromMs: Math.min(view.wallMs, ref), acceptUpToMs: ref + d }
  if (view.clocks >= 3 && view.medianMs != null) {
    const median = view.medianMs
    return { ...base, writeRange: { lo: median - bounds.maxCorrectionMs, hi: median + d / 2 }, basis: 'majority' }
  }
  if (view.clocks === 2 && view.lowestPeerMs != null) {
    // One peer: nobody can tell whose clock is wrong. The reference stays this node's own clock
    // (so a lying peer moves nothing), and the node ahead stops writing: the other would refuse.
    const peer = view.lowestPeerMs
    return { ...base, writeRange: { lo: peer - bounds.maxCorrectionMs, hi: Math.min(view.wallMs, peer) + d / 2 }, basis: 'one peer' }
  }
  return { ...base, basis: 'alone' }
}

/** Why a version is outside the write range, as one line for the user; undefined when inside. */
export function writeRefusal (stampMs: number, time: CacheTime, view: MeshTimeView): string | undefined {
  const range = time.writeRange
  if (range == null || (stampMs >= range.lo && stampMs <= range.hi)) return undefined
  const offset = view.offsetMs ?? 0
  const dir = offset >= 0 ? 'ahead of' : 'behind'
  if (time.basis === 'majority' && view.capped) {
    return `cache writes are refused: this node's clock is ${formatSeconds(Math.abs(offset))} ${dir} the median of ${view.clocks} clocks (its own and its peers'), more than it corrects by itself; fix the system clock (e.g. enable NTP)`
  }
  if (time.basis === 'one peer' && (view.wallMs > range.hi || view.wallMs < range.lo)) {
    const gap = view.wallMs - (view.lowestPeerMs ?? view.wallMs)
    return `cache writes are refused: this node's clock is ${formatSeconds(Math.abs(gap))} ${gap >= 0 ? 'ahead of' : 'behind'} its only peer's, and with one peer it cannot tell whose is wrong; fix the system clock (e.g. enable NTP) or connect a third node`
  }
  return `cache writes are refused for now: this node's newest version is ${formatSeconds(stampMs - range.hi)} ahead of what its peers accept; retry in a moment`
}

function formatSeconds (ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}
