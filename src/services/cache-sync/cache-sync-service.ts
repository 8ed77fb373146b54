import { NotStartedError } from '@libp2p/interface'
import { PeerMap, PeerSet } from '@libp2p/peer-collections'
import { MAX_RANGES_PER_MESSAGE } from '../../core/reconcile/index.js'
import { DEFAULT_MAX_VALUE_BYTES } from '../cache/entry.js'
import { SECOND } from '../../util/time.js'
import { SyncChannel } from './channel.js'
import { maxEntryBytes, maxMessageBytes } from './codec.js'
import { InvalidSyncMessageError, SyncBusyError } from './errors.js'
import { fetchFirst, getFrom, serveGet } from './fetch.js'
import { FullResync } from './full-resync.js'
import { runSession } from './session.js'
import { withoutStale } from './stale-filter.js'
import type { ChannelLimits } from './channel.js'
import type { SyncFrame } from './codec.js'
import type { SessionDeps, SessionResult, SessionRole } from './session.js'
import type { ItemIndex, ReconcilerInit } from '../../core/reconcile/index.js'
import type { Sublevel } from '../../store/store.js'
import type { Clock } from '../../util/time.js'
import type { StoredEntry } from '../cache/entry.js'
import type { AbortOptions, ComponentLogger, Connection, CounterGroup, Logger, Metrics, PeerId, PeerStore, Startable, Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'

export const CACHE_SYNC_PROTOCOL = '/fedmesh/cache-sync/1.0.0'

/** What anti-entropy needs of the cache's store (CacheStore). */
export interface SyncStore {
  /** The reconciliation index, current with every write. */
  readonly index: ItemIndex
  readonly tombstoneGraceMs: number
  horizonMs(): number
  lookup(key: string): Promise<{ entry: StoredEntry } | undefined>
  /** What may be given to a peer for a key (entries the node has not shared yet are not). */
  lookupShared(key: string): Promise<{ entry: StoredEntry } | undefined>
  getMany(keys: string[]): Promise<StoredEntry[]>
  dropOlderThan(horizonMs: number): Promise<number>
}

/** What anti-entropy needs of the cache (CacheService). */
export interface SyncableCache {
  readonly store: SyncStore
  /** Take in entries a peer pushed (the cache's intake: verified, checked, merged; forgeries reported there). */
  importEntries(wires: Uint8Array[], from: PeerId, source: 'sync' | 'resync'): Promise<{ applied: number, rejected: number }>
}

export interface CacheSyncInit {
  /** The cache whose store is reconciled (late-bound: it is a sibling service). */
  cache: () => SyncableCache
  /** Where lastSyncAt persists (full resync after an absence longer than the tombstone grace). */
  meta: Sublevel
  clock: Clock
  random?: () => number
  /** A session with a random connected peer this often, ms (jittered ±50%). Default 30 s. */
  intervalMs?: number
  /** Run a session when a peer that speaks the protocol connects (the lower peer id initiates). Default true. */
  syncOnConnect?: boolean
  /** Time budget of one session, ms; it is reset when over. Default 30 s. */
  sessionTimeoutMs?: number
  /** Sessions at once, both directions; one per peer at most. Default 4. */
  maxSessions?: number
  /** Peers asked at once by an L3 fetch. Default 3. */
  fetchPeers?: number
  /** The cache's largest value (sizes the message limit). Default 256 KiB. */
  maxValueBytes?: number
  /** Bytes of entries per ENTRIES message. Default 256 KiB. */
  maxEntriesBytesPerMessage?: number
  /** Received bytes waiting for verification before a session stops reading (about a second of work). Default 1 MiB. */
  maxPendingImportBytes?: number
  /** Reconciler tuning (branching, item threshold, rounds). Default DEFAULT_RECONCILER. */
  reconciler?: ReconcilerInit
  /** A peer broke the protocol (reputation). */
  onInvalid?: (peer: PeerId, why: string) => void
  /** A session ended (the harness and benchmarks measure them). */
  onSession?: (peer: PeerId, result: SessionResult | Error) => void
}

/**
 * The Reconciler's defaults (branching 16, item threshold 32), with as many ranges per message as
 * the protocol allows: fewer rounds, and fewer ranges summarised coarsely when a round is cut.
 * A message then stays near 2 MiB at most (4,096 ranges of at most 32 hashes), under the limit.
 */
export const DEFAULT_RECONCILER: ReconcilerInit = { maxRangesPerMessage: MAX_RANGES_PER_MESSAGE }
export const DEFAULT_SYNC_INTERVAL_MS = 30 * SECOND
export const DEFAULT_SESSION_TIMEOUT_MS = 30 * SECOND
export const DEFAULT_MAX_SESSIONS = 4
export const DEFAULT_FETCH_PEERS = 3
export const DEFAULT_MAX_ENTRIES_BYTES_PER_MESSAGE = 256 * 1024
export const DEFAULT_MAX_PENDING_IMPORT_BYTES = 1024 * 1024
/** Entries verified between two yields to the event loop (~10 ms of work). */
const IMPORT_SLICE = 48
/** Streams of this protocol per connection and direction: one session plus fetches. */
const MAX_STREAMS_PER_CONNECTION = 16

export interface CacheSyncComponents {
  peerId: PeerId
  registrar: Registrar
  connectionManager: ConnectionManager
  peerStore: PeerStore
  logger: ComponentLogger
  metrics?: Metrics
}

/** Totals since start, for the CLI, the harness and benchmarks. */
export interface CacheSyncStats {
  sessionsCompleted: number
  sessionsFailed: number
  entriesSent: number
  /** Bytes of the entries pushed (encoded CacheEntry bytes, without framing). */
  entryBytesSent: number
  entriesReceived: number
  bytesSent: number
  bytesReceived: number
  /** When this node last completed a session, ms since the epoch. */
  lastSyncAt: number
}

/**
 * `/fedmesh/cache-sync/1.0.0`: anti-entropy for the replicated cache. On every (re)connection of
 * a peer that speaks it, and every 30 s with a random connected peer, the two run one range-based
 * reconciliation session and push each other what the other lacks, so a partition heals with
 * nothing lost and deletes stay deleted. Also answers and asks single-key GETs (the cache's L3).
 */
export class CacheSyncService implements Startable {
  private readonly log: Logger
  private readonly random: () => number
  private readonly intervalMs: number
  private readonly sessionTimeoutMs: number
  private readonly maxSessions: number
  private readonly fetchPeers: number
  private readonly maxValueBytes: number
  private readonly limits: ChannelLimits
  private readonly resync: FullResync
  /** Connected peers that speak the protocol (the topology's filter). */
  private readonly speakers = new PeerSet()
  private readonly sessions = new PeerMap<AbortController>()
  private readonly totals: CacheSyncStats = { sessionsCompleted: 0, sessionsFailed: 0, entriesSent: 0, entryBytesSent: 0, entriesReceived: 0, bytesSent: 0, bytesReceived: 0, lastSyncAt: 0 }
  private topologyId: string | undefined
  private timer: NodeJS.Timeout | undefined
  private running = false
  private ready = false
  private readonly sessionCounter?: CounterGroup<'completed' | 'failed' | 'invalid'>
  private readonly entryCounter?: CounterGroup<'sent' | 'received' | 'applied'>

  constructor (private readonly components: CacheSyncComponents, private readonly init: CacheSyncInit) {
    this.log = components.logger.forComponent('fedmesh:cache-sync')
    this.random = init.random ?? Math.random
    this.intervalMs = init.intervalMs ?? DEFAULT_SYNC_INTERVAL_MS
    this.sessionTimeoutMs = init.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS
    this.maxSessions = init.maxSessions ?? DEFAULT_MAX_SESSIONS
    this.fetchPeers = init.fetchPeers ?? DEFAULT_FETCH_PEERS
    this.maxValueBytes = init.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES
    this.limits = { maxEntryBytes: maxEntryBytes(this.maxValueBytes), maxMessageBytes: maxMessageBytes(this.maxValueBytes) }
    this.resync = new FullResync({
      meta: init.meta,
      clock: init.clock,
      graceMs: () => this.store().tombstoneGraceMs,
      horizonMs: () => this.store().horizonMs(),
      dropOlderThan: async (horizon) => this.store().dropOlderThan(horizon),
      log: this.log
    })
    this.sessionCounter = components.metrics?.registerCounterGroup('fedmesh_cache_sync_sessions_total', {
      label: 'outcome',
      help: 'Anti-entropy sessions by outcome (invalid: the peer broke the protocol)'
    })
    this.entryCounter = components.metrics?.registerCounterGroup('fedmesh_cache_sync_entries_total', {
      label: 'direction',
      help: 'Cache entries pushed and received by anti-entropy, and received ones that changed the store'
    })
  }

  readonly [Symbol.toStringTag] = 'fedmesh:cache-sync'

  async start (): Promise<void> {
    if (this.running) return
    this.running = true
    await this.components.registrar.handle(CACHE_SYNC_PROTOCOL, (stream: Stream, connection: Connection) => {
      this.onStream(stream, connection.remotePeer)
    }, { maxInboundStreams: MAX_STREAMS_PER_CONNECTION, maxOutboundStreams: MAX_STREAMS_PER_CONNECTION })
  }

  // The cache is another service: its store is loaded once every service has started.
  async afterStart (): Promise<void> {
    if (this.ready) return
    await this.resync.load()
    this.ready = true
    this.topologyId = await this.components.registrar.register(CACHE_SYNC_PROTOCOL, {
      filter: { has: (p) => this.speakers.has(p), add: (p) => { this.speakers.add(p) }, remove: (p) => { this.speakers.delete(p) } },
      onConnect: (peer) => { this.connected(peer) },
      onDisconnect: (peer) => { this.speakers.delete(peer) }
    })
    // Peers identified before the topology existed.
    for (const conn of this.components.connectionManager.getConnections()) {
      const peer = await this.components.peerStore.get(conn.remotePeer).catch(() => undefined)
      if (peer?.protocols.includes(CACHE_SYNC_PROTOCOL) === true && !this.speakers.has(conn.remotePeer)) {
        this.speakers.add(conn.remotePeer)
        this.connected(conn.remotePeer)
      }
    }
    this.schedule()
  }

  beforeStop (): void {
    if (!this.ready) return
    this.ready = false
    clearTimeout(this.timer)
    if (this.topologyId != null) this.components.registrar.unregister(this.topologyId)
    this.topologyId = undefined
    for (const controller of this.sessions.values()) controller.abort(new Error('node stopping'))
    this.speakers.clear()
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    await this.components.registrar.unhandle(CACHE_SYNC_PROTOCOL)
  }

  stats (): CacheSyncStats {
    return { ...this.totals, lastSyncAt: this.resync.lastSyncAt }
  }

  /** Peers connected now that speak the protocol. */
  peers (): PeerId[] {
    return [...this.speakers]
  }

  /**
   * Run one session with a peer now, as the initiator.
   *
   * @throws SyncBusyError when a session with this peer runs, or as many as allowed do
   */
  async syncWith (peer: PeerId, options: AbortOptions = {}): Promise<SessionResult> {
    if (!this.ready) throw new NotStartedError('cache sync is not started')
    const controller = this.claim(peer)
    try {
      const signal = this.sessionSignal(controller, options.signal)
      await this.resync.beforeSession()
      const stream = await this.components.connectionManager.openStream(peer, CACHE_SYNC_PROTOCOL, { signal })
      return await this.run(new SyncChannel(stream, this.limits), peer, 'initiator', signal)
    } finally {
      this.sessions.delete(peer)
    }
  }

  /**
   * L3: ask up to `fetchPeers` connected peers for a key at once; each answer goes to `accept`
   * (the cache's intake). True once one was taken in.
   */
  async fetch (key: string, accept: (from: PeerId, wire: Uint8Array) => Promise<boolean>, signal?: AbortSignal): Promise<boolean> {
    if (!this.ready) return false
    const peers = shuffle([...this.speakers], this.random).slice(0, this.fetchPeers)
    return fetchFirst({
      key,
      peers,
      signal,
      accept,
      onInvalid: (peer, why) => { this.invalid(peer, why) },
      ask: async (peer, k, options) => {
        const stream = await this.components.connectionManager.openStream(peer, CACHE_SYNC_PROTOCOL, options)
        const channel = new SyncChannel(stream, this.limits)
        const abort = (): void => { channel.abort(new Error('fetch cancelled')) }
        options.signal?.addEventListener('abort', abort, { once: true })
        try {
          return await getFrom(channel, k, options)
        } catch (err) {
          channel.abort(err as Error)
          throw err
        } finally {
          options.signal?.removeEventListener('abort', abort)
        }
      }
    })
  }

  private store (): SyncStore {
    return this.init.cache().store
  }

  private connected (peer: PeerId): void {
    if (this.init.syncOnConnect === false || !this.ready) return
    // Both sides see the connection: only the lower peer id starts, so there is one session.
    if (this.components.peerId.toString() >= peer.toString()) return
    this.syncWith(peer).catch(err => { this.log('sync with %p on connect did not run - %s', peer, (err as Error).message) })
  }

  /** Every interval (jittered, so two peers rarely pick each other at the same moment), one random peer. */
  private schedule (): void {
    clearTimeout(this.timer)
    if (!this.ready) return
    this.timer = setTimeout(() => {
      this.periodic()
      this.schedule()
    }, this.intervalMs * (0.5 + this.random()))
    this.timer.unref?.()
  }

  private periodic (): void {
    if (this.sessions.size >= this.maxSessions) return
    const candidates = [...this.speakers].filter(p => !this.sessions.has(p))
    if (candidates.length === 0) return
    const peer = candidates[Math.floor(this.random() * candidates.length)]
    this.syncWith(peer).catch(err => { this.log('periodic sync with %p failed - %s', peer, (err as Error).message) })
  }

  private claim (peer: PeerId): AbortController {
    if (this.sessions.has(peer)) throw new SyncBusyError('a session with this peer is already running')
    if (this.sessions.size >= this.maxSessions) throw new SyncBusyError(`${this.maxSessions} sessions are already running`)
    const controller = new AbortController()
    this.sessions.set(peer, controller)
    return controller
  }

  private sessionSignal (controller: AbortController, signal?: AbortSignal): AbortSignal {
    const signals = [controller.signal, AbortSignal.timeout(this.sessionTimeoutMs)]
    if (signal != null) signals.push(signal)
    return AbortSignal.any(signals)
  }

  private onStream (stream: Stream, remote: PeerId): void {
    const channel = new SyncChannel(stream, this.limits)
    const frames = channel.frames()
    const firstDeadline = AbortSignal.timeout(this.sessionTimeoutMs)
    const onTimeout = (): void => { channel.abort(new Error('no request in time')) }
    firstDeadline.addEventListener('abort', onTimeout, { once: true })
    void (async () => {
      let first
      try {
        first = await frames.next()
      } catch (err) {
        if (err instanceof InvalidSyncMessageError) this.invalid(remote, err.message)
        channel.abort(err as Error)
        return
      } finally {
        firstDeadline.removeEventListener('abort', onTimeout)
      }
      if (first.done === true) return
      const frame = first.value
      if (frame.type === 'get') {
        const signal = AbortSignal.timeout(this.sessionTimeoutMs)
        await serveGet(channel, frame.key, async (key) => (await this.store().lookupShared(key))?.entry.wire, { signal })
          .catch(err => { channel.abort(err as Error) })
        await frames.return(undefined).catch(() => {})
        return
      }
      if (frame.type !== 'reconcile') {
        this.invalid(remote, `a stream may not start with ${frame.type.toUpperCase()}`)
        channel.abort(new InvalidSyncMessageError('bad first message'))
        return
      }
      let controller: AbortController
      try {
        if (!this.ready) throw new SyncBusyError('not started')
        controller = this.claim(remote)
      } catch (err) {
        channel.abort(err as Error)
        return
      }
      try {
        const signal = this.sessionSignal(controller)
        await this.resync.beforeSession()
        await this.run(channel, remote, 'responder', signal, frame, frames)
      } catch {
        // Counted and logged in run().
      } finally {
        this.sessions.delete(remote)
      }
    })()
  }

  /** Run a session, account for it, and blame the peer if it broke the protocol. */
  private async run (channel: SyncChannel, peer: PeerId, role: SessionRole, signal: AbortSignal, first?: SyncFrame, frames?: AsyncGenerator<SyncFrame, void, undefined>): Promise<SessionResult> {
    const onAbort = (): void => { channel.abort(signal.reason instanceof Error ? signal.reason : new Error('session aborted')) }
    signal.addEventListener('abort', onAbort, { once: true })
    const started = this.init.clock.now()
    try {
      const result = await runSession(channel, role, this.sessionDeps(peer), { signal, first, frames })
      this.account(result)
      this.sessionCounter?.increment({ completed: true })
      this.totals.sessionsCompleted++
      await this.resync.completed()
      this.log('%s session with %p done in %d ms: %d rounds, sent %d entries, received %d (%d applied, %d rejected), %d bytes out, %d in',
        role, peer, this.init.clock.now() - started, result.rounds, result.entriesSent, result.entriesReceived, result.applied, result.rejected, result.bytesSent, result.bytesReceived)
      this.init.onSession?.(peer, result)
      return result
    } catch (err) {
      this.totals.sessionsFailed++
      this.totals.bytesSent += channel.bytesSent
      this.totals.bytesReceived += channel.bytesReceived
      if (err instanceof InvalidSyncMessageError) {
        this.sessionCounter?.increment({ invalid: true })
        this.invalid(peer, err.message)
      } else {
        this.sessionCounter?.increment({ failed: true })
        this.log('%s session with %p failed - %s', role, peer, (err as Error).message)
      }
      channel.abort(err as Error)
      this.init.onSession?.(peer, err as Error)
      throw err
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  private sessionDeps (peer: PeerId): SessionDeps {
    return {
      index: this.store().index,
      horizonMs: () => this.store().horizonMs(),
      load: async (keys) => this.store().getMany(keys),
      import: async (wires) => {
        const total = { applied: 0, rejected: 0 }
        // Verifying is synchronous CPU work (~0.2 ms an entry): in slices, yielding between them,
        // so timers and I/O (heartbeats, pings, other streams) keep running during a big import.
        for (let i = 0; i < wires.length; i += IMPORT_SLICE) {
          if (i > 0) await new Promise(resolve => setImmediate(resolve))
          const fresh = await withoutStale(wires.slice(i, i + IMPORT_SLICE), async (key) => this.store().lookup(key))
          if (fresh.length === 0) continue
          const r = await this.init.cache().importEntries(fresh, peer, this.resync.resyncing ? 'resync' : 'sync')
          total.applied += r.applied
          total.rejected += r.rejected
        }
        return total
      },
      reconciler: this.init.reconciler ?? DEFAULT_RECONCILER,
      maxEntriesBytes: this.init.maxEntriesBytesPerMessage ?? DEFAULT_MAX_ENTRIES_BYTES_PER_MESSAGE,
      maxPendingImportBytes: this.init.maxPendingImportBytes ?? DEFAULT_MAX_PENDING_IMPORT_BYTES,
      log: this.log
    }
  }

  private account (r: SessionResult): void {
    this.totals.entriesSent += r.entriesSent
    this.totals.entryBytesSent += r.entryBytesSent
    this.totals.entriesReceived += r.entriesReceived
    this.totals.bytesSent += r.bytesSent
    this.totals.bytesReceived += r.bytesReceived
    this.entryCounter?.increment({ sent: r.entriesSent, received: r.entriesReceived, applied: r.applied })
  }

  private invalid (peer: PeerId, why: string): void {
    this.log('invalid cache-sync message from %p - %s', peer, why)
    this.init.onInvalid?.(peer, why)
  }
}

function shuffle<T> (items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[items[i], items[j]] = [items[j], items[i]]
  }
  return items
}
