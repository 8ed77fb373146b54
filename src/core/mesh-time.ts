/**
 * The mesh's time as this node can measure it: the median of its own wall clock and the wall
 * clocks its peers report (capacity ads carry the sender's clock). A node whose clock is a day
 * off learns it from the first few ads, without trusting any single peer: with three clocks or
 * more, fewer than half of them lying cannot move the median outside the honest ones. With an
 * even count it is the lower of the two middle clocks: a clock ahead is the dangerous one (its
 * versions win), so half the clocks running fast must not move the mesh's time forward.
 *
 * A peer's clock is remembered relative to this node's monotonic clock, for an hour after it was
 * last heard: a short partition does not change what the node believes the mesh's time is, and a
 * step of the local wall clock (an operator fixing it) shows in the offset at once.
 */
import { MAX_WALL_MS } from './hlc.js'
import { DAY, HOUR } from '../util/time.js'
import type { Clock } from '../util/time.js'

/** How long a peer's clock reading is used after the peer was last heard. */
export const DEFAULT_CLOCK_MEMORY_MS = 1 * HOUR
/** Peers whose clocks are remembered at most (the most recently heard are kept). */
export const DEFAULT_MAX_CLOCK_PEERS = 256
/**
 * The largest correction the mesh's time may apply to this node's clock. Half the tombstone
 * grace period (7 days): a correction never dates anything older than the peers' horizon, and a
 * majority of lying peers can move this node's time by at most this much.
 */
export const DEFAULT_MAX_CORRECTION_MS = 3.5 * DAY

export interface MeshTimeInit {
  /** This node's wall clock, ms since the epoch. */
  wall: Clock
  /** A clock that never steps (e.g. performance.now()): peers' clocks are kept relative to it. */
  monotonic: Clock
  /** How long a peer's clock reading is used after it was last heard, ms. Default 1 h. */
  memoryMs?: number
  /** Peers remembered at most. Default 256. */
  maxPeers?: number
  /** Largest correction of this node's clock, ms. Default 3.5 days. */
  maxCorrectionMs?: number
}

/** What this node knows of the mesh's time right now. */
export interface MeshTimeView {
  /** This node's wall clock now. */
  wallMs: number
  /** Clocks the median is taken over: this node's and every peer's heard within the memory. */
  clocks: number
  /** The median of those clocks now (the lower middle one of an even count); undefined alone. */
  medianMs?: number
  /** wallMs − medianMs: how far this node's clock is ahead (negative: behind); undefined alone. */
  offsetMs?: number
  /** The lowest peer clock now; undefined alone. */
  lowestPeerMs?: number
  /**
   * The time this node's cache runs on: the median once a majority can be told (3 clocks or
   * more), kept within maxCorrectionMs of the wall clock; else the wall clock.
   */
  referenceMs: number
  /** True when referenceMs is the median cut to maxCorrectionMs. */
  capped: boolean
}

interface PeerClock {
  /** The peer's wall clock minus this node's monotonic clock, when last heard. */
  minusMonotonic: number
  /** This node's monotonic clock when the peer was last heard. */
  heardAt: number
}

export class MeshTime {
  private readonly wall: Clock
  private readonly monotonic: Clock
  private readonly memoryMs: number
  private readonly maxPeers: number
  readonly maxCorrectionMs: number
  /** Map order = order last heard (re-inserted on every sample), so the stalest come first. */
  private readonly peers = new Map<string, PeerClock>()
  /** The peers' minusMonotonic values in ascending order; undefined after any change. */
  private sorted: number[] | undefined

  constructor (init: MeshTimeInit) {
    this.wall = init.wall
    this.monotonic = init.monotonic
    this.memoryMs = init.memoryMs ?? DEFAULT_CLOCK_MEMORY_MS
    this.maxPeers = init.maxPeers ?? DEFAULT_MAX_CLOCK_PEERS
    this.maxCorrectionMs = init.maxCorrectionMs ?? DEFAULT_MAX_CORRECTION_MS
    if (!(this.memoryMs > 0) || !(this.maxPeers >= 1) || !(this.maxCorrectionMs >= 0)) throw new RangeError('memoryMs and maxPeers must be positive, maxCorrectionMs not negative')
  }

  /**
   * A peer's wall clock read `transitMs` ago (half a round trip, when known). Ignored unless it is
   * a plausible time (an integer in 0..MAX_WALL_MS).
   */
  record (peer: string, peerWallMs: number, transitMs = 0): void {
    if (!Number.isSafeInteger(peerWallMs) || peerWallMs <= 0 || peerWallMs > MAX_WALL_MS) return
    const transit = Number.isFinite(transitMs) && transitMs > 0 ? transitMs : 0
    const now = this.monotonic.now()
    this.peers.delete(peer)
    this.peers.set(peer, { minusMonotonic: peerWallMs + transit - now, heardAt: now })
    if (this.peers.size > this.maxPeers) this.peers.delete(this.peers.keys().next().value as string)
    this.sorted = undefined
  }

  forget (peer: string): void {
    if (this.peers.delete(peer)) this.sorted = undefined
  }

  view (): MeshTimeView {
    const wallMs = this.wall.now()
    const mono = this.monotonic.now()
    // Map order is the order peers were last heard: the stalest come first.
    for (const [id, p] of this.peers) {
      if (mono - p.heardAt <= this.memoryMs) break
      this.peers.delete(id)
      this.sorted = undefined
    }
    if (this.peers.size === 0) return { wallMs, clocks: 1, referenceMs: wallMs, capped: false }
    // Every clock as (its wall time − this node's monotonic clock): peers' stay put between
    // readings, so they are sorted once per change; this node's own goes in by binary search.
    this.sorted ??= [...this.peers.values()].map(p => p.minusMonotonic).sort((x, y) => x - y)
    const sorted = this.sorted
    const own = wallMs - mono
    let below = 0
    for (let hi = sorted.length; below < hi;) {
      const mid = (below + hi) >> 1
      if (sorted[mid] < own) below = mid + 1
      else hi = mid
    }
    const clocks = sorted.length + 1
    // The middle clock, or the lower middle one of an even count.
    const k = (clocks - 1) >> 1
    const median = k < below ? sorted[k] : k === below ? own : sorted[k - 1]
    const medianAhead = median - own
    const medianMs = Math.round(wallMs + medianAhead)
    const majority = clocks >= 3
    const correction = Math.max(-this.maxCorrectionMs, Math.min(this.maxCorrectionMs, medianAhead))
    return {
      wallMs,
      clocks,
      medianMs,
      offsetMs: wallMs - medianMs,
      lowestPeerMs: Math.round(wallMs + sorted[0] - own),
      referenceMs: majority ? Math.round(wallMs + correction) : wallMs,
      capped: majority && correction !== medianAhead
    }
  }
}
