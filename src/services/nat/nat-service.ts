import { PeerMap } from '@libp2p/peer-collections'
import { multiaddr } from '@multiformats/multiaddr'
import { backoffDelay } from '../../core/backoff.js'
import { dhtModeFor, judgeReachability, punchTurn } from '../../core/reachability.js'
import { PacedTimer } from '../../util/paced-timer.js'
import { pingOver } from '../../util/ping-over.js'
import { SECOND, MINUTE } from '../../util/time.js'
import { dialAddressOf, hostOf, isPublicAddress, isRelayed, isWebRtc, ownAddresses, relayOf } from './addresses.js'
import { ReservationWatch } from './reservation-watch.js'
import type { Reachability } from '../../core/reachability.js'
import type { BackoffPolicy } from '../../core/backoff.js'
import type { Clock } from '../../util/time.js'
import type { AbortOptions, ComponentLogger, Connection, CounterGroup, IdentifyResult, Libp2pEvents, Logger, Metrics, PeerId, PeerStore, Startable, TypedEventTarget } from '@libp2p/interface'
import type { AddressManager, ConnectionManager, TransportManager } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface NatInit {
  clock: Clock
  /** Listen through relays (circuit relay v2 reservations) and by WebRTC once the node finds itself behind a NAT. Default true. */
  relayClient?: boolean
  /** Hole-punch relayed connections to members with WebRTC (UDP, ICE with the STUN servers). Default true. */
  webrtc?: boolean
  /** Switch the DHT to client mode while private, back to server mode otherwise. */
  setDhtMode?: (mode: 'client' | 'server') => Promise<void>
  /** Reservations this node holds for others when it is a relay (`relay` config), for status. */
  relayServing?: () => { reservations: number } | undefined
  /** Is `peer` a member (only members get a direct dial)? Default: everyone. */
  isMember?: (peer: PeerId) => boolean
  /** This node got its first relay reservation: it can be reached now (look for members that could not reach it). */
  onReachableThroughRelay?: () => void
  /** Retry of a failed direct dial to one peer. Default 5 s .. 5 min. */
  retry?: BackoffPolicy
  /** A hole-punching attempt gives up after this, ms. Default 10 s. */
  dialTimeoutMs?: number
  /** How often reachability is re-judged and due direct dials are tried while something is under way, ms. Default 1 s. */
  tickMs?: number
  /**
   * The same once settled (no direct dial pending, no reservation missing, no relay look-again
   * due), ms: address changes are judged when they happen, this only catches expiring address
   * confirmations. Default 10 s.
   */
  settledTickMs?: number
  random?: () => number
}

export const DEFAULT_DIRECT_RETRY: BackoffPolicy = { minMs: 5 * SECOND, maxMs: 5 * MINUTE }
export const DEFAULT_DIRECT_DIAL_TIMEOUT_MS = 10 * SECOND
const MAX_OBSERVED = 16
/** A WebRTC connection must carry one ping within this to count as a direct path, ms. */
const VERIFY_TIMEOUT_MS = 10 * SECOND
/** After the first reservation, members are looked for at once and a few times more (they may reserve a moment later). */
const LOOK_AGAIN_AFTER_MS = [0, 2 * SECOND, 4 * SECOND, 8 * SECOND, 15 * SECOND]
export const DEFAULT_NAT_TICK_MS = 1 * SECOND
export const DEFAULT_NAT_SETTLED_TICK_MS = 10 * SECOND

export interface NatComponents {
  peerId: PeerId
  addressManager: AddressManager
  transportManager: TransportManager
  connectionManager: ConnectionManager
  peerStore: PeerStore
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  metrics?: Metrics
}

/** No direct (non-relayed) connection to the peer could be made: payloads do not go through relays. */
export class NoDirectConnectionError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'NoDirectConnectionError'
  }
}

interface Upgrade {
  attempts: number
  nextAtMs: number
  running?: Promise<Connection | undefined>
  lastError?: string
}

/** `status.reachability` and `status.relay` (CONTRACT.md). */
export interface NatStatus {
  reachability: Reachability
  publicAddresses: string[]
  observedAddresses: string[]
  relay: { reservations: Array<{ relay: string, address: string }>, serving?: { reservations: number } }
}

/**
 * Reachability and direct paths. Judges whether peers on the internet can dial this node (its
 * confirmed public addresses, the IPs peers see it at); while it is private it listens through a
 * relay (a circuit relay v2 reservation on a member that runs one) and by WebRTC, and its DHT
 * answers nothing. A member reached only through a relay gets a direct dial: its public address if
 * it has one, else a WebRTC connection signalled through the relay (a UDP hole punch, with
 * the STUN servers configured). Once direct, the relayed connection is closed.
 */
export class NatService implements Startable {
  private readonly log: Logger
  private readonly observed = new Map<string, Multiaddr>()
  private readonly upgrades = new PeerMap<Upgrade>()
  /** WebRTC connections that carried a ping (see verify()). */
  private readonly verified = new WeakSet<Connection>()
  private readonly ticker: PacedTimer
  private readonly tickMs: number
  private readonly settledTickMs: number
  private readonly retry: BackoffPolicy
  private readonly random: () => number
  private readonly outcomes?: CounterGroup<'direct' | 'failed'>
  private readonly reservationWatch: ReservationWatch
  private current: Reachability = 'unknown'
  private listeningThroughRelays = false
  private hadReservation = false
  /** When to call onReachableThroughRelay again: members reserving a moment later are found then. */
  private lookAgainAt: number[] = []
  private started = false

  constructor (private readonly components: NatComponents, private readonly init: NatInit) {
    this.log = components.logger.forComponent('fedmesh:nat')
    this.retry = init.retry ?? DEFAULT_DIRECT_RETRY
    this.random = init.random ?? Math.random
    this.tickMs = init.tickMs ?? DEFAULT_NAT_TICK_MS
    this.settledTickMs = Math.max(this.tickMs, init.settledTickMs ?? DEFAULT_NAT_SETTLED_TICK_MS)
    this.ticker = new PacedTimer(() => { this.tick() }, this.tickMs)
    this.reservationWatch = new ReservationWatch({
      transportManager: components.transportManager,
      connectionManager: components.connectionManager,
      peerStore: components.peerStore,
      log: this.log,
      isMember: (peer) => init.isMember?.(peer) ?? true,
      clock: init.clock,
      random: this.random
    })
    this.outcomes = components.metrics?.registerCounterGroup('fedmesh_nat_direct_dials_total', {
      label: 'outcome',
      help: 'Direct dials to members reached through a relay (public address or WebRTC hole punch), by outcome'
    })
    components.metrics?.registerMetricGroup('fedmesh_nat_connections', {
      label: 'path',
      help: 'Open connections by path: direct or through a relay',
      calculate: () => {
        let relayed = 0
        const all = components.connectionManager.getConnections()
        for (const c of all) if (NatService.isRelayed(c)) relayed++
        return { direct: all.length - relayed, relayed }
      }
    })
    this.onIdentify = this.onIdentify.bind(this)
    this.onConnectionOpen = this.onConnectionOpen.bind(this)
    this.onSelfUpdate = this.onSelfUpdate.bind(this)
  }

  readonly [Symbol.toStringTag] = 'fedmesh:nat'

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    // Nodes on simulated transports (the harness's thousands) have nothing to traverse.
    if (this.init.relayClient === false && this.init.webrtc === false) return
    this.components.events.addEventListener('peer:identify', this.onIdentify)
    this.components.events.addEventListener('connection:open', this.onConnectionOpen)
    this.components.events.addEventListener('self:peer:update', this.onSelfUpdate)
    this.ticker.start()
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.ticker.stop()
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    this.components.events.removeEventListener('connection:open', this.onConnectionOpen)
    this.components.events.removeEventListener('self:peer:update', this.onSelfUpdate)
    this.upgrades.clear()
  }

  get reachability (): Reachability {
    return this.current
  }

  status (): NatStatus {
    const own = this.components.addressManager.getAddresses()
    const reservations: NatStatus['relay']['reservations'] = []
    for (const a of own) {
      const relay = relayOf(a)
      if (relay != null && !isWebRtc(a)) reservations.push({ relay, address: a.toString() })
    }
    const serving = this.init.relayServing?.()
    return {
      reachability: this.current,
      publicAddresses: own.filter(a => isPublicAddress(a)).map(String),
      observedAddresses: [...this.observed.values()].map(String),
      relay: { reservations, ...(serving != null ? { serving } : {}) }
    }
  }

  /** Is this connection through a relay? */
  static isRelayed (conn: Connection): boolean {
    // A WebRTC dialer's remote address is the relay address it was signalled through.
    return conn.limits != null || (isRelayed(conn.remoteAddr) && !isWebRtc(conn.remoteAddr))
  }

  /**
   * A direct path: not through a relay, and for WebRTC, one that carried data. (js-libp2p's
   * WebRTC listener opens its connection when the signalling stream ends, whether or not ICE
   * connected; through NATs that cannot be punched such a connection carries nothing and dies.)
   */
  isDirect (conn: Connection): boolean {
    return conn.status === 'open' && !NatService.isRelayed(conn) && (!isWebRtc(conn.remoteAddr) || this.verified.has(conn))
  }

  /** An open connection to `peer` that does not go through a relay, if there is one. */
  directConnectionNow (peer: PeerId): Connection | undefined {
    return this.components.connectionManager.getConnections(peer).find(c => this.isDirect(c))
  }

  /**
   * A direct connection to `peer` for a payload (a task): the open one, a new dial, or a hole punch
   * through the relay the peer is reached by. Throws NoDirectConnectionError with the reason
   * when none can be made: payloads never go through a relay.
   */
  async directConnection (peer: PeerId, options: AbortOptions = {}): Promise<Connection> {
    const now = this.directConnectionNow(peer)
    if (now != null) return now
    // Joined through a relay already: straight to the direct dial. (A dial by peer id would join
    // any dial to the peer under way, a hole punch included, and wait for it past the caller's deadline.)
    const joined = this.components.connectionManager.getConnections(peer).some(c => c.status === 'open')
    if (!joined) {
      const first = await this.components.connectionManager.openConnection(peer, options)
      if (this.isDirect(first)) return first
      if (!NatService.isRelayed(first) && await this.verify(first, options.signal)) return first
    }
    const conn = await this.upgrade(peer, options, true)
    if (conn != null) return conn
    const why = this.upgrades.get(peer)?.lastError
    throw new NoDirectConnectionError(`peer ${peer.toString()} is reachable only through a relay and no direct connection could be made${why != null ? ` (${why})` : ''}; task payloads do not travel through relays`)
  }

  private onIdentify (evt: CustomEvent<IdentifyResult>): void {
    const seen = evt.detail.observedAddr
    if (seen == null || isRelayed(seen) || !isPublicAddress(seen)) return
    const host = hostOf(seen)
    if (host == null) return
    this.observed.delete(host)
    this.observed.set(host, seen)
    if (this.observed.size > MAX_OBSERVED) this.observed.delete(this.observed.keys().next().value as string)
    this.judge()
  }

  private onConnectionOpen (evt: CustomEvent<Connection>): void {
    const conn = evt.detail
    if (isWebRtc(conn.remoteAddr) && !NatService.isRelayed(conn)) {
      void this.verify(conn).then(ok => { if (ok) this.closeRelayed(conn.remotePeer, conn) })
      return
    }
    if (!NatService.isRelayed(conn) || this.init.webrtc === false) return
    // Identify must tell us the peer's addresses first: the next ticks try.
    const u = this.upgrades.get(conn.remotePeer)
    if (u == null) {
      this.upgrades.set(conn.remotePeer, { attempts: 0, nextAtMs: this.init.clock.now() + 500 })
      this.ticker.setPace(this.tickMs)
    }
  }

  /** This node's addresses changed (a listener, a confirmation, a reservation): judge at once. */
  private onSelfUpdate (): void {
    this.ticker.runSoon()
  }

  /**
   * Anything under way that needs the quick tick: a direct dial to try, a relay look-again due,
   * or a private node listening through relays without a reservation.
   */
  private busy (): boolean {
    return this.upgrades.size > 0 || this.lookAgainAt.length > 0 || (this.listeningThroughRelays && this.current === 'private' && !this.hadReservation)
  }

  private tick (): void {
    if (!this.started) return
    this.tickOnce()
    // Settled: no timer every second that finds nothing to do.
    this.ticker.setPace(this.busy() ? this.tickMs : this.settledTickMs)
  }

  private tickOnce (): void {
    this.judge()
    const now = this.init.clock.now()
    for (const [peer, u] of this.upgrades.entries()) {
      const conns = this.components.connectionManager.getConnections(peer)
      if (conns.length === 0 || conns.some(c => this.isDirect(c))) {
        // Gone, or direct by another way (the peer dialled us): nothing to do.
        if (u.running == null) this.upgrades.delete(peer)
        continue
      }
      if (u.running == null && u.nextAtMs <= now) void this.upgrade(peer, {}, false)
    }
  }

  private judge (): void {
    const reserved = this.components.addressManager.getAddresses().some(a => relayOf(a) != null)
    const now = this.init.clock.now()
    if (reserved && !this.hadReservation) this.lookAgainAt = LOOK_AGAIN_AFTER_MS.map(ms => now + ms)
    this.hadReservation = reserved
    this.reservationWatch.tick(now, this.listeningThroughRelays && this.current === 'private', reserved)
    while (this.lookAgainAt.length > 0 && this.lookAgainAt[0] <= now) {
      this.lookAgainAt.shift()
      this.init.onReachableThroughRelay?.()
    }
    const judged = judgeReachability({
      addresses: ownAddresses(this.components.addressManager.getAddressesWithMetadata()),
      observedIps: [...this.observed.keys()]
    })
    if (judged === this.current) return
    this.log('reachability %s -> %s', this.current, judged)
    this.current = judged
    this.init.setDhtMode?.(dhtModeFor(judged)).catch(err => { this.log.error('could not switch the DHT mode - %e', err) })
    if (judged === 'private') this.listenThroughRelays()
  }

  /** Behind a NAT: take a relay reservation (the relay transport finds members that serve) and listen for WebRTC. */
  private listenThroughRelays (): void {
    if (this.listeningThroughRelays || this.init.relayClient === false) return
    this.listeningThroughRelays = true
    const addrs = [multiaddr('/p2p-circuit')]
    if (this.init.webrtc !== false) addrs.push(multiaddr('/webrtc'))
    this.components.transportManager.listen(addrs).catch(err => {
      this.listeningThroughRelays = false
      this.log.error('could not listen through relays - %e', err)
    })
  }

  /** One direct dial to `peer` (shared by concurrent callers); undefined when it failed. */
  private async upgrade (peer: PeerId, options: AbortOptions, urgent: boolean): Promise<Connection | undefined> {
    let u = this.upgrades.get(peer)
    if (u == null) {
      u = { attempts: 0, nextAtMs: 0 }
      this.upgrades.set(peer, u)
      this.ticker.setPace(this.tickMs)
    }
    if (u.running == null) {
      const entry = u
      entry.running = this.dialDirect(peer, urgent, options).then(conn => {
        entry.attempts = conn == null ? entry.attempts + 1 : 0
        entry.nextAtMs = this.init.clock.now() + backoffDelay(entry.attempts, this.retry, this.random)
        this.outcomes?.increment({ [conn == null ? 'failed' : 'direct']: true })
        return conn
      }).finally(() => { entry.running = undefined })
    }
    return u.running
  }

  private async dialDirect (peer: PeerId, urgent: boolean, options: AbortOptions): Promise<Connection | undefined> {
    const u = this.upgrades.get(peer) as Upgrade
    if (this.init.isMember != null && !this.init.isMember(peer) && !urgent) {
      u.lastError = 'not a member yet'
      return undefined
    }
    const known = await this.components.peerStore.get(peer).then(p => p.addresses.map(a => dialAddressOf(a.multiaddr, peer)), () => [])
    const publicAddrs = known.filter(a => isPublicAddress(a))
    const webrtc = this.init.webrtc === false ? [] : known.filter(a => isWebRtc(a) && isRelayed(a))
    const signal = AbortSignal.any([AbortSignal.timeout(this.init.dialTimeoutMs ?? DEFAULT_DIRECT_DIAL_TIMEOUT_MS), ...(options.signal != null ? [options.signal] : [])])
    const attempt = async (addrs: Multiaddr[], how: string): Promise<Connection | undefined> => {
      try {
        const conn = await this.components.connectionManager.openConnection(addrs, { signal, force: true })
        // Never take a connection to someone else (the relay) for one to the peer.
        if (!conn.remotePeer.equals(peer)) throw new Error(`the dial reached ${conn.remotePeer.toString()}, not the peer`)
        if (NatService.isRelayed(conn)) throw new Error('the dial ended on a relayed connection')
        if (isWebRtc(conn.remoteAddr) && !await this.verify(conn, signal)) throw new Error('the WebRTC connection carried no data (ICE did not connect)')
        this.log('direct connection to %p via %s (%a)', peer, how, conn.remoteAddr)
        this.closeRelayed(peer, conn)
        return conn
      } catch (err) {
        u.lastError = `${how}: ${(err as Error).message}`
        this.log('direct dial to %p via %s failed - %s', peer, how, (err as Error).message)
        return undefined
      }
    }
    if (publicAddrs.length > 0) {
      const conn = await attempt(publicAddrs, 'its public address')
      if (conn != null) return conn
    }
    if (webrtc.length === 0) {
      u.lastError ??= 'the peer offers no public address and no WebRTC address'
      return undefined
    }
    // Both ends would punch otherwise; a task in a hurry does not wait for the other's turn.
    const turn = punchTurn({
      self: this.components.peerId.toString(),
      remote: peer.toString(),
      selfPublic: this.current === 'public',
      remotePublicFailed: publicAddrs.length > 0,
      attempts: u.attempts
    })
    if (!urgent && turn !== 'punch') {
      u.lastError = turn.replace(/^wait/, 'waiting')
      return undefined
    }
    return attempt(webrtc, 'a WebRTC hole punch')
  }

  /** One ping over `conn` (once per connection); a WebRTC connection that cannot carry it is closed. */
  private async verify (conn: Connection, signal?: AbortSignal): Promise<boolean> {
    if (this.verified.has(conn)) return true
    const deadline = AbortSignal.any([AbortSignal.timeout(VERIFY_TIMEOUT_MS), ...(signal != null ? [signal] : [])])
    try {
      await pingOver(conn, deadline)
      this.verified.add(conn)
      return true
    } catch (err) {
      this.log('WebRTC connection to %p carried no data, closing it - %s', conn.remotePeer, (err as Error).message)
      conn.abort(new Error('the WebRTC connection carried no data'))
      return false
    }
  }

  /** Direct now: the relayed connections go (their data allowance is the relay's, not ours). */
  private closeRelayed (peer: PeerId, direct: Connection): void {
    for (const c of this.components.connectionManager.getConnections(peer)) {
      if (c === direct || !NatService.isRelayed(c)) continue
      c.close().catch(err => { c.abort(err) })
    }
  }
}

export function nat (init: NatInit): (components: NatComponents) => NatService {
  return (components) => new NatService(components, init)
}
