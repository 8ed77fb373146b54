import { PeerMap } from '@libp2p/peer-collections'
import { backoffDelay } from '../../core/backoff.js'
import { PacedTimer } from '../../util/paced-timer.js'
import { MINUTE, SECOND } from '../../util/time.js'
import { VIA_METADATA_KEY, decodeVia, encodeVia } from './via.js'
import type { Via } from './via.js'
import type { BackoffPolicy } from '../../core/backoff.js'
import type { Clock } from '../../util/time.js'
import type { ComponentLogger, Connection, CounterGroup, Libp2pEvents, Logger, Metrics, PeerId, PeerInfo, PeerStore, Startable, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface MembershipInit {
  /** Dial discovered peers only while fewer than this many are connected. Default 32. */
  targetConnections?: number
  /** Peers remembered (and re-dialled) at most; the least recently seen are forgotten first. Default 1,000. */
  maxKnownPeers?: number
  /** Dials in flight at most; Noise handshakes are CPU-bound. Default 8. */
  maxParallelDials?: number
  /** Re-dial backoff after a peer drops; it never gives up, it only stops growing. Default 1 s .. 10 s. */
  redial?: BackoffPolicy
  /** Addresses accepted per discovered peer; discovery results are hints, so they are capped. Default 16. */
  maxAddressesPerPeer?: number
  /** How often due re-dials are checked while a peer waits for one. Default 500 ms. */
  tickMs?: number
  /** The same while every known peer is connected (nothing to re-dial), ms. Default 30 s. */
  settledTickMs?: number
  /** Peers this node must not dial (banned by reputation). Default: none. */
  isDenied?: (peer: PeerId) => boolean
  /**
   * Look for more peers (a DHT walk towards this node's id; its finds arrive as discoveries).
   * Run while the node has fewer connections than its target. Resolves to how many peers the
   * DHT answered with (none: nobody to ask yet). Default: none.
   */
  walk?: (signal: AbortSignal) => Promise<number>
  /**
   * Find a peer's current addresses by its id (a DHT lookup), after dials to the addresses known
   * failed: a peer that restarted on another port, or whose NAT mapping changed. Default: none.
   */
  lookup?: (peer: PeerId, signal: AbortSignal) => Promise<Multiaddr[]>
  /** A lookup gives up after this, ms. Default 5 s. */
  lookupTimeoutMs?: number
  /**
   * While a lost peer's dials fail, it is looked up this often between them, ms, for
   * `lookupWindowMs` after it was lost: a peer back on a new port is found within about this,
   * not at the next dial of a backoff that has grown to 10 s. Default 2 s.
   */
  lookupEveryMs?: number
  /** How long after losing a peer the lookups between dials go on, ms. Default 60 s. */
  lookupWindowMs?: number
  /** Walks every this often while short of connections; the first ones come sooner. Default 15 s. */
  walkIntervalMs?: number
  /**
   * Each walk that found no new peer doubles the gap to the next, up to this, ms (a peer lost
   * starts over). A small federation is always "short" of the 32 connections it targets: it
   * walked the DHT every 15 s for nobody new, a large share of an idle node's CPU. Default 5 min.
   */
  maxWalkIntervalMs?: number
  clock?: Clock
  random?: () => number
}

export const DEFAULT_TARGET_CONNECTIONS = 32
export const DEFAULT_MAX_KNOWN_PEERS = 1_000
export const DEFAULT_MAX_PARALLEL_DIALS = 8
// Capped at 10 s: after a partition heals, peers find each other again within seconds (a dial
// to a dead address costs one SYN every 5-10 s per peer, nothing on a LAN).
export const DEFAULT_REDIAL: BackoffPolicy = { minMs: 1 * SECOND, maxMs: 10 * SECOND }
export const DEFAULT_MAX_ADDRESSES_PER_PEER = 16
export const DEFAULT_TICK_MS = 500
export const DEFAULT_SETTLED_TICK_MS = 30 * SECOND
export const DEFAULT_LOOKUP_EVERY_MS = 2 * SECOND
export const DEFAULT_LOOKUP_WINDOW_MS = 60 * SECOND

/** A dial in flight was stopped because a lookup found addresses it did not have (not a failure). */
class NewAddressesError extends Error {
  constructor () {
    super('a lookup found new addresses: dialling again with them')
    this.name = 'NewAddressesError'
  }
}

export interface MembershipComponents {
  peerId: PeerId
  peerStore: PeerStore
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  metrics?: Metrics
}

/** What this node knows of one peer, whether or not it is connected now. */
export interface KnownPeer {
  id: PeerId
  via: Set<Via>
  firstSeenMs: number
  lastSeenMs: number
  connected: boolean
  /** Failed dials since the last successful connection; drives the backoff. */
  failures: number
  /** When the next dial may start; 0 = not scheduled. */
  nextDialAtMs: number
  /** When the connection was lost (0 = connected, or never connected in this run). */
  lostAtMs?: number
  /** When it was last looked up by id. */
  lookedUpAtMs?: number
}

/**
 * Turns discovery hints into connections and keeps them: dials peers found by mDNS, the DHT and
 * bootstrap (libp2p 3 does not dial discovery events itself), remembers how each was found, and
 * re-dials dropped peers with backoff for as long as the node runs, so a mesh always rejoins
 * after an outage.
 */
export class Membership implements Startable {
  private readonly log: Logger
  private readonly peers = new PeerMap<KnownPeer>()
  private readonly dialing = new PeerMap<AbortController>()
  private readonly targetConnections: number
  private readonly maxKnownPeers: number
  private readonly maxParallelDials: number
  private readonly redial: BackoffPolicy
  private readonly maxAddressesPerPeer: number
  private readonly clock: Clock
  private readonly random: () => number
  private readonly isDenied: (peer: PeerId) => boolean
  private readonly ticker: PacedTimer
  private readonly tickMs: number
  private readonly settledTickMs: number
  private walkTimer: NodeJS.Timeout | undefined
  private walks = 0
  private walking = false
  /** Walks in a row that found no new peer. */
  private fruitlessWalks = 0
  /** New peers remembered since the last walk ended. */
  private foundSinceWalk = 0
  private readonly dials?: CounterGroup<'ok' | 'failed'>
  private readonly lookups?: CounterGroup<'found' | 'not-found'>
  private readonly lookingUp = new PeerMap<true>()
  private started = false

  constructor (private readonly components: MembershipComponents, private readonly init: MembershipInit = {}) {
    this.log = components.logger.forComponent('fedmesh:membership')
    this.targetConnections = init.targetConnections ?? DEFAULT_TARGET_CONNECTIONS
    this.maxKnownPeers = init.maxKnownPeers ?? DEFAULT_MAX_KNOWN_PEERS
    this.maxParallelDials = init.maxParallelDials ?? DEFAULT_MAX_PARALLEL_DIALS
    this.redial = init.redial ?? DEFAULT_REDIAL
    this.maxAddressesPerPeer = init.maxAddressesPerPeer ?? DEFAULT_MAX_ADDRESSES_PER_PEER
    this.clock = init.clock ?? { now: () => Date.now() }
    this.random = init.random ?? Math.random
    this.isDenied = init.isDenied ?? (() => false)
    this.dials = components.metrics?.registerCounterGroup('fedmesh_membership_dials_total', {
      label: 'outcome',
      help: 'Dials of discovered or dropped peers by outcome'
    })
    this.lookups = components.metrics?.registerCounterGroup('fedmesh_membership_lookups_total', {
      label: 'outcome',
      help: 'Lookups of a peer by id after dials to its known addresses failed, by outcome'
    })
    components.metrics?.registerMetricGroup('fedmesh_membership_peers', {
      label: 'state',
      help: 'Peers this node knows, by connection state',
      calculate: () => {
        let connected = 0
        for (const p of this.peers.values()) if (p.connected) connected++
        return { connected, disconnected: this.peers.size - connected }
      }
    })
    this.tickMs = init.tickMs ?? DEFAULT_TICK_MS
    this.settledTickMs = Math.max(this.tickMs, init.settledTickMs ?? DEFAULT_SETTLED_TICK_MS)
    this.ticker = new PacedTimer(() => { this.dialDue() }, this.tickMs)
    this.onPeerDisconnect = this.onPeerDisconnect.bind(this)
  }

  readonly [Symbol.toStringTag] = 'fedmesh:membership'

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    this.components.events.addEventListener('peer:disconnect', this.onPeerDisconnect)
    await this.loadRemembered()
    this.ticker.start()
    this.scheduleWalk()
  }

  /** A DHT self-query at start can run before the bootstrap peer knows anyone: walk again. */
  private scheduleWalk (): void {
    const walk = this.init.walk
    if (walk == null || !this.started) return
    // 1 s, then 3 s and 7 s apart, then every interval (doubled per fruitless walk).
    const interval = Math.min(this.init.maxWalkIntervalMs ?? 5 * MINUTE, (this.init.walkIntervalMs ?? 15 * SECOND) * 2 ** this.fruitlessWalks)
    const delay = this.walks < 3 ? (2 ** (this.walks + 1) - 1) * SECOND : interval
    this.walkTimer = setTimeout(() => {
      this.walkTimer = undefined
      this.walks++
      const short = this.components.connectionManager.getConnections().length < this.targetConnections
      // A walk stuck on an unresponsive peer must not hold back the next one for long.
      const done = short ? walk(AbortSignal.timeout(5 * SECOND)).catch(err => { this.log.trace('walk failed - %e', err); return 0 }) : Promise.resolve(0)
      this.walking = true
      void done.then((answered) => {
        this.walking = false
        // The first quick walks run while the bootstrap peers may know nobody yet: one that got no
        // answer does not count. One answered with nobody new does (a small mesh where everyone is
        // connected already): its quick walks still run, but the gaps after them grow sooner.
        if (short && (this.walks > 3 || answered > 0)) this.fruitlessWalks = this.foundSinceWalk > 0 ? 0 : this.fruitlessWalks + 1
        this.foundSinceWalk = 0
        this.scheduleWalk()
      })
    }, delay)
  }

  /** A peer was lost: the mesh changed, walk at the usual pace again. */
  private walkSooner (): void {
    if (this.fruitlessWalks === 0) return
    this.fruitlessWalks = 0
    if (this.walkTimer != null && !this.walking) {
      clearTimeout(this.walkTimer)
      this.scheduleWalk()
    }
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.ticker.stop()
    clearTimeout(this.walkTimer)
    this.components.events.removeEventListener('peer:disconnect', this.onPeerDisconnect)
    for (const controller of this.dialing.values()) controller.abort()
    this.dialing.clear()
  }

  /** A discovery mechanism reports a peer. Dials it when the node wants more connections. */
  discovered (info: PeerInfo, via: Via): void {
    // A peer that failed the membership handshake (or is banned) is not dialled again.
    if (!this.started || info.id.equals(this.components.peerId) || this.isDenied(info.id)) return
    const connected = this.isConnected(info.id)
    // kad-dht also reports peers that are already connected (its topology listener) or that
    // another mechanism just put in the peer store: only a peer new to us counts as found by it.
    if (via === 'dht' && (connected || this.peers.has(info.id))) return
    const peer = this.remember(info.id, via)
    peer.connected = connected
    const addrs = info.multiaddrs.slice(0, this.maxAddressesPerPeer)
    void this.persist(info.id, peer, addrs)
    if (!connected && peer.nextDialAtMs === 0) {
      peer.nextDialAtMs = this.clock.now()
      this.dialDue()
    }
  }

  /**
   * A peer found by id (a lookup in the DHT): its addresses are taken as they are now, and it is
   * dialled at once if it is not connected. Unlike a discovery, a known peer's addresses update.
   */
  async found (info: PeerInfo): Promise<void> {
    if (!this.started || info.id.equals(this.components.peerId) || this.isDenied(info.id) || info.multiaddrs.length === 0) return
    const addrs = info.multiaddrs.slice(0, this.maxAddressesPerPeer)
    const before = new Set((await this.components.peerStore.get(info.id).catch(() => undefined))?.addresses.map(a => a.multiaddr.toString()) ?? [])
    const peer = this.remember(info.id, 'dht')
    // Stored before the dial reads them.
    await this.persist(info.id, peer, addrs)
    if (this.isConnected(info.id)) return
    const fresh = addrs.some(a => !before.has(a.toString()))
    const inFlight = this.dialing.get(info.id)
    if (inFlight != null) {
      // A dial to the addresses known before can hang for seconds (another LAN's private address
      // is often a black hole): with new ones, it gives way to a dial that has them.
      if (fresh) inFlight.abort(new NewAddressesError())
      return
    }
    peer.connected = false
    // Only a new address earns a dial now; the same ones wait for the backoff (no dial-lookup loop).
    if (peer.nextDialAtMs === 0 || fresh) peer.nextDialAtMs = this.clock.now()
    this.dialDue()
  }

  /** Everything known, newest first by last seen. */
  list (): KnownPeer[] {
    return [...this.peers.values()].sort((a, b) => b.lastSeenMs - a.lastSeenMs)
  }

  get (peer: PeerId): KnownPeer | undefined {
    return this.peers.get(peer)
  }

  /** The peer was heard from (a capacity advertisement): it is alive. */
  heard (peer: PeerId): void {
    const known = this.peers.get(peer)
    if (known != null) known.lastSeenMs = this.clock.now()
  }

  /** Forget a peer (it was banned): no more dials. */
  forget (peer: PeerId): void {
    this.peers.delete(peer)
    this.dialing.get(peer)?.abort()
  }

  /**
   * The peer failed the membership handshake: forget it here and in the peer store, so neither
   * discovery nor a restart dials it again (it may still dial in, and pass once it is a member).
   */
  refused (peer: PeerId): void {
    if (!this.peers.has(peer)) return
    this.forget(peer)
    this.components.peerStore.merge(peer, { metadata: { [VIA_METADATA_KEY]: undefined } })
      .catch(err => { this.log.trace('could not unmark refused peer %p - %e', peer, err) })
  }

  /**
   * A connection now carries a member (in an open mesh: any connection). Only then is the peer
   * remembered and re-dialled later: an outsider that connects is never kept.
   */
  memberConnected (conn: Connection): void {
    if (!this.started) return
    const known = this.peers.get(conn.remotePeer)
    // An outbound connection to a peer no discovery reported (a dial by address, a task sent to
    // a peer known from gossip) is remembered without a source.
    const peer = known ?? this.remember(conn.remotePeer, conn.direction === 'inbound' ? 'inbound' : undefined)
    if (known == null) void this.persist(conn.remotePeer, peer, [])
    peer.connected = true
    peer.failures = 0
    peer.nextDialAtMs = 0
    peer.lostAtMs = 0
    peer.lastSeenMs = this.clock.now()
  }

  private onPeerDisconnect (evt: CustomEvent<PeerId>): void {
    const peer = this.peers.get(evt.detail)
    if (peer == null) return
    this.walkSooner()
    peer.connected = false
    peer.lastSeenMs = this.clock.now()
    peer.lostAtMs = peer.lastSeenMs
    this.schedule(peer)
  }

  private remember (id: PeerId, via?: Via): KnownPeer {
    const now = this.clock.now()
    let peer = this.peers.get(id)
    if (peer == null) {
      this.evictIfFull()
      peer = { id, via: new Set(), firstSeenMs: now, lastSeenMs: now, connected: false, failures: 0, nextDialAtMs: 0 }
      this.peers.set(id, peer)
      this.foundSinceWalk++
    }
    if (via != null) peer.via.add(via)
    peer.lastSeenMs = now
    return peer
  }

  private evictIfFull (): void {
    if (this.peers.size < this.maxKnownPeers) return
    let oldest: KnownPeer | undefined
    for (const p of this.peers.values()) {
      if (!p.connected && (oldest == null || p.lastSeenMs < oldest.lastSeenMs)) oldest = p
    }
    if (oldest != null) this.forget(oldest.id)
  }

  private schedule (peer: KnownPeer): void {
    peer.nextDialAtMs = this.clock.now() + backoffDelay(peer.failures, this.redial, this.random)
    this.ticker.setPace(this.tickMs)
  }

  /** Does a known peer wait for a dial (not connected, one scheduled)? */
  private awaitingDial (): boolean {
    for (const peer of this.peers.values()) if (!peer.connected && peer.nextDialAtMs !== 0) return true
    return false
  }

  private isConnected (id: PeerId): boolean {
    return this.components.connectionManager.getConnections(id).length > 0
  }

  private dialDue (): void {
    if (!this.started) return
    this.dialPeersDue()
    // Every known peer connected: no check every 500 ms that finds nothing to do.
    this.ticker.setPace(this.awaitingDial() ? this.tickMs : this.settledTickMs)
  }

  private dialPeersDue (): void {
    const now = this.clock.now()
    let connections = this.components.connectionManager.getConnections().length
    for (const peer of this.peers.values()) {
      if (this.dialing.size >= this.maxParallelDials || connections >= this.targetConnections) return
      if (this.lookupDue(peer, now)) this.lookUp(peer.id)
      if (peer.connected || peer.nextDialAtMs === 0 || peer.nextDialAtMs > now || this.dialing.has(peer.id)) continue
      if (this.isDenied(peer.id)) continue
      if (this.isConnected(peer.id)) {
        peer.connected = true
        continue
      }
      connections++
      this.dial(peer)
    }
  }

  private dial (peer: KnownPeer): void {
    const controller = new AbortController()
    this.dialing.set(peer.id, controller)
    this.components.connectionManager.openConnection(peer.id, { signal: AbortSignal.any([controller.signal, AbortSignal.timeout(10 * SECOND)]) })
      .then(() => {
        this.dials?.increment({ ok: true })
        peer.connected = true
        peer.failures = 0
        peer.nextDialAtMs = 0
        peer.lostAtMs = 0
      }, (err: Error) => {
        if (controller.signal.reason instanceof NewAddressesError) {
          // Not a failure of the peer: dialled again at once with what the lookup found.
          peer.nextDialAtMs = this.clock.now()
          return
        }
        this.dials?.increment({ failed: true })
        this.log.trace('dial %p failed (attempt %d) - %s', peer.id, peer.failures + 1, err.message)
        peer.failures++
        if (this.started) this.schedule(peer)
        this.lookUp(peer.id)
      })
      .finally(() => {
        this.dialing.delete(peer.id)
        if (controller.signal.reason instanceof NewAddressesError) this.dialDue()
      })
  }

  /** A lost peer whose dials failed, waiting for its next dial: time to look it up again? */
  private lookupDue (peer: KnownPeer, now: number): boolean {
    if (peer.connected || peer.failures === 0 || peer.lostAtMs == null || peer.lostAtMs === 0 || this.dialing.has(peer.id)) return false
    if (now - peer.lostAtMs > (this.init.lookupWindowMs ?? DEFAULT_LOOKUP_WINDOW_MS)) return false
    return now - (peer.lookedUpAtMs ?? 0) >= (this.init.lookupEveryMs ?? DEFAULT_LOOKUP_EVERY_MS)
  }

  /** Known addresses failed: ask where the peer is now, before the backoff's next try. */
  private lookUp (id: PeerId): void {
    const lookup = this.init.lookup
    // Lookups in flight are bounded like dials.
    if (lookup == null || !this.started || this.lookingUp.has(id) || this.lookingUp.size >= this.maxParallelDials) return
    const known = this.peers.get(id)
    if (known != null) known.lookedUpAtMs = this.clock.now()
    this.lookingUp.set(id, true)
    lookup(id, AbortSignal.timeout(this.init.lookupTimeoutMs ?? 5 * SECOND))
      .then(addrs => {
        this.lookups?.increment({ [addrs.length > 0 ? 'found' : 'not-found']: true })
        if (addrs.length > 0) return this.found({ id, multiaddrs: addrs })
      }, (err: Error) => {
        this.lookups?.increment({ 'not-found': true })
        this.log.trace('lookup of %p failed - %s', id, err.message)
      })
      .finally(() => { this.lookingUp.delete(id) })
  }

  /** Store how the peer was found (and its addresses) in the persistent peer store. */
  private async persist (id: PeerId, peer: KnownPeer, multiaddrs: Multiaddr[]): Promise<void> {
    await this.components.peerStore.merge(id, {
      multiaddrs,
      metadata: { [VIA_METADATA_KEY]: encodeVia(peer.via) }
    }).catch(err => { this.log.error('could not store peer %p - %e', id, err) })
  }

  /** After a restart, the peers known before are dialled again at once. */
  private async loadRemembered (): Promise<void> {
    const stored = await this.components.peerStore.all({
      filters: [(p) => p.metadata.has(VIA_METADATA_KEY)],
      limit: this.maxKnownPeers
    })
    const now = this.clock.now()
    for (const p of stored) {
      if (p.id.equals(this.components.peerId)) continue
      const via = decodeVia(p.metadata.get(VIA_METADATA_KEY))
      // Discovery may already have reported the peer while the store was being read.
      const current = this.peers.get(p.id)
      if (current != null) {
        for (const v of via) current.via.add(v)
        continue
      }
      this.peers.set(p.id, { id: p.id, via, firstSeenMs: now, lastSeenMs: 0, connected: false, failures: 0, nextDialAtMs: now })
    }
    this.log('remembered %d peers from the store', this.peers.size)
  }
}
