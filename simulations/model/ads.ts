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
  /** Slots and queue places were tailored to this reader (its fair share there): not shared. */
  tailored: boolean
}

/** Slots and queue places as one reader may use them (`Executor.loadFor`). */
export interface AdView { concurrency: number, queueLimit: number }

/*
 * One advert's fields, side by side in one Float64Array (a cache line per advert): reading an
 * advert is what every node does for every peer it knows every interval, and with an array per
 * field (and an object for the slots offered) each read was a cache miss per field.
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
const STRIDE = 8

export class AdRing {
  private readonly ads = new Float64Array(RING * STRIDE)
  /** Readers told otherwise than `remote`, per advert (only when TAILORED is set). */
  private readonly tailoredFor: Array<ReadonlyMap<number, AdView> | undefined> = new Array(RING)
  /** Per advert, one decoded form shared by every reader (built on first read). */
  private readonly decoded: unknown[] = new Array(RING)
  /** Adverts published so far: the newest one's seq. */
  count = 0
  lastQueueDepth = 0
  lastRunning = 0
  lastAt = -Infinity

  constructor (readonly concurrency: number, readonly queueLimit: number) {
    for (let i = 0; i < RING; i++) this.ads[i * STRIDE + AT] = -Infinity
  }

  /**
   * `remote`: slots and queue places as a remote peer may use them (the capacity service tailors
   * each peer's ad to its fair share; default: the node's own); `tailored`: readers told otherwise.
   */
  publish (at: number, queueDepth: number, running: number, meanRunMs: number | undefined, remote?: AdView, tailored?: ReadonlyMap<number, AdView>): void {
    const i = this.count % RING
    const o = i * STRIDE
    const ads = this.ads
    const own = tailored !== undefined && tailored.size > 0 ? tailored : undefined
    this.tailoredFor[i] = own
    this.count++
    ads[o + AT] = at
    ads[o + SEQ] = this.count
    ads[o + QUEUE_DEPTH] = queueDepth
    ads[o + RUNNING] = running
    // The advert carries Math.round(meanRunMs); 0 or absent reads as "not observed".
    ads[o + MEAN_RUN] = meanRunMs === undefined ? 0 : Math.round(meanRunMs)
    ads[o + CONCURRENCY] = (remote ?? this).concurrency
    ads[o + QUEUE_LIMIT] = (remote ?? this).queueLimit
    ads[o + TAILORED] = own === undefined ? 0 : 1
    this.decoded[i] = undefined
    this.lastQueueDepth = queueDepth
    this.lastRunning = running
    this.lastAt = at
  }

  /** The decoded form of advert `ad` (still in the ring), made once by `make` and shared. */
  decodedAs<T> (ad: VisibleAd, make: (ad: VisibleAd) => T): T {
    const i = (ad.seq - 1) % RING
    if (this.ads[i * STRIDE + SEQ] !== ad.seq) return make(ad)
    let d = this.decoded[i] as T | undefined
    if (d === undefined) {
      d = make(ad)
      this.decoded[i] = d
    }
    return d
  }

  /**
   * The newest advert from `self` that reader `reader` holds at `now`, if still fresh: filled
   * into `into` (read at once, no object per look-up); false when there is none.
   */
  visible (net: Network, self: number, reader: number, now: number, intervalMs: number, into: VisibleAd): boolean {
    const ow = net.oneWay(self, reader)
    const cut = net.partition !== undefined
    const n = Math.min(this.count, RING)
    const ads = this.ads
    for (let k = 0; k < n; k++) {
      const o = ((this.count - 1 - k) % RING) * STRIDE
      const received = ads[o + AT] + ow
      if (received > now) continue
      if (cut && !net.reachable(self, reader, received)) continue
      if (now - received > intervalMs * EXPIRY_INTERVALS) return false
      const mr = ads[o + MEAN_RUN]
      const own = ads[o + TAILORED] === 1 ? this.tailoredFor[o / STRIDE]?.get(reader) : undefined
      into.seq = ads[o + SEQ]
      into.receivedAt = received
      into.publishedAt = ads[o + AT]
      into.queueDepth = ads[o + QUEUE_DEPTH]
      into.running = ads[o + RUNNING]
      into.concurrency = own === undefined ? ads[o + CONCURRENCY] : own.concurrency
      into.queueLimit = own === undefined ? ads[o + QUEUE_LIMIT] : own.queueLimit
      into.meanRunMs = mr > 0 ? mr : undefined
      into.tailored = own !== undefined
      return true
    }
    return false
  }

  /**
   * The earliest time an advert newer than `seq` can reach a reader `ow` ms away (the oldest
   * such advert still in the ring, published first, arrives first; a partition only delays).
   * -Infinity when none is published yet.
   */
  nextArrival (seq: number, ow: number): number {
    if (seq >= this.count) return -Infinity
    const next = Math.max(seq + 1, this.count - RING + 1)
    return this.ads[((next - 1) % RING) * STRIDE + AT] + ow
  }
}

/** An empty `VisibleAd` to fill. */
export function blankAd (): VisibleAd {
  return { seq: 0, receivedAt: 0, publishedAt: 0, queueDepth: 0, running: 0, concurrency: 0, queueLimit: 0, meanRunMs: undefined, tailored: false }
}
