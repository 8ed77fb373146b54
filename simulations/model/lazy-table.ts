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
import { blankAd } from './ads.js'
import type { VisibleAd } from './ads.js'

/** Where a node's table reads the adverts (the engine's rings). */
export interface AdSource {
  /** Per peer: the seq of its newest advert, wherever it is yet (nothing newer can have arrived). */
  readonly latestSeq: Int32Array
  /** An advert's one-way latency from `peer` to `reader`, ms (fixed: each table keeps its peers'). */
  oneWay: (peer: number, reader: number) => number
  /** Fill `into` with the newest advert of `peer` that has reached `reader`, `oneWayMs` away, by now (and is fresh); false if none. */
  visible: (peer: number, reader: number, oneWayMs: number, into: VisibleAd) => boolean
  /** The earliest time an advert of `peer` newer than `seq` can reach a reader `oneWayMs` away (-Infinity: none published). */
  nextArrival: (peer: number, seq: number, oneWayMs: number) => number
  /** One decoded advert per (peer, seq), shared by every reader (made by `make` on first read). */
  shared: (peer: number, ad: VisibleAd, make: (ad: VisibleAd) => ValidatedAd) => ValidatedAd
}

export interface LazyTableInit {
  clock: Clock
  /** This node. */
  self: number
  /** The peers this node knows (its view), as sorted indices. */
  known: () => ArrayLike<number>
  idOf: (peer: number) => string
  indexOf: (id: string) => number | undefined
  ads: AdSource
  intervalMs: number
  kind: string
}

export class LazyCapacityTable extends CapacityTable {
  /** While recording an advert, the table's clock reads its arrival time (NaN otherwise). */
  private arrival = NaN
  /** Sequence number of the advert recorded per known peer (by its position in `known`). */
  private readonly recorded: Int32Array
  /** Per known peer: no advert newer than the recorded one can have arrived before this time. */
  private readonly recheckAt: Float64Array
  /** Per known peer: its adverts' one-way latency to this node, ms. */
  private readonly oneWay: Float64Array
  private readonly known: ArrayLike<number>
  private readonly ad = blankAd()
  private readonly validate = (ad: VisibleAd): ValidatedAd => this.validated(ad)
  private readonly kinds: readonly string[]

  constructor (private readonly lazy: LazyTableInit) {
    const clock: Clock = { now: () => Number.isNaN(this.arrival) ? lazy.clock.now() : this.arrival }
    super({ clock, maxPeers: Number.MAX_SAFE_INTEGER })
    this.known = lazy.known()
    this.recorded = new Int32Array(this.known.length)
    this.recheckAt = new Float64Array(this.known.length)
    this.oneWay = new Float64Array(this.known.length)
    for (let k = 0; k < this.known.length; k++) this.oneWay[k] = lazy.ads.oneWay(this.known[k], lazy.self)
    this.kinds = kindsOf(lazy.kind)
  }

  override get (peerId: string): CapacityEntry | undefined {
    this.pullId(peerId)
    return super.get(peerId)
  }

  override fresh (into?: CapacityEntry[]): CapacityEntry[] {
    const known = this.known
    const latest = this.lazy.ads.latestSeq
    const recorded = this.recorded
    const now = this.lazy.clock.now()
    for (let k = 0; k < known.length; k++) {
      const p = known[k]
      if (recorded[k] !== latest[p] && now >= this.recheckAt[k]) this.pull(p, k)
    }
    return super.fresh(into)
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
    if (k >= 0 && this.recorded[k] !== this.lazy.ads.latestSeq[p] && this.lazy.clock.now() >= this.recheckAt[k]) this.pull(p, k)
  }

  /** Record `peer`'s (at position `k` of `known`) newest advert that arrived here, if not recorded yet. */
  private pull (peer: number, k: number): void {
    const { ads, self } = this.lazy
    const ad = this.ad
    const oneWay = this.oneWay[k]
    if (ads.visible(peer, self, oneWay, ad) && this.recorded[k] !== ad.seq) {
      this.recorded[k] = ad.seq
      this.arrival = ad.receivedAt
      try {
        this.update(this.lazy.idOf(peer), ad.tailored ? this.validated(ad) : ads.shared(peer, ad, this.validate))
      } finally {
        this.arrival = NaN
      }
    }
    this.recheckAt[k] = ads.nextArrival(peer, this.recorded[k], oneWay)
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
      kinds: this.kinds as string[],
      meanRunMs: ad.meanRunMs === undefined ? EMPTY_RUNS : runsOf(this.lazy.kind, ad.meanRunMs),
      firstFreeMs: ad.firstFreeMs,
      intervalMs: this.lazy.intervalMs,
      addrs: [],
      clamped: []
    }
  }
}

const EMPTY_RUNS = new Map<string, number>()

/*
 * The decoded advert's kind list and run-time map never change once made, so every advert that
 * says the same shares one (routing reads both per candidate per decision: a map per advert
 * meant a cache miss or two per candidate read, the largest share of reading one).
 */
const KIND_LISTS = new Map<string, readonly string[]>()
const RUN_MAPS = new Map<string, Map<number, Map<string, number>>>()

function kindsOf (kind: string): readonly string[] {
  let kinds = KIND_LISTS.get(kind)
  if (kinds === undefined) {
    kinds = Object.freeze([kind])
    KIND_LISTS.set(kind, kinds)
  }
  return kinds
}

/** The advert's run-time map for `kind` at `ms` (whole ms, as adverts carry it): one per value. */
function runsOf (kind: string, ms: number): Map<string, number> {
  let byMs = RUN_MAPS.get(kind)
  if (byMs === undefined) {
    byMs = new Map()
    RUN_MAPS.set(kind, byMs)
  }
  let runs = byMs.get(ms)
  if (runs === undefined) {
    runs = new Map([[kind, ms]])
    byMs.set(ms, runs)
  }
  return runs
}
