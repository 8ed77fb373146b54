import { TopicValidatorResult } from '@libp2p/gossipsub'
import { cacheTime, writeRefusal } from '../../core/cache/skew.js'
import { DEFAULT_MAX_DRIFT_MS, HybridLogicalClock, compareTimestamps, isValidTimestamp } from '../../core/hlc.js'
import { MeshTime } from '../../core/mesh-time.js'
import { CACHE_TOPIC } from './topic.js'
import { BadRequestError, TooLargeError } from '../../util/errors.js'
import { MINUTE } from '../../util/time.js'
import { intakeCounters, settleCounter } from './cache-metrics.js'
import { DEFAULT_MAX_VALUE_BYTES, MAX_KEY_BYTES, MAX_TTL_SECONDS } from './entry.js'
import { CacheIntake, RefusalReason } from './intake.js'
import { Settler } from './settle.js'
import type { CacheStore } from './cache-store.js'
import type { StoredEntry } from './entry.js'
import type { CacheAuthorizer, IntakePath, IntakeResult, IntakeTime, LocalWrite } from './intake.js'
import type { Timestamp } from '../../core/hlc.js'
import type { Sublevel } from '../../store/store.js'
import type { Clock } from '../../util/time.js'
import type { GossipSub, Message } from '@libp2p/gossipsub'
import type { ComponentLogger, CounterGroup, Logger, Metrics, PeerId, PrivateKey, Startable } from '@libp2p/interface'
import type { Registry } from 'prom-client'

const HLC_KEY = 'cache-hlc'
/** Key in `meta`: the clock's floor, the newest version received or shared (settle.ts). */
const FLOOR_KEY = 'cache-hlc-floor'

/** Where an applied entry came from: an intake path, or re-dating an entry written alone (protocols/cache.md). */
export type AppliedSource = IntakePath | 'redate'

export interface CacheInit {
  store: CacheStore
  /** Where the clock's last timestamp persists (so versions never go back after a restart). */
  meta: Sublevel
  clock: Clock
  /**
   * What this node measured of its peers' clocks (fed from capacity ads). Default: none, the
   * node's own clock is the reference (as if alone).
   */
  meshTime?: MeshTime
  /** How far ahead of the reference time a remote version may be, ms (D). Default 60 s. */
  maxDriftMs?: number
  /**
   * Decides whether an entry may be stored, on every path (local writes included), after the
   * signature and skew checks: see CacheAuthorizer. Default: everything valid is allowed.
   */
  authorize?: CacheAuthorizer
  /** Largest value, bytes. Default 256 KiB. */
  maxValueBytes?: number
  /** How often expired entries and old tombstones are collected, ms. Default 1 min. */
  collectIntervalMs?: number
  /** A peer published an entry whose signature does not verify, or signed by another (reputation). */
  onForged?: (peer: PeerId, why: string) => void
  /** A peer published garbage, or an entry the authorizer blames it for (reputation). */
  onInvalid?: (peer: PeerId, why: string) => void
  /**
   * L3: ask peers for a key this node lacks (the sync service provides it). Each answer goes to
   * `accept` (the intake, path fetch); resolves true once one was taken in.
   */
  fetchRemote?: (key: string, accept: (from: PeerId, wire: Uint8Array) => Promise<boolean>, signal: AbortSignal) => Promise<boolean>
  /** How long a miss may wait for peers, ms. Default 1 s. */
  fetchTimeoutMs?: number
  /**
   * An entry became what the node holds for its key (written, received, or re-dated), in place
   * of `replaced` if any (the harness measures convergence; quotas can account with it).
   */
  onApplied?: (entry: StoredEntry, source: AppliedSource, replaced?: StoredEntry) => void
  /** Prometheus registry for the intake's counters (two labels: see cache-metrics.ts). */
  registry?: Registry
}

export interface CacheComponents {
  peerId: PeerId
  privateKey: PrivateKey
  pubsub: GossipSub
  logger: ComponentLogger
  metrics?: Metrics
}

/** What `status` shows of the node's clock against its peers' (CONTRACT.md). */
export interface ClockStatus {
  /** This node's clock minus the median of its own and its peers' clocks, ms; null alone. */
  offsetMs: number | null
  /** Clocks the median is taken over: this node's and its peers' heard in the last hour. */
  clocks: number
  /** "ok", or "refused" while a write now would be refused (the reason says why). */
  cacheWrites: 'ok' | 'refused'
  reason?: string
  /** Entries written while no peer's clock was known, not shared yet (settle.ts). */
  unsharedEntries: number
}

/**
 * The replicated cache: signed entries written here are published on `/fedmesh/cache/1`. Every
 * entry, written here or received on any path (gossip, anti-entropy, fetch), goes through the
 * one intake (intake.ts): size, schema, signature, the clock-skew bound, authorization, the HLC
 * receive rule, then the merge. Forgeries are rejected — gossipsub then penalises the sender —
 * and reported to reputation; stale versions are ignored. Reads go L1 (memory) → L2 (LevelDB) →
 * L3 (peers, with a deadline).
 */
export class CacheService implements Startable {
  readonly store: CacheStore
  private readonly log: Logger
  private hlc!: HybridLogicalClock
  private intake!: CacheIntake
  private settler!: Settler
  /** What the node measured of its peers' clocks (forget a banned peer's here). */
  readonly meshTime: MeshTime
  private readonly maxDriftMs: number
  private readonly maxValueBytes: number
  private timer: NodeJS.Timeout | undefined
  private started = false
  private readonly lookups?: CounterGroup<'l1' | 'l2' | 'l3' | 'miss'>
  private readonly gossip?: CounterGroup<'accepted' | 'stale' | 'forged' | 'invalid' | 'refused'>
  private readonly settled?: (how: 'shared' | 'redated', n: number) => void

  constructor (private readonly components: CacheComponents, private readonly init: CacheInit) {
    this.store = init.store
    this.log = components.logger.forComponent('fedmesh:cache')
    this.maxValueBytes = init.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES
    this.maxDriftMs = init.maxDriftMs ?? DEFAULT_MAX_DRIFT_MS
    this.meshTime = init.meshTime ?? new MeshTime({ wall: init.clock, monotonic: init.clock })
    this.validate = this.validate.bind(this)
    this.lookups = components.metrics?.registerCounterGroup('fedmesh_cache_lookups_total', {
      label: 'level',
      help: 'Cache reads by the level that answered (l1 memory, l2 LevelDB, l3 peers) or miss'
    })
    this.gossip = components.metrics?.registerCounterGroup('fedmesh_cache_gossip_total', {
      label: 'outcome',
      help: 'Cache entries received over gossipsub, by validation outcome (refused: clock skew, beyond the horizon, or the authorizer)'
    })
    components.metrics?.registerMetric('fedmesh_cache_entries', {
      help: 'Entries held (live, tombstones and not yet collected expired ones)',
      calculate: () => this.store.index.size
    })
    this.settled = settleCounter(init.registry)
  }

  readonly [Symbol.toStringTag] = 'fedmesh:cache'

  async start (): Promise<void> {
    let last = readTimestamp(await this.init.meta.get(HLC_KEY))
    const n = await this.store.load()
    this.log('loaded %d entries', n)
    // The clock resumes above every version held, even if its last checkpoint was lost.
    const highest = this.store.highest
    if (highest != null && (last == null || compareTimestamps(highest, last) > 0)) last = highest
    this.hlc = new HybridLogicalClock({ now: () => this.time().time.stampFromMs }, {
      last,
      maxDriftMs: this.maxDriftMs,
      reference: { now: () => this.time().time.nowMs }
    })
    // Peers may hold anything this node received or shared: the clock never goes back below it.
    let floor = readTimestamp(await this.init.meta.get(FLOOR_KEY))
    const shared = this.store.highestShared
    if (shared != null && (floor == null || compareTimestamps(shared, floor) > 0)) floor = shared
    const common = { store: this.store, hlc: this.hlc, time: () => this.time(), peerId: this.components.peerId, privateKey: this.components.privateKey, log: this.log }
    this.intake = new CacheIntake({
      ...common,
      floor,
      maxValueBytes: this.maxValueBytes,
      authorize: this.init.authorize,
      onForged: this.init.onForged,
      onInvalid: this.init.onInvalid,
      onApplied: this.init.onApplied,
      counters: intakeCounters(this.init.registry)
    })
    this.settler = new Settler({
      ...common,
      intake: this.intake,
      onShared: (entry, previous) => {
        if (previous != null) this.init.onApplied?.(entry, 'redate', previous)
        this.publish(entry)
      },
      onDone: (r) => {
        this.settled?.('shared', r.shared)
        this.settled?.('redated', r.redated)
        void this.persistClock()
      }
    })
  }

  // Gossipsub is another service: usable once every service has started.
  afterStart (): void {
    if (this.started) return
    this.started = true
    this.components.pubsub.topicValidators.set(CACHE_TOPIC, this.validate)
    this.components.pubsub.subscribe(CACHE_TOPIC)
    this.timer = setInterval(() => {
      void this.clockChanged()
      this.store.collect().then(n => { if (n > 0) this.log('collected %d expired entries and old tombstones', n) })
        .catch(err => { this.log.error('collection failed - %e', err) })
    }, this.init.collectIntervalMs ?? 1 * MINUTE)
    void this.clockChanged()
  }

  beforeStop (): void {
    if (!this.started) return
    this.started = false
    clearInterval(this.timer)
    this.components.pubsub.topicValidators.delete(CACHE_TOPIC)
    this.components.pubsub.unsubscribe(CACHE_TOPIC)
  }

  async stop (): Promise<void> {
    await this.settler?.idle()
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

  /** Take in entries a peer pushed outside gossip (an anti-entropy session), through the intake. */
  async importEntries (wires: Uint8Array[], from: PeerId, source: 'sync' | 'resync' = 'sync'): Promise<{ applied: number, rejected: number }> {
    let applied = 0
    let rejected = 0
    for (const wire of wires) {
      const r = await this.intake.receive(wire, { path: source, from })
      if (r.outcome === 'accepted') applied++
      else if (r.outcome === 'refused') rejected++
    }
    return { applied, rejected }
  }

  /** Refusals of entries a peer sent, by reason (the authorizer's reasons included). */
  refusals (peer: PeerId | string): Record<string, number> {
    return this.intake?.refusals(peer) ?? {}
  }

  /**
   * A peer's clock reading arrived (or time passed): settle the entries written alone, if the
   * node now has peers' clocks to settle them against. Cheap when there is nothing to do.
   */
  async clockChanged (): Promise<void> {
    if (this.settler == null || !this.settler.needed()) return
    await this.settler.run().catch(err => { this.log.error('settling entries written alone failed - %e', err) })
  }

  /** The node's clock against its peers', and whether a write now would be accepted. */
  clockStatus (): ClockStatus {
    const { view, time } = this.time()
    const last = this.hlc?.peek().wallMs ?? 0
    const reason = writeRefusal(Math.max(time.stampFromMs, last), time, view)
    return {
      offsetMs: view.offsetMs ?? null,
      clocks: view.clocks,
      cacheWrites: reason == null ? 'ok' : 'refused',
      ...(reason != null ? { reason } : {}),
      unsharedEntries: this.store.unsharedCount
    }
  }

  private time (): IntakeTime {
    const view = this.meshTime.view()
    return { view, time: cacheTime(view, { maxDriftMs: this.maxDriftMs, maxCorrectionMs: this.meshTime.maxCorrectionMs }) }
  }

  private async write (fields: LocalWrite): Promise<StoredEntry> {
    // Entries written alone are shared (or re-dated) first, in order (settle.ts).
    await this.settler.run()
    const { entry, shared } = await this.intake.write(fields)
    void this.persistClock()
    // Written alone: shared once the node hears peers' clocks.
    if (shared) this.publish(entry)
    return entry
  }

  private publish (entry: StoredEntry): void {
    this.components.pubsub.publish(CACHE_TOPIC, entry.wire).catch(err => {
      // Solo: nobody to publish to. Anti-entropy delivers it when peers come back.
      this.log.trace('publish of %s failed - %e', entry.key, err)
    })
  }

  private async fetch (key: string, signal?: AbortSignal): Promise<StoredEntry | undefined> {
    if (this.init.fetchRemote == null) return undefined
    const deadline = AbortSignal.timeout(this.init.fetchTimeoutMs ?? 1_000)
    try {
      const accept = async (from: PeerId, wire: Uint8Array): Promise<boolean> => {
        const r = await this.intake.receive(wire, { path: 'fetch', from, expectedKey: key })
        return r.outcome !== 'refused'
      }
      if (!await this.init.fetchRemote(key, accept, signal != null ? AbortSignal.any([signal, deadline]) : deadline)) return undefined
      return (await this.store.lookup(key))?.entry
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
    await this.init.meta.batch([
      { type: 'put', key: HLC_KEY, value: new TextEncoder().encode(JSON.stringify(this.hlc.peek())) },
      { type: 'put', key: FLOOR_KEY, value: new TextEncoder().encode(JSON.stringify(this.intake.floor)) }
    ]).catch(() => {})
  }

  /** Topic validator: never throws. Reject what the sender is blamed for (it costs them), Ignore the rest. */
  private async validate (propagationSource: PeerId, msg: Message): Promise<TopicValidatorResult> {
    try {
      if (msg.type !== 'signed') return TopicValidatorResult.Reject
      const r = await this.intake.receive(msg.data, { path: 'gossip', from: msg.from, publisher: msg.from })
      this.gossip?.increment({ [gossipOutcome(r)]: true })
      if (r.outcome === 'accepted') return TopicValidatorResult.Accept
      if (r.outcome === 'refused' && r.refusal.penalize) {
        this.log('rejected cache entry from %p via %p - %s', msg.from, propagationSource, r.refusal.detail)
        return TopicValidatorResult.Reject
      }
      return TopicValidatorResult.Ignore
    } catch (err) {
      this.log.error('cache validator failed - %e', err)
      return TopicValidatorResult.Ignore
    }
  }
}

/** The outcome names `fedmesh_cache_gossip_total` has always used, plus `refused`. */
function gossipOutcome (r: IntakeResult): 'accepted' | 'stale' | 'forged' | 'invalid' | 'refused' {
  if (r.outcome !== 'refused') return r.outcome
  const reason = r.refusal.reason
  if (reason === RefusalReason.Forged || reason === RefusalReason.NotOrigin) return 'forged'
  if (reason === RefusalReason.Invalid) return 'invalid'
  return 'refused'
}

function readTimestamp (bytes: Uint8Array | undefined | null): Timestamp | undefined {
  if (bytes == null) return undefined
  try {
    const parsed = JSON.parse(new TextDecoder().decode(bytes))
    return isValidTimestamp(parsed) ? parsed : undefined
  } catch {
    return undefined
  }
}

export function cache (init: CacheInit): (components: CacheComponents) => CacheService {
  return (components) => new CacheService(components, init)
}
