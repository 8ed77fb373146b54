/**
 * The federation commands of the library, the control API and the CLI (`fedmesh federation
 * status|invite|join|members|revoke`), as stable documents (CONTRACT.md "Federation").
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { DEFAULT_INVITE_ROLES, Role, roleNames } from '../core/federation/roles.js'
import { DEFAULT_CERTIFICATE_TTL_MS, DEFAULT_INVITE_TTL_MS, NotAdminError } from '../services/federation/federation.js'
import { decodeInviteToken, encodeInviteToken } from '../services/federation/invite-token.js'
import { BadRequestError } from '../util/errors.js'
import { SECOND } from '../util/time.js'
import type { FedServices } from './federation-node.js'
import type { Federation, JoinAnswer } from '../services/federation/federation.js'
import type { MemberCertificate } from '../core/federation/roster.js'
import type { Clock } from '../util/time.js'
import type { Libp2p } from '@libp2p/interface'

export interface FederationStatusDoc {
  /** The federation's id (base32 of its root key's hash); null in an open mesh. */
  federationId: string | null
  name: string
  /** An open mesh: no membership boundary (`--open`). */
  open: boolean
  /** This node's roles. */
  roles: string[]
  /** When this node's certificate expires (ISO 8601); null in an open mesh. */
  certificateExpiresAt: string | null
  /** Members this node knows (certificates in its roster, revoked ones excluded). */
  members: number
  /** Members connected now. */
  connectedMembers: number
  /** This node founded the federation (it holds the root key). */
  founder: boolean
  /** Why this node is not a member in good standing (its certificate expired, it was revoked), if so. */
  problem?: string
}

export interface InviteDoc {
  token: string
  expiresAt: string
  roles: string[]
}

export interface MemberDoc {
  peerId: string
  name: string
  roles: string[]
  expiresAt: string
  revoked: boolean
  /** The admin that signed its certificate, or `root`. */
  issuer: string
  /** valid, expired, revoked, issuer-invalid, … */
  standing: string
  connected: boolean
}

export interface RevokeDoc {
  peerId: string
  revokedAt: string
}

export interface JoinDoc {
  federationId: string
  name: string
  roles: string[]
  certificateExpiresAt: string
}

/** Joining would throw away a federation that has members (maps to HTTP 409). */
export class FederationConflictError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'FederationConflictError'
  }
}

export class NotFederatedError extends Error {
  constructor (message = 'this node runs an open mesh (--open): it has no federation') {
    super(message)
    this.name = 'NotFederatedError'
  }
}

/** Invites need an admin; the control API answers this with 403. */
export { NotAdminError }

const MAX_TTL_MS = 365 * 24 * 3600 * SECOND

export class FederationApi {
  constructor (private readonly libp2p: Libp2p<FedServices>, private readonly nodeName: string, private readonly clock: Clock) {}

  private get service (): FedServices['federation'] {
    return this.libp2p.services.federation
  }

  private fed (): Federation {
    const fed = this.service.federation
    if (fed == null) throw new NotFederatedError()
    return fed
  }

  status (): FederationStatusDoc {
    const fed = this.service.federation
    const connectedMembers = this.service.memberPeers().length
    if (fed == null) {
      return { federationId: null, name: 'open mesh', open: true, roles: roleNames(Role.submit | Role.serve | Role.cacheWrite | Role.admin), certificateExpiresAt: null, members: 0, connectedMembers, founder: false }
    }
    const self = fed.selfStanding()
    const cert = fed.roster.certificate(fed.selfId, this.clock.now())
    const now = this.clock.now()
    const members = fed.roster.subjects().filter(subject => fed.roster.standing(subject, now).member).length
    return {
      federationId: fed.identity.id,
      name: fed.identity.name,
      open: false,
      roles: self.member ? roleNames(self.roles) : [],
      certificateExpiresAt: cert == null ? null : new Date(cert.expiresAt).toISOString(),
      members,
      connectedMembers,
      founder: fed.rootPrivateKey != null,
      ...(self.member ? {} : { problem: `this node's certificate is ${self.reason}` })
    }
  }

  async invite (opts: { roles?: number, ttlMs?: number, certificateTtlMs?: number } = {}): Promise<InviteDoc> {
    const fed = this.fed()
    const roles = opts.roles ?? DEFAULT_INVITE_ROLES
    const ttlMs = boundTtl(opts.ttlMs ?? DEFAULT_INVITE_TTL_MS, 'ttl')
    const certTtl = boundTtl(opts.certificateTtlMs ?? DEFAULT_CERTIFICATE_TTL_MS, 'certificate ttl')
    const { secret, invite } = await fed.createInvite(roles, ttlMs, certTtl)
    const token = encodeInviteToken({
      federation: fed.identity.id,
      inviter: this.libp2p.peerId.toString(),
      addrs: this.libp2p.getMultiaddrs().map(String),
      secret,
      roles,
      expiresAt: invite.expiresAt
    })
    return { token, expiresAt: new Date(invite.expiresAt).toISOString(), roles: roleNames(roles) }
  }

  /**
   * Redeem an invite: the inviter's answer, checked, and what it makes this node. Nothing is
   * stored yet: stop the node, `adoptFederation(store, answer)`, and start a new node on the
   * store (the daemon does all three at once). A founder whose federation has other members must
   * pass `force` (joining drops its root key for good).
   */
  async join (tokenText: string, options: { force?: boolean, signal?: AbortSignal } = {}): Promise<{ doc: JoinDoc, answer: JoinAnswer }> {
    const token = decodeInviteToken(tokenText)
    if (this.service.open) throw new NotFederatedError('this node runs an open mesh (--open): restart it without --open to join a federation')
    const current = this.service.federation
    if (current?.rootPrivateKey != null && options.force !== true) {
      const now = this.clock.now()
      const others = current.roster.subjects().filter(s => s !== current.selfId && current.roster.standing(s, now).member).length
      if (others > 0) throw new FederationConflictError(`this node founded a federation with ${others} other member(s) and holds its root key; joining another drops that key for good (join with force to do it anyway)`)
    }
    const { answer, federation } = await this.service.join(token, this.nodeName, options.signal ?? AbortSignal.timeout(10 * SECOND))
    const self = federation.selfStanding()
    const cert = federation.roster.certificate(federation.selfId, this.clock.now())
    return {
      answer,
      doc: {
        federationId: federation.identity.id,
        name: federation.identity.name,
        roles: self.member ? roleNames(self.roles) : [],
        certificateExpiresAt: cert == null ? '' : new Date(cert.expiresAt).toISOString()
      }
    }
  }

  members (): MemberDoc[] {
    const fed = this.fed()
    const now = this.clock.now()
    const connected = new Set(this.service.memberPeers().map(String))
    const docs: MemberDoc[] = fed.roster.subjects().map(subject => {
      const c = fed.roster.certificate(subject, now) as MemberCertificate
      const s = fed.roster.standing(c.subject, now)
      return {
        peerId: c.subject,
        name: c.name,
        roles: roleNames(c.roles),
        expiresAt: new Date(c.expiresAt).toISOString(),
        revoked: fed.roster.isRevoked(c.subject),
        issuer: c.issuer ?? 'root',
        standing: s.member ? 'valid' : s.reason,
        connected: connected.has(c.subject) || c.subject === fed.selfId
      }
    })
    for (const r of fed.roster.revocations()) {
      if (fed.roster.certificate(r.subject, now) != null) continue
      docs.push({ peerId: r.subject, name: '', roles: [], expiresAt: '', revoked: true, issuer: r.issuer ?? 'root', standing: 'revoked', connected: false })
    }
    return docs.sort((a, b) => a.name.localeCompare(b.name) || a.peerId.localeCompare(b.peerId))
  }

  async revoke (peerId: string): Promise<RevokeDoc> {
    try {
      peerIdFromString(peerId)
    } catch {
      throw new BadRequestError(`not a peer id: ${peerId}`)
    }
    this.fed()
    if (peerId === this.libp2p.peerId.toString()) throw new BadRequestError('a node cannot revoke itself')
    const rev = await this.service.revoke(peerId)
    return { peerId, revokedAt: new Date(rev.revokedAt).toISOString() }
  }
}

function boundTtl (ms: number, what: string): number {
  if (!Number.isFinite(ms) || ms < SECOND || ms > MAX_TTL_MS) throw new BadRequestError(`${what} must be between 1 s and 365 days`)
  return ms
}
