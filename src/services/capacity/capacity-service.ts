import { availableParallelism, freemem, loadavg } from 'node:os'
import { adGapMs } from '../../core/ad-pace.js'
import { SECOND } from '../../util/time.js'
import { CapacityAd } from '../../wire/capacity.js'
import { AdLinks } from './ad-links.js'
import { CapacityTable } from './capacity-table.js'
import { MAX_AD_BYTES, validateAd } from './validate-ad.js'
import type { ValidatedAd } from './validate-ad.js'
import type { Clock } from '../../util/time.js'
import type { AdPace } from '../../core/ad-pace.js'
import type { Serving } from '../../core/host-policy.js'
import type { Executor } from '../tasks/executor.js'
import type { Coordinate } from '../../wire/capacity.js'
import type { AdLinksComponents } from './ad-links.js'
import type { Connection, Logger, PeerId, PeerStore, Startable } from '@libp2p/interface'
import type { AddressManager } from '@libp2p/interface-internal'

export interface CapacityInit {
  executor: Executor
  name: string
  /** Advertisement interval while the node has work, ms; it doubles as the liveness heartbeat. Default 1 s. */
  intervalMs?: number
  /** Advertisement interval while the node is idle (core/ad-pace.ts), ms; never below `intervalMs`. Default 5 s. */
  idleIntervalMs?: number
  /** The node is idle once it had no task running or queued for this long, ms. Default 10 s. */
  idleAfterMs?: number
  /** Shortest gap between two advertisements when the load changes fast, ms. Default 100. */
  minGapMs?: number
  /** This node's Vivaldi coordinate, if a latency service runs. */
  coordinate?: () => Coordinate | undefined
  /** A valid advertisement arrived (liveness, Vivaldi). */
  onAdvertisement?: (peer: PeerId, ad: ValidatedAd) => void
  /** A peer sent a malformed ad or flooded them (reputation). */
  onInvalid?: (peer: PeerId, why: string) => void
  /**
   * May this peer be routed to (its federation role `serve`)? A peer that may not keeps its
   * entry (load, liveness) but with no kinds, so no router here picks it. Default: every peer.
   */
  mayServe?: (peer: PeerId) => boolean
  /** Is this kind advertised to peers (a kind only the owner may run is not)? Default: every kind. */
  advertises?: (kind: string) => boolean
  /** What the host policy lets peers use here (services/host). Default: everything. */
  serving?: () => Serving
  /** Is this connection a working direct path (the NAT service's judgement)? Ads prefer one. Default: not through a relay. */
  isDirect?: (conn: Connection) => boolean
  /** Local samples, replaceable in simulations. Default: the machine's own. */
  sampleHost?: () => { cores: number, freeMemoryMb: number, load: number }
  clock: Clock
}

export const DEFAULT_CAPACITY_INTERVAL_MS = 1 * SECOND
export const DEFAULT_MIN_GAP_MS = 100
export const DEFAULT_IDLE_INTERVAL_MS = 5 * SECOND
export const DEFAULT_IDLE_AFTER_MS = 10 * SECOND
/** Periodic ads carry the sender's addresses once in this many (and every ad to a newly connected peer). */
const ADDRS_EVERY = 30

export interface CapacityComponents extends AdLinksComponents {
  peerStore: PeerStore
  addressManager: AddressManager
}

export function sampleHost (): { cores: number, freeMemoryMb: number, load: number } {
  const cores = availableParallelism()
  return { cores, freeMemoryMb: Math.round(freemem() / (1024 * 1024)), load: loadavg()[0] / cores }
}

/** This node's capacity now (the control API shows it as `CapacityDoc`). */
export interface LocalCapacity {
  cores: number
  freeMemoryMb: number
  /** One-minute load average. */
  load: number
  queueDepth: number
  running: number
  concurrency: number
  kinds: string[]
}

/**
 * Sends this node's capacity to every connected peer (`/fedmesh/capacity/1.0.0`) every interval,
 * at once on a significant change and to each new peer, and keeps the table of its connected
 * peers' ads. Ads travel one hop: recorded, never relayed, so each node's table is its
 * neighbourhood (every peer on a LAN) and advertising costs O(connections) per interval instead
 * of O(mesh size). Relayed gossip ads made every node verify every other node's heartbeat: 100
 * nodes in one process idled at 114 % CPU. Incoming ads are validated (size, schema, bounds);
 * garbage costs the sender reputation.
 */
export class CapacityService implements Startable {
  readonly table: CapacityTable
  private readonly log: Logger
  private readonly intervalMs: number
  private readonly pace: AdPace
  /** When the node last had a task running or queued (undefined: not since it started). */
  private lastBusyAt: number | undefined
  /** The gap the last ad announced (its `interval_ms`). */
  private announcedGapMs = 0
  private readonly minGapMs: number
  private readonly startSeq: number
  private counter = 0
  private timer: NodeJS.Timeout | undefined
  private lastPublishedAt = 0
  private lastPublished: { queueDepth: number, running: number } | undefined
  private soon: NodeJS.Timeout | undefined
  private started = false
  private readonly links: AdLinks

  constructor (private readonly components: CapacityComponents, private readonly init: CapacityInit) {
    this.log = components.logger.forComponent('fedmesh:capacity')
    this.intervalMs = init.intervalMs ?? DEFAULT_CAPACITY_INTERVAL_MS
    this.minGapMs = init.minGapMs ?? DEFAULT_MIN_GAP_MS
    this.pace = { busyMs: this.intervalMs, idleMs: init.idleIntervalMs ?? DEFAULT_IDLE_INTERVAL_MS, idleAfterMs: init.idleAfterMs ?? DEFAULT_IDLE_AFTER_MS }
    this.table = new CapacityTable({ clock: init.clock })
    // Ads must stay newer across restarts: seq starts from the start time.
    this.startSeq = init.clock.now() * 1000
    this.links = new AdLinks(components, {
      maxAdBytes: MAX_AD_BYTES,
      onAd: (peer, bytes) => { this.receive(peer, bytes) },
      onInvalid: (peer, why) => { this.invalid(peer, why) },
      // The last ad again, with the addresses and the clock read now (receivers measure their offset from it).
      onConnect: (peer) => { if (this.current != null) this.links.send(CapacityAd.encode({ ...this.current, addrs: this.ownAddrs(), wallMs: this.init.clock.now() }), peer) },
      isDirect: init.isDirect
    })
  }

  /** The last ad sent, for peers that connect between two. */
  private current: CapacityAd | undefined

  readonly [Symbol.toStringTag] = 'fedmesh:capacity'

  async start (): Promise<void> {
    await this.links.start()
  }

  afterStart (): void {
    if (this.started) return
    this.started = true
    this.init.executor.onLoadChange = () => { this.loadChanged() }
    this.publish()
  }

  beforeStop (): void {
    if (!this.started) return
    this.started = false
    clearTimeout(this.timer)
    clearTimeout(this.soon)
    this.soon = undefined
    this.init.executor.onLoadChange = undefined
  }

  async stop (): Promise<void> {
    await this.links.stop()
  }

  /** This node's capacity as the CLI shows it. */
  local (): LocalCapacity {
    const host = (this.init.sampleHost ?? sampleHost)()
    const load = this.init.executor.load()
    return {
      cores: host.cores,
      freeMemoryMb: host.freeMemoryMb,
      load: Number(host.load.toFixed(2)),
      queueDepth: load.queueDepth,
      running: load.running,
      concurrency: load.concurrency,
      kinds: this.init.executor.kinds()
    }
  }

  /** Publish now (also used after a configuration change). */
  publish (): void {
    if (!this.started) return
    const doc = this.local()
    const executor = this.init.executor
    const serving = this.init.serving?.()
    const now = this.init.clock.now()
    this.noteBusy(now)
    const gapMs = adGapMs(this.pace, this.lastBusyAt, now)
    const ad: CapacityAd = {
      seq: this.startSeq + ++this.counter,
      name: this.init.name,
      cores: doc.cores,
      freeMemoryMb: doc.freeMemoryMb,
      load: doc.load,
      queueDepth: doc.queueDepth,
      running: doc.running,
      concurrency: doc.concurrency,
      queueLimit: executor.load().queueLimit,
      kinds: doc.kinds.filter(k => this.init.advertises?.(k) ?? true),
      coordinate: this.init.coordinate?.(),
      stats: executor.runStats().map(s => ({ kind: s.kind, meanRunMs: Math.round(s.meanRunMs) })),
      intervalMs: gapMs,
      addrs: [],
      wallMs: now,
      servingReason: serving?.reason ?? '',
      paused: serving?.paused ?? false,
      firstFreeMs: executor.firstFreeMs()
    }
    this.lastPublishedAt = ad.wallMs
    this.announcedGapMs = gapMs
    this.lastPublished = { queueDepth: doc.queueDepth, running: doc.running }
    // A peer that connects gets the whole ad (addresses included); the periodic ones carry the
    // addresses only now and then: receivers keep them from the first, and they are most of an
    // idle ad's bytes on a machine with several interfaces. They are looked up only for those
    // ads: listing them (libp2p's address manager) was a tenth of an idle ad's CPU.
    this.current = ad
    const sent = this.counter % ADDRS_EVERY === 1 ? { ...ad, addrs: this.ownAddrs() } : ad
    // Peers that see the same share get the same bytes: one encoding per distinct view.
    const views = new Map<string, Uint8Array>()
    this.links.send(CapacityAd.encode(sent), undefined, (peer) => this.tailored(sent, peer, views))
    this.schedule(gapMs)
  }

  /** This node's addresses as ads carry them (at most 8, without the /p2p suffix). */
  private ownAddrs (): Array<Uint8Array<ArrayBuffer>> {
    return this.components.addressManager.getAddresses().slice(0, 8).map(a => a.decapsulateCode(421).bytes as Uint8Array<ArrayBuffer>)
  }

  private noteBusy (now: number): void {
    const load = this.init.executor.load()
    if (load.running > 0 || load.queueDepth > 0) this.lastBusyAt = now
  }

  /**
   * The ad as `peer` may use this node: slots and queue places beyond its fair share count as
   * taken, so its router predicts what it will get. Undefined when that is the common ad.
   */
  private tailored (ad: CapacityAd, peer: PeerId, views: Map<string, Uint8Array>): Uint8Array | undefined {
    const view = this.init.executor.loadFor(peer.toString())
    if (view.concurrency === ad.concurrency && view.queueLimit === ad.queueLimit) return undefined
    const key = `${view.concurrency}/${view.queueLimit}`
    let bytes = views.get(key)
    if (bytes == null) {
      bytes = CapacityAd.encode({ ...ad, concurrency: view.concurrency, queueLimit: view.queueLimit })
      views.set(key, bytes)
    }
    return bytes
  }

  private schedule (ms: number): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.table.prune()
      this.publish()
    }, ms)
  }

  /**
   * Publish early when the load moved enough that routers elsewhere would decide differently, or
   * when an idle node got work (its peers then judge its liveness at the busy pace again).
   */
  private loadChanged (): void {
    if (!this.started || this.soon != null || this.lastPublished == null) return
    this.noteBusy(this.init.clock.now())
    const now = this.init.executor.load()
    const last = this.lastPublished
    const step = Math.max(2, Math.ceil(now.concurrency / 4))
    const crossedFull = (last.running >= now.concurrency) !== (now.running >= now.concurrency)
    const wokeUp = this.announcedGapMs > this.intervalMs && (now.running > 0 || now.queueDepth > 0)
    if (!crossedFull && !wokeUp && Math.abs(now.queueDepth - last.queueDepth) < step) return
    const wait = Math.max(0, this.lastPublishedAt + this.minGapMs - this.init.clock.now())
    this.soon = setTimeout(() => {
      this.soon = undefined
      this.publish()
    }, wait)
  }

  /** An ad from a connected peer: never throws; garbage costs the sender, stale ones are dropped. */
  private receive (from: PeerId, bytes: Uint8Array): void {
    try {
      if (bytes.byteLength > MAX_AD_BYTES) { this.invalid(from, 'advertisement too large'); return }
      let ad: CapacityAd
      try {
        ad = CapacityAd.decode(bytes)
      } catch (err) {
        this.invalid(from, `undecodable advertisement: ${(err as Error).message}`)
        return
      }
      const valid = validateAd(ad)
      if (typeof valid === 'string') { this.invalid(from, valid); return }
      const checked = this.init.mayServe?.(from) === false ? { ...valid, kinds: [] } : valid
      const known = this.table.last(from.toString())
      if (!this.table.update(from.toString(), checked)) return
      // Addresses are hints for re-dialling the peer later; store them once.
      if (checked.addrs.length > 0 && known == null) {
        this.components.peerStore.merge(from, { multiaddrs: checked.addrs }).catch(() => {})
      }
      this.init.onAdvertisement?.(from, checked)
    } catch (err) {
      this.log.error('capacity ad from %p failed - %e', from, err)
    }
  }

  private invalid (from: PeerId, why: string): void {
    this.log('invalid capacity advertisement from %p - %s', from, why)
    this.init.onInvalid?.(from, why)
  }
}

export function capacity (init: CapacityInit): (components: CapacityComponents) => CapacityService {
  return (components) => new CapacityService(components, init)
}
