/**
 * Capacity advertisements without an event per delivery: each node keeps a ring of the adverts
 * it published, and a reader looks up the newest one that has reached it by now (published at
 * least one link latency ago, across no partition). That is what gossip delivers, at N events a
 * second instead of N², so 10,000 peers advertising every second stay cheap.
 *
 * The ring holds enough adverts to cover the capacity table's expiry (3.5 intervals) even with
 * early adverts every 100 ms; an advert older than the ring is stale anyway.
 */
import type { Network } from './network.js'

const RING = 48

/** The capacity table's expiry, in advertisement intervals (CapacityTable default). */
export const EXPIRY_INTERVALS = 3.5

export interface VisibleAd {
  seq: number
  /** When it reached the reader. */
  receivedAt: number
  publishedAt: number
  queueDepth: number
  running: number
  concurrency: number
  queueLimit: number
  meanRunMs: number | undefined
  /** Its estimate of when a slot frees while all are taken (0: one is free, or unknown). */
  firstFreeMs: number
  /** Slots and queue places were tailored to this reader (its fair share there): not shared. */
  tailored: boolean
}

/** Slots and queue places as one reader may use them (`Executor.loadFor`). */
export interface AdView { concurrency: number, queueLimit: number }

/*
 * One advert's fields side by side (a cache line per advert), every peer's ring in one array:
 * reading an advert is what every node does for every peer it knows every interval, and with an
 * object and an array per field per peer each read was a chain of cache misses.
 */
const AT = 0
const SEQ = 1
const QUEUE_DEPTH = 2
const RUNNING = 3
const MEAN_RUN = 4
const CONCURRENCY = 5
const QUEUE_LIMIT = 6
/** 1 when some readers were told other slots (their fair share): look them up in `tailoredFor`. */
const TAILORED = 7
const FIRST_FREE = 8
const STRIDE = 9

/** Every peer's ring of the adverts it published. */
export class AdRings {
  private readonly ads: Float64Array
  /** Per (peer, slot): readers told otherwise than the advert's slots (only when TAILORED is set). */
  private readonly tailoredFor: Array<ReadonlyMap<number, AdView> | undefined>
  /** Per (peer, slot): one decoded form shared by every reader (built on first read). */
  private readonly decoded: unknown[]
  /** Per peer: adverts published so far, the newest one's seq (nothing newer can have arrived anywhere). */
  readonly count: Int32Array
  /** Per peer: what its newest advert said, and when (the early-advert rule compares with it). */
  readonly lastQueueDepth: Int32Array
  readonly lastRunning: Int32Array
  readonly lastAt: Float64Array

  constructor (peers: number) {
    this.ads = new Float64Array(peers * RING * STRIDE)
    for (let i = 0; i < peers * RING; i++) this.ads[i * STRIDE + AT] = -Infinity
    this.tailoredFor = new Array(peers * RING)
    this.decoded = new Array(peers * RING)
    this.count = new Int32Array(peers)
    this.lastQueueDepth = new Int32Array(peers)
    this.lastRunning = new Int32Array(peers)
    this.lastAt = new Float64Array(peers).fill(-Infinity)
  }

  /**
   * `peer` advertises: `offered`, slots and queue places as a remote peer may use them (the
   * capacity service tailors each peer's ad to its fair share); `tailored`: readers told otherwise.
   */
  publish (peer: number, at: number, queueDepth: number, running: number, meanRunMs: number | undefined, firstFreeMs: number, offered: AdView, tailored?: ReadonlyMap<number, AdView>): void {
    const slot = peer * RING + this.count[peer] % RING
    const o = slot * STRIDE
    const ads = this.ads
    const own = tailored !== undefined && tailored.size > 0 ? tailored : undefined
    this.tailoredFor[slot] = own
    const seq = ++this.count[peer]
    ads[o + AT] = at
    ads[o + SEQ] = seq
    ads[o + QUEUE_DEPTH] = queueDepth
    ads[o + RUNNING] = running
    // The advert carries Math.round(meanRunMs); 0 or absent reads as "not observed".
    ads[o + MEAN_RUN] = meanRunMs === undefined ? 0 : Math.round(meanRunMs)
    ads[o + FIRST_FREE] = firstFreeMs
    ads[o + CONCURRENCY] = offered.concurrency
    ads[o + QUEUE_LIMIT] = offered.queueLimit
    ads[o + TAILORED] = own === undefined ? 0 : 1
    this.decoded[slot] = undefined
    this.lastQueueDepth[peer] = queueDepth
    this.lastRunning[peer] = running
    this.lastAt[peer] = at
  }

  /** The decoded form of `peer`'s advert `ad` (still in the ring), made once by `make` and shared. */
  decodedAs<T> (peer: number, ad: VisibleAd, make: (ad: VisibleAd) => T): T {
    const slot = peer * RING + (ad.seq - 1) % RING
    if (this.ads[slot * STRIDE + SEQ] !== ad.seq) return make(ad)
    let d = this.decoded[slot] as T | undefined
    if (d === undefined) {
      d = make(ad)
      this.decoded[slot] = d
    }
    return d
  }

  /**
   * The newest advert from `peer` that `reader`, `oneWayMs` away, holds at `now`, if still
   * fresh: filled into `into` (read at once, no object per look-up); false when there is none.
   */
  visible (net: Network, peer: number, reader: number, oneWayMs: number, now: number, intervalMs: number, into: VisibleAd): boolean {
    const cut = net.partition !== undefined
    const count = this.count[peer]
    const n = Math.min(count, RING)
    const ads = this.ads
    const base = peer * RING
    for (let k = 0; k < n; k++) {
      const slot = base + (count - 1 - k) % RING
      const o = slot * STRIDE
      const received = ads[o + AT] + oneWayMs
      if (received > now) continue
      if (cut && !net.reachable(peer, reader, received)) continue
      if (now - received > intervalMs * EXPIRY_INTERVALS) return false
      const mr = ads[o + MEAN_RUN]
      const own = ads[o + TAILORED] === 1 ? this.tailoredFor[slot]?.get(reader) : undefined
      into.seq = ads[o + SEQ]
      into.receivedAt = received
      into.publishedAt = ads[o + AT]
      into.queueDepth = ads[o + QUEUE_DEPTH]
      into.running = ads[o + RUNNING]
      into.concurrency = own === undefined ? ads[o + CONCURRENCY] : own.concurrency
      into.queueLimit = own === undefined ? ads[o + QUEUE_LIMIT] : own.queueLimit
      into.meanRunMs = mr > 0 ? mr : undefined
      into.firstFreeMs = ads[o + FIRST_FREE]
      into.tailored = own !== undefined
      return true
    }
    return false
  }

  /**
   * The earliest time an advert of `peer` newer than `seq` can reach a reader `oneWayMs` away
   * (the oldest such advert still in the ring, published first, arrives first; a partition only
   * delays). -Infinity when none is published yet.
   */
  nextArrival (peer: number, seq: number, oneWayMs: number): number {
    const count = this.count[peer]
    if (seq >= count) return -Infinity
    const next = Math.max(seq + 1, count - RING + 1)
    return this.ads[(peer * RING + (next - 1) % RING) * STRIDE + AT] + oneWayMs
  }
}

/** An empty `VisibleAd` to fill. */
export function blankAd (): VisibleAd {
  return { seq: 0, receivedAt: 0, publishedAt: 0, queueDepth: 0, running: 0, concurrency: 0, queueLimit: 0, meanRunMs: undefined, firstFreeMs: 0, tailored: false }
}
