import type { ValidatedAd } from './validate-ad.js'
import type { Clock } from '../../util/time.js'

/** One peer's last advertisement as this node sees it. */
export interface CapacityEntry {
  peerId: string
  ad: ValidatedAd
  receivedAtMs: number
  /**
   * Net change of this node's unanswered tasks at the peer since that advertisement: tasks sent
   * since (the ad cannot know them) minus ours it has finished since (the ad still counts them).
   * Negative when our work there drained.
   */
  sentSinceAd: number
}

export interface CapacityTableInit {
  clock: Clock
  /** An entry expires after this many advertisement intervals without a new one. Default 3.5. */
  expiryIntervals?: number
  /** Peers kept at most; the stalest go first. Default 5,000. */
  maxPeers?: number
}

/**
 * The live table of the capacity of the peers this node is connected to (ads travel one hop),
 * the routing input. Entries expire when not
 * refreshed, so a dead peer drops out of routing within a few advertisement intervals.
 */
export class CapacityTable {
  private readonly entries = new Map<string, CapacityEntry>()
  /** This node's unanswered tasks per peer, now and when its last advertisement arrived. */
  private readonly outstanding = new Map<string, { now: number, atAd: number }>()
  private readonly clock: Clock
  private readonly expiryIntervals: number
  private readonly maxPeers: number

  constructor (init: CapacityTableInit) {
    this.clock = init.clock
    this.expiryIntervals = init.expiryIntervals ?? 3.5
    this.maxPeers = init.maxPeers ?? 5_000
  }

  /** Record an advertisement; false when it is not newer than the one held (stale or replayed). */
  update (peerId: string, ad: ValidatedAd): boolean {
    const current = this.entries.get(peerId)
    // Only a fresh entry guards against replays: once it expired, any ad is news (the peer may
    // have restarted with a clock set back, which restarts its sequence lower).
    if (current != null && current.ad.seq >= ad.seq && this.isFresh(current)) return false
    if (current == null && this.entries.size >= this.maxPeers) this.evictStalest()
    const ours = this.outstanding.get(peerId)
    if (ours != null) ours.atAd = ours.now
    if (current == null) {
      this.entries.set(peerId, { peerId, ad, receivedAtMs: this.clock.now(), sentSinceAd: 0 })
    } else {
      // In place: no garbage per advert (each peer sends one every interval).
      current.ad = ad
      current.receivedAtMs = this.clock.now()
      current.sentSinceAd = 0
    }
    return true
  }

  /** The peer's entry while it is fresh. */
  get (peerId: string): CapacityEntry | undefined {
    const e = this.entries.get(peerId)
    return e != null && this.isFresh(e) ? e : undefined
  }

  /** Every fresh entry (into `into` when given: emptied first, so routing reuses one array). */
  fresh (into?: CapacityEntry[]): CapacityEntry[] {
    const now = this.clock.now()
    const out = into ?? []
    // Written in place and cut once: emptying first would drop the array's storage every time.
    let n = 0
    for (const e of this.entries.values()) if (this.isFresh(e, now)) out[n++] = e
    out.length = n
    return out
  }

  /** Last entry whether fresh or not (for display). */
  last (peerId: string): CapacityEntry | undefined {
    return this.entries.get(peerId)
  }

  /** A task went to the peer. */
  noteSent (peerId: string): void {
    this.track(peerId, +1)
  }

  /** The peer answered a task (or was given up on). */
  noteDone (peerId: string): void {
    this.track(peerId, -1)
  }

  delete (peerId: string): void {
    this.entries.delete(peerId)
    this.outstanding.delete(peerId)
  }

  private track (peerId: string, delta: number): void {
    let ours = this.outstanding.get(peerId)
    if (ours == null) {
      ours = { now: 0, atAd: 0 }
      this.outstanding.set(peerId, ours)
    }
    ours.now = Math.max(0, ours.now + delta)
    const e = this.entries.get(peerId)
    if (e != null) e.sentSinceAd = ours.now - ours.atAd
    if (ours.now === 0 && ours.atAd === 0 && e == null) this.outstanding.delete(peerId)
  }

  /** Drop expired entries (called periodically; reads already ignore them). */
  prune (): void {
    for (const [id, e] of this.entries) if (!this.isFresh(e)) this.entries.delete(id)
  }

  get size (): number {
    return this.entries.size
  }

  private isFresh (e: CapacityEntry, now = this.clock.now()): boolean {
    return now - e.receivedAtMs <= e.ad.intervalMs * this.expiryIntervals
  }

  /** Only when the table is full (rare): a scan for the entry heard from longest ago. */
  private evictStalest (): void {
    let stalest: CapacityEntry | undefined
    for (const e of this.entries.values()) if (stalest == null || e.receivedAtMs < stalest.receivedAtMs) stalest = e
    if (stalest != null) this.entries.delete(stalest.peerId)
  }
}
