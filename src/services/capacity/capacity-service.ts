import { availableParallelism, freemem, loadavg } from 'node:os'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { CAPACITY_TOPIC } from '../../node/config.js'
import { SECOND } from '../../util/time.js'
import { CapacityAd } from '../../wire/capacity.js'
import { CapacityTable } from './capacity-table.js'
import { MAX_AD_BYTES, validateAd } from './validate-ad.js'
import type { ValidatedAd } from './validate-ad.js'
import type { CapacityDoc } from '../../node/documents.js'
import type { Clock } from '../../util/time.js'
import type { Executor } from '../tasks/executor.js'
import type { Coordinate } from '../../wire/capacity.js'
import type { GossipSub, Message } from '@libp2p/gossipsub'
import type { ComponentLogger, Logger, PeerId, PeerStore, Startable } from '@libp2p/interface'
import type { AddressManager } from '@libp2p/interface-internal'

export interface CapacityInit {
  executor: Executor
  name: string
  /** Advertisement interval, ms; it doubles as the liveness heartbeat. Default 1 s. */
  intervalMs?: number
  /** Shortest gap between two advertisements when the load changes fast, ms. Default 100. */
  minGapMs?: number
  /** This node's Vivaldi coordinate, if a latency service runs. */
  coordinate?: () => Coordinate | undefined
  /** A valid advertisement arrived (liveness, Vivaldi). */
  onAdvertisement?: (peer: PeerId, ad: ValidatedAd) => void
  /** A peer published garbage on the topic (reputation). */
  onInvalid?: (peer: PeerId, why: string) => void
  /** Local samples, replaceable in simulations. Default: the machine's own. */
  sampleHost?: () => { cores: number, freeMemoryMb: number, load: number }
  clock: Clock
}

export const DEFAULT_CAPACITY_INTERVAL_MS = 1 * SECOND
export const DEFAULT_MIN_GAP_MS = 100

export interface CapacityComponents {
  peerId: PeerId
  pubsub: GossipSub
  peerStore: PeerStore
  addressManager: AddressManager
  logger: ComponentLogger
}

export function sampleHost (): { cores: number, freeMemoryMb: number, load: number } {
  const cores = availableParallelism()
  return { cores, freeMemoryMb: Math.round(freemem() / (1024 * 1024)), load: loadavg()[0] / cores }
}

/**
 * Publishes this node's capacity on `/fedmesh/capacity/1` every interval and at once on a
 * significant change, to every connected peer, and keeps the table of its connected peers'.
 * Incoming advertisements are validated in the topic validator (size, schema, bounds); garbage
 * is rejected, so gossipsub penalises the sender; valid ones are recorded and not relayed.
 */
export class CapacityService implements Startable {
  readonly table: CapacityTable
  private readonly log: Logger
  private readonly intervalMs: number
  private readonly minGapMs: number
  private readonly startSeq: number
  private counter = 0
  private timer: NodeJS.Timeout | undefined
  private lastPublishedAt = 0
  private lastPublished: { queueDepth: number, running: number } | undefined
  private soon: NodeJS.Timeout | undefined
  private started = false

  constructor (private readonly components: CapacityComponents, private readonly init: CapacityInit) {
    this.log = components.logger.forComponent('fedmesh:capacity')
    this.intervalMs = init.intervalMs ?? DEFAULT_CAPACITY_INTERVAL_MS
    this.minGapMs = init.minGapMs ?? DEFAULT_MIN_GAP_MS
    this.table = new CapacityTable({ clock: init.clock })
    // Ads must stay newer across restarts: seq starts from the start time.
    this.startSeq = init.clock.now() * 1000
    this.validate = this.validate.bind(this)
  }

  readonly [Symbol.toStringTag] = 'fedmesh:capacity'

  // Gossipsub is another service: it is only usable once every service has started.
  afterStart (): void {
    if (this.started) return
    this.started = true
    const { pubsub } = this.components
    pubsub.topicValidators.set(CAPACITY_TOPIC, this.validate)
    pubsub.subscribe(CAPACITY_TOPIC)
    this.init.executor.onLoadChange = () => { this.loadChanged() }
    this.schedule(this.intervalMs / 2)
  }

  beforeStop (): void {
    if (!this.started) return
    this.started = false
    clearTimeout(this.timer)
    clearTimeout(this.soon)
    this.soon = undefined
    this.init.executor.onLoadChange = undefined
    this.components.pubsub.topicValidators.delete(CAPACITY_TOPIC)
    this.components.pubsub.unsubscribe(CAPACITY_TOPIC)
  }

  start (): void {}
  stop (): void {}

  /** This node's capacity as the CLI shows it. */
  local (): CapacityDoc {
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
      kinds: doc.kinds,
      coordinate: this.init.coordinate?.(),
      stats: executor.runStats().map(s => ({ kind: s.kind, meanRunMs: Math.round(s.meanRunMs) })),
      intervalMs: this.intervalMs,
      addrs: this.components.addressManager.getAddresses().slice(0, 8).map(a => a.decapsulateCode(421).bytes as Uint8Array<ArrayBuffer>)
    }
    this.lastPublishedAt = this.init.clock.now()
    this.lastPublished = { queueDepth: doc.queueDepth, running: doc.running }
    this.components.pubsub.publish(CAPACITY_TOPIC, CapacityAd.encode(ad)).catch(err => {
      this.log.trace('capacity publish failed - %e', err)
    })
    this.schedule(this.intervalMs)
  }

  private schedule (ms: number): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.table.prune()
      this.publish()
    }, ms)
  }

  /** Publish early when the load moved enough that routers elsewhere would decide differently. */
  private loadChanged (): void {
    if (!this.started || this.soon != null || this.lastPublished == null) return
    const now = this.init.executor.load()
    const last = this.lastPublished
    const step = Math.max(2, Math.ceil(now.concurrency / 4))
    const crossedFull = (last.running >= now.concurrency) !== (now.running >= now.concurrency)
    if (!crossedFull && Math.abs(now.queueDepth - last.queueDepth) < step) return
    const wait = Math.max(0, this.lastPublishedAt + this.minGapMs - this.init.clock.now())
    this.soon = setTimeout(() => {
      this.soon = undefined
      this.publish()
    }, wait)
  }

  /** Gossipsub topic validator: never throws, Reject for garbage, Ignore for stale. */
  private validate (propagationSource: PeerId, msg: Message): TopicValidatorResult {
    try {
      if (msg.type !== 'signed') return TopicValidatorResult.Reject
      if (msg.data.byteLength > MAX_AD_BYTES) return this.invalid(msg.from, propagationSource, 'advertisement too large')
      let ad: CapacityAd
      try {
        ad = CapacityAd.decode(msg.data)
      } catch (err) {
        return this.invalid(msg.from, propagationSource, `undecodable advertisement: ${(err as Error).message}`)
      }
      const checked = validateAd(ad)
      if (typeof checked === 'string') return this.invalid(msg.from, propagationSource, checked)
      if (msg.from.equals(this.components.peerId)) return TopicValidatorResult.Ignore
      const known = this.table.last(msg.from.toString())
      if (!this.table.update(msg.from.toString(), checked)) return TopicValidatorResult.Ignore
      // Addresses are hints for dialling a peer heard of only through gossip; store them once.
      if (checked.addrs.length > 0 && known == null) {
        this.components.peerStore.merge(msg.from, { multiaddrs: checked.addrs }).catch(() => {})
      }
      this.init.onAdvertisement?.(msg.from, checked)
      // One hop: recorded here, not forwarded. A publisher floods its ad to every connected
      // subscriber, so each node's table is its neighbourhood (every peer on a LAN) and costs
      // O(connections) per interval instead of O(mesh size): relayed ads made every node verify
      // every other node's heartbeat, N² work that saturates a laptop at a few hundred peers.
      return TopicValidatorResult.Ignore
    } catch (err) {
      this.log.error('capacity validator failed - %e', err)
      return TopicValidatorResult.Ignore
    }
  }

  private invalid (origin: PeerId, via: PeerId, why: string): TopicValidatorResult {
    this.log('invalid capacity advertisement from %p via %p - %s', origin, via, why)
    this.init.onInvalid?.(origin, why)
    return TopicValidatorResult.Reject
  }
}

export function capacity (init: CapacityInit): (components: CapacityComponents) => CapacityService {
  return (components) => new CapacityService(components, init)
}
