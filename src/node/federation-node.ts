import { VERSION } from '../version.js'
import { formatVersion } from '../services/cache/entry.js'
import { coordinateDoc, encodeValue, sinceLastSeen, toCacheEntryDoc, toPeerDoc, toRouteDoc, toRunDoc, toServedDoc, toTaskDetailDoc, toTaskDoc } from './to-documents.js'
import type { ServingDoc, StatusDoc, StorageDoc, PeerDoc, RunDoc, TaskDoc, TaskDetailDoc, RouteDoc, ServedDoc, CachePutDoc, CacheEntryDoc, CacheDelDoc, CacheListDoc, CancelDoc, PingDoc, RttDoc } from './documents.js'
import { encodePayload, fromBytesHandler, fromJsonHandler } from './task-payload.js'
import type { BytesHandler, JsonHandler, Payload } from './task-payload.js'
import { BadRequestError } from '../util/errors.js'
import { peerIdFromString } from '@libp2p/peer-id'
import { FederationApi } from './federation-api.js'
import type { EventWiring } from './event-wiring.js'
import type { NodeEvents } from './events.js'
import type { CacheService } from '../services/cache/cache-service.js'
import type { CacheSyncService } from '../services/cache-sync/index.js'
import type { CapacityService } from '../services/capacity/capacity-service.js'
import type { HostService } from '../services/host/host-service.js'
import type { ConnectivityService } from '../services/connectivity/connectivity-service.js'
import type { LatencyService } from '../services/latency/latency-service.js'
import type { ReputationService } from '../services/reputation/reputation-service.js'
import type { Membership } from '../services/membership/index.js'
import type { Executor } from '../services/tasks/executor.js'
import type { RunRequest, TaskService } from '../services/tasks/task-service.js'
import type { EvidenceService } from '../services/evidence/evidence-service.js'
import type { ReputationState, RttSource } from '../core/routing/score.js'
import type { FedStore } from '../store/store.js'
import type { Clock } from '../util/time.js'
import type { Libp2p, PeerId, PeerInfo, Startable } from '@libp2p/interface'
import type { GossipSub } from '@libp2p/gossipsub'
import type { NatService } from '../services/nat/nat-service.js'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'
import type { Identify } from '@libp2p/identify'
import type { FederationService } from '../services/federation/federation-service.js'

/** The services every federation node's libp2p carries (mdns, dht and bootstrap are optional). */
// A type alias, not an interface: libp2p's ServiceMap needs an index signature.
export type FedServices = {
  identify: Identify
  federation: FederationService
  ping: Ping
  pubsub: GossipSub
  membership: Membership
  reputation: ReputationService
  connectivity: ConnectivityService
  host: HostService
  capacity: CapacityService
  latency: LatencyService
  cache: CacheService
  cacheSync: CacheSyncService
  tasks: TaskService
  evidence: EvidenceService
  nat: NatService
  relay?: CircuitRelayService
  dht?: KadDHT
  mdns?: EventTarget
  bootstrap?: EventTarget
}

export interface FederationNodeParts {
  libp2p: Libp2p<FedServices>
  store: FedStore
  name: string
  executor: Executor
  clock: Clock
  /** Turns services' callbacks into `events`; follows libp2p and the store while the node runs. */
  events: EventWiring
  /** The cache held here, all writers together. */
  cacheSize: () => { entries: number, bytes: number }
}

/** A task as the library submits it: `input` raw bytes (a Uint8Array) or any JSON value. */
export interface RunOptions extends Omit<RunRequest, 'input'> {
  input?: Payload
}

function parsePeerId (peerId: string): PeerId {
  try {
    return peerIdFromString(peerId)
  } catch {
    throw new BadRequestError(`"${peerId}" is not a peer id`)
  }
}

/** The longest pause `pause --for` takes: 365 days (longer: pause without an end). */
export const MAX_PAUSE_MS = 365 * 24 * 60 * 60 * 1000

/** Banned peers whose last-seen time is remembered for `peers`. */
const FORGOTTEN_PEERS_KEPT = 1_000

/**
 * A running federation node: the libp2p host and fedmesh's services over one store. This is the
 * library API (`createFederationNode`) and what the daemon's control API calls.
 */
export class FederationNode implements Startable {
  readonly libp2p: Libp2p<FedServices>
  readonly store: FedStore
  readonly name: string
  readonly executor: Executor
  /** Membership: status, invites, joining, members, revocation. */
  readonly federation: FederationApi
  /** What happens on this node, as typed events (docs/CONTRACT.md "Events"). */
  readonly events: NodeEvents
  private readonly wiring: EventWiring
  private readonly cacheSize: () => { entries: number, bytes: number }
  private readonly clock: Clock
  private startedAtMs = 0
  private running = false
  private readonly teardown: Array<() => void> = []
  /** When banned (forgotten) peers were last heard from, so `peers` can still say (bounded). */
  private readonly lastSeenOfForgotten = new Map<string, number>()

  constructor (parts: FederationNodeParts) {
    this.libp2p = parts.libp2p
    this.store = parts.store
    this.name = parts.name
    this.executor = parts.executor
    this.clock = parts.clock
    this.wiring = parts.events
    this.events = parts.events.events
    this.cacheSize = parts.cacheSize
    this.federation = new FederationApi(parts.libp2p, parts.name, parts.clock)
  }

  get peerId (): PeerId {
    return this.libp2p.peerId
  }

  isStarted (): boolean {
    return this.running
  }

  async start (): Promise<void> {
    if (this.running) return
    this.running = true
    this.wireDiscovery()
    this.wirePeerLoss()
    this.wireStorageRecovery()
    this.teardown.push(this.wiring.attach(this.libp2p, this.store.health))
    await this.libp2p.start()
    this.startedAtMs = this.clock.now()
  }

  /** Stop taking tasks, let running ones finish (within `drainMs`), then stop libp2p. */
  async stop (drainMs = 5_000): Promise<void> {
    if (!this.running) return
    this.running = false
    // New tasks are refused; accepted ones that cannot finish now stay journaled.
    this.libp2p.services.tasks.beginStop()
    await this.executor.drain(drainMs)
    for (const remove of this.teardown.splice(0)) remove()
    await this.libp2p.stop()
  }

  /**
   * Register a task kind implemented in code (library API); advertised from the next ad on. The
   * handler gets the input's bytes and returns bytes (sent as they are) or any JSON value.
   */
  handle (kind: string, handler: BytesHandler): void {
    this.executor.register(kind, fromBytesHandler(handler))
  }

  /** Register a kind that takes JSON (input that is not JSON is answered BAD_INPUT) and returns JSON or bytes. */
  handleJson<In = any, Out = unknown> (kind: string, handler: JsonHandler<In, Out>): void {
    this.executor.register(kind, fromJsonHandler(handler))
  }

  status (): StatusDoc {
    const { connectivity } = this.libp2p.services
    return {
      peerId: this.peerId.toString(),
      name: this.name,
      addresses: this.libp2p.getMultiaddrs().map(String),
      mode: connectivity.mode,
      modeSince: connectivity.since,
      modeTransitions: connectivity.transitionCount,
      peers: this.libp2p.services.federation.memberPeers().length,
      cacheSync: this.cacheSyncDoc(),
      clock: this.libp2p.services.cache.clockStatus(),
      storage: this.storageDoc(),
      cache: this.cacheSize(),
      coordinate: coordinateDoc(this.libp2p.services.latency.coordinate()),
      ...this.natDoc(),
      capacity: this.libp2p.services.capacity.local(),
      serving: this.serving(),
      uptimeMs: this.running ? this.clock.now() - this.startedAtMs : 0,
      version: VERSION
    }
  }

  /** What peers may use of this machine now, and why (the host policy over its signals). */
  serving (): ServingDoc {
    const { host } = this.libp2p.services
    const s = host.serving()
    const signals = host.signals()
    const pause = host.pause()
    const of = this.executor.concurrency
    return {
      slots: Math.min(of, s.slots),
      of,
      paused: s.paused,
      ...(s.reason != null ? { reason: s.reason } : {}),
      ...(s.detail != null ? { detail: s.detail } : {}),
      ...(pause != null ? { pause: { since: new Date(pause.since).toISOString(), ...(pause.until != null ? { until: new Date(pause.until).toISOString() } : {}) } } : {}),
      signals: { ...signals.power, presence: signals.presence.state, ...(signals.presence.idleMs != null ? { idleMs: signals.presence.idleMs } : {}), ...(signals.ownerBusyCores != null ? { ownerBusyCores: signals.ownerBusyCores } : {}), cores: signals.cores },
      policy: { ...host.policy, onPause: host.onPause }
    }
  }

  /** Take no work from peers for `forMs` (until `resume` when undefined); kept across restarts. Running peer tasks finish (or are handed back: `onPause`). */
  async pause (forMs?: number): Promise<ServingDoc> {
    if (forMs != null && !(Number.isInteger(forMs) && forMs > 0 && forMs <= MAX_PAUSE_MS)) throw new BadRequestError(`a pause lasts 1 ms to ${MAX_PAUSE_MS / 86_400_000} days`)
    await this.libp2p.services.host.pauseFor(forMs)
    return this.serving()
  }

  /** End the owner's pause (the policy's rules still apply). */
  async resume (): Promise<ServingDoc> {
    await this.libp2p.services.host.resume()
    return this.serving()
  }

  private natDoc (): Pick<StatusDoc, 'reachability' | 'nat' | 'relay'> {
    const n = this.libp2p.services.nat.status()
    return { reachability: n.reachability, nat: { publicAddresses: n.publicAddresses, observedAddresses: n.observedAddresses }, relay: n.relay }
  }

  /** Members this node knows (any peer in an open mesh); with `all`, refused peers too. */
  async peers (options: { all?: boolean } = {}): Promise<PeerDoc[]> {
    const docs = await this.memberPeers()
    if (options.all !== true) return docs
    const now = this.clock.now()
    for (const r of this.libp2p.services.federation.refused()) {
      if (docs.some(d => d.peerId === r.peer)) continue
      docs.push({ peerId: r.peer, name: '', addresses: [], connected: false, connection: null, discoveredVia: [], rttMs: null, capacity: null, reputation: 0, lastSeenMs: now - r.lastAtMs, membership: 'refused', refusal: { reason: r.reason, count: r.count, lastAt: r.lastAtMs } })
    }
    return docs
  }

  private async memberPeers (): Promise<PeerDoc[]> {
    const now = this.clock.now()
    const table = this.libp2p.services.capacity.table
    const docs: PeerDoc[] = []
    const { federation } = this.libp2p.services
    for (const known of this.libp2p.services.membership.list()) {
      const id = known.id.toString()
      // Only members are peers: a discovered peer that has not proved membership is not listed.
      if (!federation.isMember(id)) continue
      const connections = this.libp2p.getConnections(known.id)
      const stored = connections.length > 0 ? undefined : await this.libp2p.peerStore.get(known.id).catch(() => undefined)
      const doc = toPeerDoc({
        known,
        now,
        addresses: connections.length > 0 ? connections.map(c => c.remoteAddr) : (stored?.addresses ?? []).map(a => a.multiaddr),
        connected: connections.length > 0,
        // A WebRTC connection counts as direct only once it carried traffic (protocols/nat.md).
        connection: connections.some(c => this.libp2p.services.nat.isDirect(c)) ? 'direct' : 'relayed',
        capacity: table.last(id),
        rtt: this.rttTo(id),
        reputation: this.reputationOf(id)
      })
      const refusals = this.libp2p.services.cache.refusals(id)
      docs.push({ ...doc, membership: 'member', ...(Object.keys(refusals).length > 0 ? { cacheRefusals: refusals } : {}) })
    }
    // Banned peers are no longer dialled or remembered by membership, but users ask "why is X
    // gone?": they stay listed, disconnected, with their score and its reasons.
    const listed = new Set(docs.map(d => d.peerId))
    for (const r of this.libp2p.services.reputation.ledger.list()) {
      if (r.state !== 'banned' || listed.has(r.peer)) continue
      docs.push({
        peerId: r.peer,
        name: table.last(r.peer)?.ad.name ?? '',
        addresses: [],
        connected: false,
        connection: null,
        discoveredVia: [],
        rttMs: null,
        capacity: null,
        reputation: Math.round(r.score * 10) / 10,
        reputationState: r.state,
        reputationComponents: Object.fromEntries(Object.entries(r.components).map(([k, v]) => [k, Math.round(v * 10) / 10])),
        ...(r.bannedUntil != null ? { bannedUntil: new Date(r.bannedUntil).toISOString() } : {}),
        lastSeenMs: sinceLastSeen(false, this.lastSeenOfForgotten.get(r.peer), now)
      })
    }
    return docs
  }

  /**
   * Run a task on the best peer (or where asked), with failover; resolves when it finished.
   * `input` is sent as it is when a Uint8Array, else as JSON (what `handle`'s handlers return
   * travels back the same way); the result's `output` is the JSON the output holds (else its text).
   */
  run (req: RunOptions): Promise<RunDoc> {
    // Not async, and no copy of a request whose input is bytes already: one task through the
    // library is one task service promise and one reaction (a bad input still rejects).
    let request: RunRequest
    try {
      request = req.input instanceof Uint8Array ? req as RunRequest : { ...req, input: encodePayload(req.input) }
    } catch (err) {
      return Promise.reject(err)
    }
    return this.libp2p.services.tasks.run(request).then(toRunDoc)
  }

  /** Cancel a task submitted here (`fedmesh tasks cancel`); undefined when the id is unknown. */
  async cancelTask (taskId: string): Promise<CancelDoc | undefined> {
    const done = await this.libp2p.services.tasks.cancel(taskId)
    if (done == null) return undefined
    const { record } = done
    const ended = { taskId, status: record.status, ...(record.errorCode != null ? { errorCode: record.errorCode } : {}) }
    if (done.outcome === 'cancelled') return { ...ended, outcome: 'cancelled', message: 'cancelled before it started: it will not run' }
    if (done.outcome === 'may-still-finish') {
      const where = done.peer == null ? 'the peer it was bound to' : done.peer === this.peerId.toString() ? 'this node' : `peer ${done.peer}`
      return { ...ended, outcome: 'may-still-finish', ...(done.peer != null ? { peer: done.peer } : {}), message: `cancelled here, but ${where} had started it (or did not confirm dropping it): it may still finish there` }
    }
    return { ...ended, outcome: 'already-finished', message: `already finished (${record.status === 'ok' ? 'ok' : `error ${record.errorCode ?? ''}`.trim()}): nothing to cancel` }
  }

  /** Ping a peer now (`fedmesh ping`): `count` round trips, `intervalMs` apart. */
  async ping (peerId: string, options: { count?: number, intervalMs?: number, timeoutMs?: number, signal?: AbortSignal } = {}): Promise<PingDoc> {
    const id = parsePeerId(peerId)
    const results = await this.libp2p.services.latency.pingNow(id, options.count ?? 3, options.intervalMs ?? 200, { signal: options.signal, timeoutMs: options.timeoutMs })
    const ok = results.filter((r): r is number => typeof r === 'number')
    const failure = results.find((r): r is Error => r instanceof Error)
    return {
      peerId,
      name: this.nameOf(peerId),
      pings: results.map(r => typeof r === 'number' ? r : null),
      sent: results.length,
      received: ok.length,
      minMs: ok.length > 0 ? Math.min(...ok) : null,
      avgMs: ok.length > 0 ? Math.round(ok.reduce((a, b) => a + b, 0) / ok.length * 100) / 100 : null,
      maxMs: ok.length > 0 ? Math.max(...ok) : null,
      ...(failure != null ? { error: failure.message } : {})
    }
  }

  /** The round trip routing uses for a peer, measured and Vivaldi-estimated (`fedmesh rtt`). */
  rtt (peerId: string): RttDoc {
    const id = parsePeerId(peerId)
    const { measuredMs, estimatedMs } = this.libp2p.services.latency.rttDetail(peerId)
    const round2 = (v: number | undefined): number | null => v == null ? null : Math.round(v * 100) / 100
    return {
      peerId,
      name: this.nameOf(peerId),
      connected: this.libp2p.getConnections(id).length > 0,
      measuredMs: round2(measuredMs),
      estimatedMs: round2(estimatedMs),
      source: measuredMs != null ? 'ping' : estimatedMs != null ? 'vivaldi' : 'none'
    }
  }

  /** A peer's advertised name ('' when unknown); this node's own name for itself. */
  private nameOf (peerId: string): string {
    return peerId === this.peerId.toString() ? this.name : this.libp2p.services.capacity.table.last(peerId)?.ad.name ?? ''
  }

  /** Unfinished tasks first (queued for a slot, or running), then finished ones, newest first. */
  tasks (): TaskDoc[] {
    const { tasks } = this.libp2p.services
    const running: TaskDoc[] = tasks.activeTasks().map(({ record: r, state }) => ({
      taskId: r.taskId, kind: r.kind, status: state, peer: '', attempts: 0, durationMs: this.clock.now() - r.submittedAt, submittedAt: r.submittedAt
    }))
    return [...running, ...tasks.recentTasks().map(toTaskDoc)]
  }

  /** One task submitted here, while the journal keeps it (undefined: unknown). */
  async task (taskId: string): Promise<TaskDetailDoc | undefined> {
    const found = await this.libp2p.services.tasks.lookup(taskId)
    return found == null ? undefined : toTaskDetailDoc(found, this.clock.now())
  }

  /** Tasks this node ran (or runs), for itself or for peers, newest first; kept across restarts. */
  served (): ServedDoc[] {
    const now = this.clock.now()
    return this.executor.executed().map(e => toServedDoc(e, now))
  }

  route (kind: string): RouteDoc[] {
    return this.libp2p.services.tasks.route(kind).map(toRouteDoc)
  }

  private storageDoc (): StorageDoc {
    const c = this.store.health.condition()
    return c.ok
      ? { ok: true, writesRefused: c.writesRefused }
      : { ok: false, error: c.error, since: new Date(c.since ?? 0).toISOString(), writesRefused: c.writesRefused }
  }

  private cacheSyncDoc (): StatusDoc['cacheSync'] {
    const s = this.libp2p.services.cacheSync.stats()
    return {
      lastSyncAt: s.lastSyncAt > 0 ? new Date(s.lastSyncAt).toISOString() : null,
      sessionsCompleted: s.sessionsCompleted,
      sessionsFailed: s.sessionsFailed,
      entriesReceived: s.entriesReceived,
      entriesSent: s.entriesSent
    }
  }

  /** Write a cache entry (replicates to every peer). */
  async cachePut (key: string, value: unknown, ttlSeconds?: number): Promise<CachePutDoc> {
    const e = await this.libp2p.services.cache.put(key, encodeValue(value), ttlSeconds)
    return { key: e.key, version: formatVersion(e.version), origin: e.version.origin }
  }

  async cacheGet (key: string): Promise<CacheEntryDoc | undefined> {
    const e = await this.libp2p.services.cache.get(key)
    return e == null ? undefined : toCacheEntryDoc(e)
  }

  /** Delete a live entry (a tombstone that replicates); undefined, and nothing written, when no node has it. */
  async cacheDel (key: string): Promise<CacheDelDoc | undefined> {
    const { cache } = this.libp2p.services
    if (await cache.get(key) == null) return undefined
    const e = await cache.del(key)
    return { key: e.key, version: formatVersion(e.version) }
  }

  async cacheList (options: { prefix?: string, limit?: number } = {}): Promise<CacheListDoc[]> {
    return (await this.libp2p.services.cache.list(options)).map(e => {
      const { value: _value, ...rest } = toCacheEntryDoc(e)
      return rest
    })
  }

  /** A capacity advertisement arrived from a peer: it is alive (for `windowMs` when its ad says it beats slower than usual). */
  heard (peer: PeerId, windowMs?: number): void {
    this.libp2p.services.membership.heard(peer)
    this.libp2p.services.connectivity.heartbeat(peer, windowMs)
  }

  /** A peer went silent or its connection closed: its in-flight tasks fail over now. */
  lost (peerId: string): void {
    this.libp2p.services.tasks.peerLost(peerIdFromString(peerId))
  }

  /** A banned peer: stop dialling it and drop what we knew of its capacity. */
  forget (peerId: string): void {
    const id = peerIdFromString(peerId)
    const seen = this.libp2p.services.membership.get(id)?.lastSeenMs
    if (seen != null && seen > 0) {
      this.lastSeenOfForgotten.delete(peerId)
      this.lastSeenOfForgotten.set(peerId, seen)
      if (this.lastSeenOfForgotten.size > FORGOTTEN_PEERS_KEPT) this.lastSeenOfForgotten.delete(this.lastSeenOfForgotten.keys().next().value as string)
    }
    this.libp2p.services.membership.forget(id)
    this.libp2p.services.capacity.table.delete(peerId)
    this.libp2p.services.cache.meshTime.forget(peerId)
    this.libp2p.services.tasks.peerLost(id)
  }

  rttTo (peerId: string): { rttMs: number, source: RttSource } | undefined {
    return this.libp2p.services.latency.rttTo(peerId)
  }

  reputationOf (peerId: string): { score: number, state: ReputationState, components?: Record<string, number> } {
    const r = this.libp2p.services.reputation.describe(peerId)
    return { score: r.score, state: r.state, components: r.components }
  }

  /**
   * While the store refused writes, cache entries from peers could not be kept: once it takes
   * writes again, reconcile with every connected peer rather than wait for the periodic round.
   */
  private wireStorageRecovery (): void {
    const remove = this.store.health.onChange(event => {
      if (event.type !== 'recovered' || !this.running) return
      const { cache, cacheSync } = this.libp2p.services
      // The database was reopened: a write the disk failed may be gone, so L1 starts over from it.
      cache.store.clearMemory()
      for (const peer of cacheSync.peers()) {
        cacheSync.syncWith(peer).catch(() => {})
      }
    })
    this.teardown.push(remove)
  }

  /** When the last connection to a peer closes, its in-flight tasks fail over at once. */
  private wirePeerLoss (): void {
    const onDisconnect = (evt: CustomEvent<PeerId>): void => { this.libp2p.services.tasks.peerLost(evt.detail) }
    this.libp2p.addEventListener('peer:disconnect', onDisconnect)
    this.teardown.push(() => { this.libp2p.removeEventListener('peer:disconnect', onDisconnect) })
  }

  /** Discovery services report peers; membership decides whether and when to dial them. */
  private wireDiscovery (): void {
    const { services } = this.libp2p
    const listen = (source: EventTarget | undefined, via: 'mdns' | 'dht' | 'bootstrap'): void => {
      if (source == null) return
      const handler = (evt: Event): void => {
        services.membership.discovered((evt as CustomEvent<PeerInfo>).detail, via)
      }
      source.addEventListener('peer', handler)
      this.teardown.push(() => { source.removeEventListener('peer', handler) })
    }
    listen(services.mdns, 'mdns')
    listen(services.dht as EventTarget | undefined, 'dht')
    listen(services.bootstrap, 'bootstrap')
  }
}
