/**
 * The real `CapacityTable`, fed lazily: instead of an event per advert delivery (N × view a
 * second), each node's table pulls, whenever it is read or its outstanding counts change, the
 * newest advert of each peer it knows that has reached it by then (ads.ts rings), and records it
 * with the time it arrived. Since every change of this node's outstanding tasks at a peer first
 * pulls that peer's advert, each advert is recorded before any change that came after its
 * arrival: `sentSinceAd` is what the table would hold had the advert been delivered as an event.
 */
import { CapacityTable } from '../../src/services/capacity/capacity-table.js'
import type { CapacityEntry } from '../../src/services/capacity/capacity-table.js'
import type { ValidatedAd } from '../../src/services/capacity/validate-ad.js'
import type { Clock } from '../../src/util/time.js'
import { positionInView } from './world.js'
import type { VisibleAd } from './ads.js'

export interface LazyTableInit {
  clock: Clock
  /** The peers this node knows (its view), as sorted indices. */
  known: () => ArrayLike<number>
  idOf: (peer: number) => string
  indexOf: (id: string) => number | undefined
  /** The newest advert of `peer` that has reached this node by now (and is fresh), if any. */
  visible: (peer: number) => VisibleAd | undefined
  /** The seq of `peer`'s newest advert, wherever it is yet (nothing newer can have arrived). */
  latestSeq: (peer: number) => number
  /** One decoded advert per (peer, seq), shared by every reader. */
  shared: (peer: number, seq: number, make: () => ValidatedAd) => ValidatedAd
  intervalMs: number
  kind: string
}

export class LazyCapacityTable extends CapacityTable {
  /** While recording an advert, the table's clock reads its arrival time. */
  private arrival: number | undefined
  /** Sequence number of the advert recorded per known peer (by its position in `known`). */
  private readonly recorded: Int32Array
  private readonly known: ArrayLike<number>

  constructor (private readonly lazy: LazyTableInit) {
    const clock: Clock = { now: () => this.arrival ?? lazy.clock.now() }
    super({ clock, maxPeers: Number.MAX_SAFE_INTEGER })
    this.known = lazy.known()
    this.recorded = new Int32Array(this.known.length)
  }

  override get (peerId: string): CapacityEntry | undefined {
    this.pullId(peerId)
    return super.get(peerId)
  }

  override fresh (): CapacityEntry[] {
    const known = this.known
    for (let k = 0; k < known.length; k++) this.pull(known[k], k)
    return super.fresh()
  }

  override noteSent (peerId: string): void {
    this.pullId(peerId)
    super.noteSent(peerId)
  }

  override noteDone (peerId: string): void {
    this.pullId(peerId)
    super.noteDone(peerId)
  }

  private pullId (peerId: string): void {
    const p = this.lazy.indexOf(peerId)
    if (p === undefined) return
    const k = positionInView(this.known, p)
    if (k >= 0) this.pull(p, k)
  }

  /** Record `peer`'s (at position `k` of `known`) newest advert that arrived here, if not recorded yet. */
  private pull (peer: number, k: number): void {
    if (this.recorded[k] === this.lazy.latestSeq(peer)) return
    const ad = this.lazy.visible(peer)
    if (ad === undefined || this.recorded[k] === ad.seq) return
    this.recorded[k] = ad.seq
    this.arrival = ad.receivedAt
    try {
      this.update(this.lazy.idOf(peer), ad.tailored ? this.validated(ad) : this.lazy.shared(peer, ad.seq, () => this.validated(ad)))
    } finally {
      this.arrival = undefined
    }
  }

  private validated (ad: VisibleAd): ValidatedAd {
    return {
      seq: ad.seq,
      name: '',
      cores: ad.concurrency,
      freeMemoryMb: 0,
      load: 0,
      queueDepth: ad.queueDepth,
      running: ad.running,
      concurrency: ad.concurrency,
      queueLimit: ad.queueLimit,
      kinds: [this.lazy.kind],
      meanRunMs: ad.meanRunMs === undefined ? EMPTY_RUNS : new Map([[this.lazy.kind, ad.meanRunMs]]),
      intervalMs: this.lazy.intervalMs,
      addrs: [],
      clamped: []
    }
  }
}

const EMPTY_RUNS = new Map<string, number>()
