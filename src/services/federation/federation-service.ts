import { TopicValidatorResult } from '@libp2p/gossipsub'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { LRUCache } from 'lru-cache'
import { Role } from '../../core/federation/roles.js'
import { SECOND, MINUTE } from '../../util/time.js'
import { RequestType, Roster, Status } from '../../wire/federation.js'
import { certificateWire, federationFromRootKey, revocationWire } from './credentials.js'
import { VIA_METADATA_KEY, encodeVia } from '../membership/via.js'
import { Federation } from './federation.js'
import { FEDERATION_PROTOCOL, MAX_FEDERATION_FRAME_BYTES, MembershipRefusedError, helloAsDialer, requestCertificate, serveFederationStream } from './handshake.js'
import { MemberGate } from './member-gate.js'
import type { FederationInit, JoinAnswer } from './federation.js'
import type { InviteToken } from './invite-token.js'
import type { MemberCertificate, MemberRevocation, Standing } from '../../core/federation/roster.js'
import type { Clock } from '../../util/time.js'
import type { GossipSub, Message } from '@libp2p/gossipsub'
import type { ComponentLogger, Connection, CounterGroup, Libp2pEvents, Logger, Metrics, PeerId, PeerStore, Startable, Stream, StreamMiddleware, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'

/** Roster updates (new certificates, revocations) among members. */
export const FEDERATION_TOPIC = '/fedmesh/federation/1'

export interface FederationServiceInit {
  /** This node's federation; undefined = an open mesh where every peer counts as a member with every role. */
  federation?: Federation
  /** How the node's Federation was made (a join adopts a new one with the same settings). */
  federationInit?: FederationInit
  clock: Clock
  /** Protocols gated from the start; any other protocol handled here is gated once registered. */
  gatedProtocols: string[]
  /** A connection now carries a proven member (the first one for that peer). */
  onMemberConnect?: (conn: Connection) => void
  /** A peer failed HELLO (or HELLO failed): not dialled again by discovery. */
  onRefused?: (peer: PeerId, reason: string) => void
  /** A HELLO, JOIN or RENEW must finish within this. Default 10 s. */
  handshakeTimeoutMs?: number
  /** How often members' standing is re-checked (expiry). Default 5 s. */
  sweepIntervalMs?: number
  /** How often this node checks whether its certificate needs renewing. Default 1 min. */
  renewCheckMs?: number
}

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10 * SECOND
export const DEFAULT_SWEEP_INTERVAL_MS = 5 * SECOND
export const DEFAULT_RENEW_CHECK_MS = 1 * MINUTE
const MAX_REFUSALS_REMEMBERED = 1_000
/** Peer-store tag of proven members (the connection manager prunes untagged peers first). */
const MEMBER_TAG = 'fedmesh-member'
/** A connection to a peer this node already knows reconciles rosters this long after it opens. */
const ROSTER_SYNC_DELAY_MS = 100

export interface FederationServiceComponents {
  peerId: PeerId
  registrar: Registrar
  connectionManager: ConnectionManager
  peerStore: PeerStore
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  metrics?: Metrics
  pubsub: GossipSub
}

/** A peer that tried and failed to prove membership (`peers --all`). */
export interface Refusal {
  peer: string
  reason: string
  count: number
  lastAtMs: number
}

export class AlreadyMemberError extends Error {
  constructor (message = 'this node is already a member of that federation') {
    super(message)
    this.name = 'AlreadyMemberError'
  }
}

export class JoinFailedError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'JoinFailedError'
  }
}

/**
 * The federation boundary: every connection proves membership (HELLO) before anything else
 * runs on it; members' rosters reconcile on every connection and over gossip; revoked and
 * expired peers are cut off; this node's certificate renews itself; invites are redeemed here.
 * In an open mesh it only reports connections as members.
 */
export class FederationService implements Startable {
  readonly federation: Federation | undefined
  private readonly log: Logger
  private readonly gate: MemberGate
  private readonly handshakeTimeoutMs: number
  private readonly refusals = new LRUCache<string, Refusal>({ max: MAX_REFUSALS_REMEMBERED })
  private readonly joining = new Set<string>()
  private readonly gated = new Set<string>()
  private readonly handshakes?: CounterGroup<'accepted' | 'refused' | 'failed'>
  private timers: NodeJS.Timeout[] = []
  private readonly deadlines = new Map<string, NodeJS.Timeout>()
  private started = false

  constructor (private readonly components: FederationServiceComponents, private readonly init: FederationServiceInit) {
    this.federation = init.federation
    this.log = components.logger.forComponent('fedmesh:federation')
    this.handshakeTimeoutMs = init.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS
    this.gate = new MemberGate(peer => this.federation == null || this.federation.standing(peer.toString()).member)
    this.handshakes = components.metrics?.registerCounterGroup('fedmesh_federation_handshakes_total', {
      label: 'outcome',
      help: 'Membership handshakes by outcome: accepted, refused (not a member) or failed (no answer in time)'
    })
    components.metrics?.registerMetricGroup('fedmesh_federation_peers', {
      label: 'state',
      help: 'Peers by membership: members connected now, and peers refused since start',
      calculate: () => ({ members: this.gate.memberPeers().length, refused: this.refusals.size })
    })
    this.onConnectionOpen = this.onConnectionOpen.bind(this)
    this.onConnectionClose = this.onConnectionClose.bind(this)
    this.validate = this.validate.bind(this)
  }

  readonly [Symbol.toStringTag] = 'fedmesh:federation'

  get open (): boolean {
    return this.federation == null
  }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    this.components.events.addEventListener('connection:open', this.onConnectionOpen)
    this.components.events.addEventListener('connection:close', this.onConnectionClose)
    if (this.federation == null) return
    this.fixMiddlewareCopy()
    for (const p of this.init.gatedProtocols) this.gateProtocol(p)
    await this.components.registrar.handle(FEDERATION_PROTOCOL, (stream: Stream, conn: Connection) => {
      this.onStream(stream, conn).catch(err => { this.log('federation stream from %p failed - %e', conn.remotePeer, err) })
      // HELLO runs on relayed connections too (a few hundred bytes): members behind NATs first
      // meet through a relay, and nothing else may run on a connection before it.
      // One HELLO and one JOIN or RENEW at a time: what an outsider can open is bounded.
    }, { maxInboundStreams: 2, maxOutboundStreams: 2, runOnLimitedConnection: true })
    const every = (ms: number, fn: () => void): void => { this.timers.push(setInterval(fn, ms)) }
    every(this.init.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS, () => { this.sweep() })
    this.scheduleRenewal()
  }

  /** Check often enough that a short-lived certificate (tests, short invites) renews in time. */
  private scheduleRenewal (): void {
    if (!this.started || this.federation == null) return
    const cert = this.federation.roster.certificate(this.federation.selfId, this.init.clock.now())
    const lifetime = cert == null ? Infinity : cert.expiresAt - cert.issuedAt
    const delay = Math.max(SECOND, Math.min(this.init.renewCheckMs ?? DEFAULT_RENEW_CHECK_MS, lifetime / 6))
    const timer = setTimeout(() => {
      this.timers = this.timers.filter(t => t !== timer)
      void this.renewIfDue().finally(() => { this.scheduleRenewal() })
    }, delay)
    this.timers.push(timer)
  }

  async afterStart (): Promise<void> {
    if (this.federation == null || !this.started) return
    // Anything registered by a service after our start is gated too.
    for (const p of this.components.registrar.getProtocols()) this.gateProtocol(p)
    this.components.pubsub.topicValidators.set(FEDERATION_TOPIC, this.validate)
    this.components.pubsub.subscribe(FEDERATION_TOPIC)
  }

  /** Before pubsub stops (services stop together). */
  beforeStop (): void {
    if (this.federation == null || !this.started) return
    this.components.pubsub.topicValidators.delete(FEDERATION_TOPIC)
    this.components.pubsub.unsubscribe(FEDERATION_TOPIC)
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.components.events.removeEventListener('connection:open', this.onConnectionOpen)
    this.components.events.removeEventListener('connection:close', this.onConnectionClose)
    for (const t of this.timers) clearTimeout(t)
    this.timers = []
    for (const t of this.deadlines.values()) clearTimeout(t)
    this.deadlines.clear()
    if (this.federation == null) return
    await this.components.registrar.unhandle(FEDERATION_PROTOCOL)
    // The gate stays on the protocols: handlers of services stopping alongside may still take
    // streams until libp2p closes every connection.
  }

  /**
   * Is `peer` a member now (open mesh: yes)? A node whose own certificate is revoked or expired
   * is outside the federation: nobody is a member to it (it keeps no member connection open,
   * lists no peers, and learns why from the members' HELLO refusals).
   */
  isMember (peer: PeerId | string): boolean {
    if (this.federation == null) return true
    const id = peer.toString()
    const self = this.components.peerId.toString()
    if (id !== self && !this.federation.standing(self).member) return false
    return this.federation.standing(id).member
  }

  /** Does `peer` hold `role` now (open mesh: every role)? */
  allows (peer: PeerId | string, role: number): boolean {
    return this.federation == null || this.federation.allows(peer.toString(), role)
  }

  /** Does this node's own certificate grant `role`? */
  selfAllows (role: number): boolean {
    return this.allows(this.components.peerId, role)
  }

  /** Has this connection's peer proved membership (open mesh: every connection has)? */
  isMemberConnection (conn: Connection): boolean {
    return this.federation == null || this.gate.state(conn) === 'member'
  }

  standing (peer: string): Standing {
    return this.federation?.standing(peer) ?? { member: true, roles: Role.submit | Role.serve | Role.cacheWrite | Role.admin, name: '', expiresAt: Infinity }
  }

  /** Peers with a member connection now (open mesh: every connected peer). */
  memberPeers (): PeerId[] {
    return this.gate.memberPeers()
  }

  /** Members in the roster (peer ids) in good standing now, this node excepted; none in an open mesh. */
  rosterMembers (): string[] {
    const fed = this.federation
    if (fed == null) return []
    const self = this.components.peerId.toString()
    return fed.roster.subjects().filter(id => id !== self && fed.standing(id).member)
  }

  /** Peers that tried and failed to prove membership, most recent first. */
  refused (): Refusal[] {
    return [...this.refusals.values()].sort((a, b) => b.lastAtMs - a.lastAtMs)
  }

  /** Should discovery leave this peer alone (it failed HELLO and is still not a member we know)? */
  shouldNotDial (peer: PeerId): boolean {
    if (this.federation == null) return false
    const id = peer.toString()
    return this.federation.roster.isRevoked(id) || (this.refusals.has(id) && !this.federation.standing(id).member)
  }

  /** Revoke a member everywhere: signed here, spread by gossip and every handshake. */
  async revoke (subject: string): Promise<MemberRevocation> {
    const fed = this.requireFederation()
    const rev = await fed.revoke(subject)
    // With the signer's chain, so every receiver can check the signer was an admin.
    this.publish({ certificates: fed.selfChain(), revocations: [rev] })
    return rev
  }

  /**
   * Redeem an invite token: reach the inviter (token addresses first), prove we hold the token,
   * and return the federation the answer makes this node a member of. The caller restarts the
   * node in it (its DHT protocol and roster change).
   */
  async join (token: InviteToken, name: string, signal: AbortSignal): Promise<{ answer: JoinAnswer, federation: Federation }> {
    const fedInit = this.init.federationInit
    if (fedInit == null) throw new JoinFailedError('this node cannot join a federation (no federation store)')
    if (this.federation?.identity.id === token.federation && this.federation.selfStanding().member) throw new AlreadyMemberError()
    if (token.expiresAt <= this.init.clock.now()) throw new JoinFailedError('the invite expired')
    const inviter = peerIdFromString(token.inviter)
    this.joining.add(inviter.toString())
    try {
      await this.components.peerStore.merge(inviter, { multiaddrs: token.addrs.map(a => multiaddr(a)) }).catch(() => {})
      // A connection that failed HELLO may still be closing: redeem on a fresh one.
      await this.components.connectionManager.closeConnections(inviter, { signal }).catch(() => {})
      const conn = await this.components.connectionManager.openConnection(inviter, { signal }).catch((err: Error) => {
        throw new JoinFailedError(`could not reach the inviter ${token.inviter}: ${err.message}`)
      })
      const stream = await conn.newStream(FEDERATION_PROTOCOL, { signal })
      const res = await requestCertificate(stream, { type: RequestType.JOIN, inviteSecret: token.secret, name }, { signal }).catch((err: Error) => {
        throw new JoinFailedError(err instanceof MembershipRefusedError ? `the inviter refused: ${err.message}` : `the join failed: ${err.message}`)
      })
      if (federationFromRootKey(res.rootKey, res.federationName).id !== token.federation) throw new JoinFailedError('the inviter answered for another federation than the token names')
      const answer: JoinAnswer = { rootKey: res.rootKey, federationName: res.federationName, chain: res.chain }
      const federation = await Federation.verifyJoinAnswer(fedInit.self, answer, fedInit.clock).catch((err: Error) => {
        throw new JoinFailedError(`the inviter's answer does not hold: ${err.message}`)
      })
      // The inviter is this node's way in: dialled first after the restart, like a bootstrap peer.
      await this.components.peerStore.merge(inviter, { metadata: { [VIA_METADATA_KEY]: encodeVia(['bootstrap']) } }).catch(() => {})
      return { answer, federation }
    } finally {
      this.joining.delete(inviter.toString())
    }
  }

  private requireFederation (): Federation {
    if (this.federation == null) throw new JoinFailedError('this node runs an open mesh (--open): it has no federation')
    return this.federation
  }

  private onConnectionOpen (evt: CustomEvent<Connection>): void {
    const conn = evt.detail
    if (this.federation == null) {
      if (this.gate.accept(conn)) this.init.onMemberConnect?.(conn)
      return
    }
    const peer = conn.remotePeer.toString()
    this.gate.track(conn)
    // A peer whose certificate this node holds and finds valid needs no round trip first: Noise
    // authenticated its peer id, the roster vouches for it. The HELLO still runs (the other side
    // may not know this node yet; rosters reconcile), and a revocation it brings cuts the peer.
    const known = this.federation.standing(peer).member
    if (known) {
      this.accept(conn)
    } else {
      this.deadlines.set(conn.id, setTimeout(() => {
        this.deadlines.delete(conn.id)
        if (this.gate.state(conn) === 'pending') this.refuse(conn, 'no membership handshake in time', 'failed')
      }, this.handshakeTimeoutMs))
    }
    if (conn.direction !== 'outbound' || this.joining.has(peer)) return
    // With a known peer the HELLO only reconciles rosters: it waits until the connection's own
    // start-up traffic (identify, ads) is under way instead of competing with it.
    if (known) {
      const timer = setTimeout(() => { this.timers = this.timers.filter(t => t !== timer); void this.hello(conn) }, ROSTER_SYNC_DELAY_MS)
      this.timers.push(timer)
    } else {
      void this.hello(conn)
    }
  }

  private onConnectionClose (evt: CustomEvent<Connection>): void {
    const conn = evt.detail
    clearTimeout(this.deadlines.get(conn.id))
    this.deadlines.delete(conn.id)
    this.gate.closed(conn)
  }

  private async hello (conn: Connection): Promise<void> {
    if (conn.status !== 'open') return
    const fed = this.requireFederation()
    const signal = AbortSignal.timeout(this.handshakeTimeoutMs)
    for (let attempt = 1; ; attempt++) {
      try {
        // Lazy protocol selection: the HELLO travels with the protocol header (one round trip less).
        const stream = await conn.newStream(FEDERATION_PROTOCOL, { signal, negotiateFully: false, runOnLimitedConnection: true })
        await helloAsDialer(stream, fed, conn.remotePeer.toString(), this.init.clock.now(), () => { this.accept(conn) }, { signal })
        return
      } catch (err) {
        // A refusal (either way) ends the connection; a transient failure after this node already
        // accepted the peer (from its roster) only costs the roster exchange.
        if (err instanceof MembershipRefusedError) {
          this.refuse(conn, err.message, 'refused')
        } else if (conn.status !== 'open') {
          // Closed under the HELLO by someone else (an AutoNAT dial-back connection closes as soon
          // as its check is done; a hole punch closes the relayed one): nobody was refused, and
          // the peer's other connections have their own HELLO.
          this.log('connection to %p closed during HELLO - %s', conn.remotePeer, (err as Error).message)
        } else if (this.gate.state(conn) === 'member') {
          this.log('roster exchange with %p failed - %e', conn.remotePeer, err)
        } else if (attempt === 1 && !signal.aborted) {
          // Only this stream died (reset, or the peer's stream limit while its side closes the last one): once more.
          this.log('HELLO to %p failed, trying once more - %s', conn.remotePeer, (err as Error).message)
          continue
        } else {
          this.refuse(conn, `handshake failed: ${(err as Error).message}`, 'failed')
        }
        return
      }
    }
  }

  private async onStream (stream: Stream, conn: Connection): Promise<void> {
    const fed = this.requireFederation()
    const signal = AbortSignal.timeout(this.handshakeTimeoutMs)
    await serveFederationStream(stream, conn.remotePeer.toString(), {
      fed,
      now: () => this.init.clock.now(),
      isVerified: () => this.gate.isMember(conn.remotePeer),
      onAccepted: () => { this.accept(conn) },
      onRefused: (why) => { this.refuse(conn, why) },
      onIssued: (chain) => { this.publish({ certificates: chain }) }
    }, { signal }).catch(err => {
      stream.abort(err)
      throw err
    })
  }

  private accept (conn: Connection): void {
    clearTimeout(this.deadlines.get(conn.id))
    this.deadlines.delete(conn.id)
    if (conn.status !== 'open' || this.gate.state(conn) === 'member') return
    this.handshakes?.increment({ accepted: true })
    if (this.gate.accept(conn)) {
      // Pruning drops the least valued peers first: members outrank connections still proving themselves.
      this.components.peerStore.merge(conn.remotePeer, { tags: { [MEMBER_TAG]: { value: 50 } } }).catch(() => {})
      this.init.onMemberConnect?.(conn)
    }
  }

  private refuse (conn: Connection, reason: string, outcome: 'refused' | 'failed' = 'refused'): void {
    clearTimeout(this.deadlines.get(conn.id))
    this.deadlines.delete(conn.id)
    this.gate.refuse(conn)
    this.handshakes?.increment({ [outcome]: true })
    const peer = conn.remotePeer.toString()
    const previous = this.refusals.get(peer)
    this.refusals.set(peer, { peer, reason, count: (previous?.count ?? 0) + 1, lastAtMs: this.init.clock.now() })
    this.log('refused %p (%s) - %s', conn.remotePeer, conn.direction, reason)
    this.init.onRefused?.(conn.remotePeer, reason)
    conn.close().catch(() => { conn.abort(new Error(reason)) })
  }

  /** Cut members whose standing lapsed (expired, revoked, issuer revoked). */
  sweep (): void {
    const fed = this.federation
    if (fed == null) return
    for (const peer of this.gate.memberPeers()) {
      const s = fed.standing(peer.toString())
      if (s.member) continue
      this.log('%p is no longer a member (%s): closing its connections', peer, s.reason)
      for (const conn of this.components.connectionManager.getConnections(peer)) this.refuse(conn, `no longer a member: ${s.reason}`)
    }
  }

  private async renewIfDue (): Promise<void> {
    const fed = this.federation
    if (fed == null || !this.started || !fed.needsRenewal()) return
    if (fed.rootPrivateKey != null) {
      this.publish({ certificates: [await fed.renewSelf()] })
      return
    }
    // Any connected admin will do; one that refuses or fails does not stop the next.
    for (const peer of this.gate.memberPeers()) {
      if (!fed.allows(peer.toString(), Role.admin)) continue
      const conn = this.components.connectionManager.getConnections(peer).find(c => this.gate.state(c) === 'member')
      if (conn == null) continue
      try {
        const signal = AbortSignal.timeout(this.handshakeTimeoutMs)
        const res = await requestCertificate(await conn.newStream(FEDERATION_PROTOCOL, { signal }), { type: RequestType.RENEW }, { signal })
        await fed.acceptCertificates(res.chain)
        this.log('certificate renewed by %p', peer)
        this.publish({ certificates: fed.selfChain() })
        return
      } catch (err) {
        this.log('certificate renewal by %p failed - %e', peer, err)
      }
    }
  }

  private publish (update: { certificates?: MemberCertificate[], revocations?: MemberRevocation[] }): void {
    if (this.federation == null || !this.started) return
    const data = Roster.encode({ certificates: (update.certificates ?? []).map(certificateWire), revocations: (update.revocations ?? []).map(revocationWire) })
    this.components.pubsub.publish(FEDERATION_TOPIC, data).catch(err => { this.log('roster update not published - %e', err) })
  }

  /** Roster updates over gossip: verified before they count; a forged one costs the sender. */
  private async validate (_from: PeerId, msg: Message): Promise<TopicValidatorResult> {
    const fed = this.federation
    if (fed == null || msg.type !== 'signed' || msg.data.byteLength > MAX_FEDERATION_FRAME_BYTES) return TopicValidatorResult.Reject
    let roster: Roster
    try {
      roster = Roster.decode(msg.data)
    } catch {
      return TopicValidatorResult.Reject
    }
    const certs = await fed.acceptCertificates(roster.certificates)
    const revs = await fed.acceptRevocations(roster.revocations)
    // Only a forgery is the sender's fault; an entry this node cannot vouch for yet (an issuer
    // it has not heard of, one just revoked) is ignored, not held against an honest relay.
    if (certs.forged + revs.forged > 0) return TopicValidatorResult.Reject
    return certs.added + revs.added > 0 ? TopicValidatorResult.Accept : TopicValidatorResult.Ignore
  }

  /** Called by the Federation when it learns a revocation: the revoked peer is cut off now. */
  revoked (subject: string): void {
    if (!this.started) return
    let peer: PeerId
    try {
      peer = peerIdFromString(subject)
    } catch {
      return
    }
    for (const conn of this.components.connectionManager.getConnections(peer)) this.refuse(conn, 'revoked')
  }

  private gateProtocol (protocol: string): void {
    if (protocol === FEDERATION_PROTOCOL || this.gated.has(protocol)) return
    this.gated.add(protocol)
    const members: StreamMiddleware = async (stream, conn, next) => {
      if (await this.gate.admit(conn, AbortSignal.timeout(this.handshakeTimeoutMs))) {
        next(stream, conn)
        return
      }
      throw new MembershipRefusedError(Status.NOT_MEMBER, `${protocol} is for federation members only`)
    }
    this.components.registrar.use(protocol, [members])
  }

  /**
   * libp2p 3.3.11's Connection.onIncomingStream pushes the protocol handler onto the array
   * getMiddleware returns, which is the registered array itself: with middleware registered,
   * every inbound stream would add one more handler call for the next. Hand out copies.
   */
  private fixMiddlewareCopy (): void {
    const registrar = this.components.registrar as Registrar & { getMiddleware(p: string): unknown[] }
    const original = registrar.getMiddleware.bind(registrar)
    registrar.getMiddleware = (p: string) => [...original(p)]
  }
}

export function federationService (init: FederationServiceInit): (components: FederationServiceComponents) => FederationService {
  return (components) => new FederationService(components, init)
}
