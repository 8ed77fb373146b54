import { TopicValidatorResult } from '@libp2p/gossipsub'
import { ClockDriftError, HybridLogicalClock, isValidTimestamp } from '../../core/hlc.js'
import { CACHE_TOPIC } from './topic.js'
import { BadRequestError, TooLargeError } from '../../util/errors.js'
import { MINUTE } from '../../util/time.js'
import { DEFAULT_MAX_VALUE_BYTES, InvalidEntryError, MAX_KEY_BYTES, MAX_TTL_SECONDS, signEntry, verifyEntry } from './entry.js'
import type { CacheStore } from './cache-store.js'
import type { StoredEntry } from './entry.js'
import type { Timestamp } from '../../core/hlc.js'
import type { Sublevel } from '../../store/store.js'
import type { Clock } from '../../util/time.js'
import type { GossipSub, Message } from '@libp2p/gossipsub'
import type { ComponentLogger, CounterGroup, Logger, Metrics, PeerId, PrivateKey, Startable } from '@libp2p/interface'

const HLC_KEY = 'cache-hlc'

export interface CacheInit {
  store: CacheStore
  /** Where the clock's last timestamp persists (so versions never go back after a restart). */
  meta: Sublevel
  clock: Clock
  /** Largest value, bytes. Default 256 KiB. */
  maxValueBytes?: number
  /** How often expired entries and old tombstones are collected, ms. Default 1 min. */
  collectIntervalMs?: number
  /** A peer published an entry whose signature does not verify, or signed by another (reputation). */
  onForged?: (peer: PeerId, why: string) => void
  /** A peer published garbage (reputation). */
  onInvalid?: (peer: PeerId, why: string) => void
  /** L3: ask peers for a key this node lacks (the sync service provides it). */
  fetchRemote?: (key: string, signal: AbortSignal) => Promise<Uint8Array | undefined>
  /** How long a miss may wait for peers, ms. Default 1 s. */
  fetchTimeoutMs?: number
  /** An entry arrived or was written (the harness measures convergence). */
  onApplied?: (entry: StoredEntry, source: 'local' | 'gossip' | 'sync' | 'fetch') => void
}

export interface CacheComponents {
  peerId: PeerId
  privateKey: PrivateKey
  pubsub: GossipSub
  logger: ComponentLogger
  metrics?: Metrics
}

/**
 * The replicated cache: signed entries written here are published on `/fedmesh/cache/1`; entries
 * from peers are validated in the topic validator (size, schema, signature, signer = origin)
 * before anything is stored. Forgeries are rejected — gossipsub then penalises the sender — and
 * reported to reputation; stale versions are ignored. Reads go L1 (memory) → L2 (LevelDB) → L3
 * (peers, with a deadline).
 */
export class CacheService implements Startable {
  readonly store: CacheStore
  private readonly log: Logger
  private hlc!: HybridLogicalClock
  private readonly maxValueBytes: number
  private timer: NodeJS.Timeout | undefined
  private started = false
  private readonly lookups?: CounterGroup<'l1' | 'l2' | 'l3' | 'miss'>
  private readonly gossip?: CounterGroup<'accepted' | 'stale' | 'forged' | 'invalid'>

  constructor (private readonly components: CacheComponents, private readonly init: CacheInit) {
    this.store = init.store
    this.log = components.logger.forComponent('fedmesh:cache')
    this.maxValueBytes = init.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES
    this.validate = this.validate.bind(this)
    this.lookups = components.metrics?.registerCounterGroup('fedmesh_cache_lookups_total', {
      label: 'level',
      help: 'Cache reads by the level that answered (l1 memory, l2 LevelDB, l3 peers) or miss'
    })
    this.gossip = components.metrics?.registerCounterGroup('fedmesh_cache_gossip_total', {
      label: 'outcome',
      help: 'Cache entries received over gossipsub, by validation outcome'
    })
    components.metrics?.registerMetric('fedmesh_cache_entries', {
      help: 'Entries held (live, tombstones and not yet collected expired ones)',
      calculate: () => this.store.index.size
    })
  }

  readonly [Symbol.toStringTag] = 'fedmesh:cache'

  async start (): Promise<void> {
    const stored = await this.init.meta.get(HLC_KEY)
    let last: Timestamp | undefined
    if (stored != null) {
      try {
        const parsed = JSON.parse(new TextDecoder().decode(stored))
        if (isValidTimestamp(parsed)) last = parsed
      } catch {}
    }
    this.hlc = new HybridLogicalClock(this.init.clock, { last })
    const n = await this.store.load()
    this.log('loaded %d entries', n)
  }

  // Gossipsub is another service: usable once every service has started.
  afterStart (): void {
    if (this.started) return
    this.started = true
    this.components.pubsub.topicValidators.set(CACHE_TOPIC, this.validate)
    this.components.pubsub.subscribe(CACHE_TOPIC)
    this.timer = setInterval(() => {
      this.store.collect().then(n => { if (n > 0) this.log('collected %d expired entries and old tombstones', n) })
        .catch(err => { this.log.error('collection failed - %e', err) })
    }, this.init.collectIntervalMs ?? 1 * MINUTE)
  }

  beforeStop (): void {
    if (!this.started) return
    this.started = false
    clearInterval(this.timer)
    this.components.pubsub.topicValidators.delete(CACHE_TOPIC)
    this.components.pubsub.unsubscribe(CACHE_TOPIC)
  }

  async stop (): Promise<void> {
    if (this.hlc != null) await this.persistClock()
  }

  /** Write a value (replicates to every peer). */
  async put (key: string, value: Uint8Array, ttlSeconds = 0): Promise<StoredEntry> {
    this.checkKey(key)
    if (value.byteLength > this.maxValueBytes) throw new TooLargeError(`value of ${value.byteLength} bytes is larger than the limit of ${this.maxValueBytes}`)
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 0 || ttlSeconds > MAX_TTL_SECONDS) throw new BadRequestError(`ttlSeconds must be an integer between 0 and ${MAX_TTL_SECONDS}`)
    return this.write({ key, value, ttlSeconds, tombstone: false })
  }

  /** Delete: a tombstone that replicates and outlives partitions for the grace period. */
  async del (key: string): Promise<StoredEntry> {
    this.checkKey(key)
    return this.write({ key, value: new Uint8Array(0), ttlSeconds: 0, tombstone: true })
  }

  /** A live entry, from L1, L2 or peers; undefined when nobody has it (or it was deleted). */
  async get (key: string, options: { signal?: AbortSignal } = {}): Promise<StoredEntry | undefined> {
    this.checkKey(key)
    const local = await this.store.lookup(key)
    if (local != null) {
      this.lookups?.increment({ [local.level]: true })
      return this.store.isLive(local.entry) ? local.entry : undefined
    }
    const fetched = await this.fetch(key, options.signal)
    this.lookups?.increment({ [fetched != null ? 'l3' : 'miss']: true })
    return fetched != null && this.store.isLive(fetched) ? fetched : undefined
  }

  /** Live entries in key order (at most `limit`, from `prefix`). */
  async list (options: { prefix?: string, limit?: number } = {}): Promise<StoredEntry[]> {
    const out: StoredEntry[] = []
    const limit = options.limit ?? 1_000
    for await (const e of this.store.entries()) {
      if (options.prefix != null && !e.key.startsWith(options.prefix)) continue
      if (!this.store.isLive(e)) continue
      out.push(e)
      if (out.length >= limit) break
    }
    return out
  }

  /** Merge entries received from a peer outside gossip (anti-entropy). Verifies each first. */
  async importEntries (wires: Uint8Array[], from: PeerId, source: 'sync' | 'fetch' = 'sync'): Promise<{ applied: number, rejected: number }> {
    let applied = 0
    let rejected = 0
    for (const wire of wires) {
      try {
        const entry = await verifyEntry(wire, this.maxValueBytes)
        this.hlc.receive(entry.version.ts)
        if (await this.store.apply(entry)) {
          applied++
          this.init.onApplied?.(entry, source)
        }
      } catch (err) {
        rejected++
        if (err instanceof InvalidEntryError && err.forged) this.init.onForged?.(from, err.message)
        else if (err instanceof InvalidEntryError) this.init.onInvalid?.(from, err.message)
      }
    }
    return { applied, rejected }
  }

  private async write (fields: { key: string, value: Uint8Array, ttlSeconds: number, tombstone: boolean }): Promise<StoredEntry> {
    const entry = await signEntry(this.components.privateKey, this.components.peerId, { ...fields, ts: this.hlc.now() })
    await this.store.apply(entry)
    this.init.onApplied?.(entry, 'local')
    void this.persistClock()
    this.components.pubsub.publish(CACHE_TOPIC, entry.wire).catch(err => {
      // Solo: nobody to publish to. Anti-entropy delivers it when peers come back.
      this.log.trace('publish of %s failed - %e', fields.key, err)
    })
    return entry
  }

  private async fetch (key: string, signal?: AbortSignal): Promise<StoredEntry | undefined> {
    if (this.init.fetchRemote == null) return undefined
    const deadline = AbortSignal.timeout(this.init.fetchTimeoutMs ?? 1_000)
    try {
      const wire = await this.init.fetchRemote(key, signal != null ? AbortSignal.any([signal, deadline]) : deadline)
      if (wire == null) return undefined
      const entry = await verifyEntry(wire, this.maxValueBytes)
      if (entry.key !== key) return undefined
      await this.store.apply(entry)
      this.init.onApplied?.(entry, 'fetch')
      return entry
    } catch (err) {
      this.log.trace('fetch of %s from peers failed - %s', key, (err as Error).message)
      return undefined
    }
  }

  private checkKey (key: string): void {
    if (typeof key !== 'string' || key.length === 0 || Buffer.byteLength(key) > MAX_KEY_BYTES || !key.isWellFormed()) {
      throw new BadRequestError(`a key must be 1 to ${MAX_KEY_BYTES} bytes of well-formed text`)
    }
  }

  private async persistClock (): Promise<void> {
    await this.init.meta.put(HLC_KEY, new TextEncoder().encode(JSON.stringify(this.hlc.peek()))).catch(() => {})
  }

  /** Topic validator: never throws. Reject forgeries and garbage (they cost the sender), Ignore stale. */
  private async validate (propagationSource: PeerId, msg: Message): Promise<TopicValidatorResult> {
    try {
      if (msg.type !== 'signed') return TopicValidatorResult.Reject
      let entry: StoredEntry
      try {
        entry = await verifyEntry(msg.data, this.maxValueBytes)
      } catch (err) {
        const forged = err instanceof InvalidEntryError && err.forged
        this.gossip?.increment({ [forged ? 'forged' : 'invalid']: true })
        this.log('rejected cache entry from %p via %p - %s', msg.from, propagationSource, (err as Error).message)
        if (forged) this.init.onForged?.(msg.from, (err as Error).message)
        else this.init.onInvalid?.(msg.from, (err as Error).message)
        return TopicValidatorResult.Reject
      }
      // Only an origin publishes its own writes: an entry re-signed (published) by someone else is refused.
      if (entry.version.origin !== msg.from.toString()) {
        this.gossip?.increment({ forged: true })
        this.init.onForged?.(msg.from, 'published an entry whose origin is another peer')
        return TopicValidatorResult.Reject
      }
      try {
        this.hlc.receive(entry.version.ts)
      } catch (err) {
        if (err instanceof ClockDriftError) return TopicValidatorResult.Ignore
        throw err
      }
      const changed = await this.store.apply(entry)
      if (!changed) {
        this.gossip?.increment({ stale: true })
        return TopicValidatorResult.Ignore
      }
      this.gossip?.increment({ accepted: true })
      this.init.onApplied?.(entry, 'gossip')
      return TopicValidatorResult.Accept
    } catch (err) {
      this.log.error('cache validator failed - %e', err)
      return TopicValidatorResult.Ignore
    }
  }
}

export function cache (init: CacheInit): (components: CacheComponents) => CacheService {
  return (components) => new CacheService(components, init)
}
