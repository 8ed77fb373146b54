/**
 * This node's view of its federation: who the federation is (root key), the roster, this node's
 * own certificate, the root private key when this node founded it, and pending invites. It
 * opens and keeps certificates and revocations (verify, then store), issues them when this node
 * may, and answers "is this peer a member, with which roles?" for every other part of the node.
 * No libp2p here: the service (federation-service.ts) moves the bytes.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { Roster } from '../../core/federation/roster.js'
import { ALL_ROLES, Role } from '../../core/federation/roles.js'
import { DAY, HOUR } from '../../util/time.js'
import { InvalidCredentialError, certificateHash, federationFromRootKey, federationIdentity, issueCertificate, issueRevocation, openCertificate, openRevocation } from './credentials.js'
import { newInviteSecret, secretHash } from './invite-token.js'
import type { FederationIdentity } from './credentials.js'
import type { MemberCertificate, MemberRevocation, Standing } from '../../core/federation/roster.js'
import type { FederationStore, StoredInvite } from '../../store/federation-store.js'
import type { Clock } from '../../util/time.js'
import type { Certificate, Revocation } from '../../wire/federation.js'
import type { PrivateKey } from '@libp2p/interface'

/** How long a certificate lives unless an invite says otherwise. Renewed at a third left. */
export const DEFAULT_CERTIFICATE_TTL_MS = 30 * DAY
/** How long an invite may be redeemed unless asked otherwise. */
export const DEFAULT_INVITE_TTL_MS = 24 * HOUR
/** Pending invites kept at most (each is a few dozen bytes). */
export const MAX_PENDING_INVITES = 1_000

export class NotAdminError extends Error {
  constructor (message = 'this node is not an admin of its federation') {
    super(message)
    this.name = 'NotAdminError'
  }
}

export class InviteRefusedError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'InviteRefusedError'
  }
}

export interface Self {
  peerId: string
  privateKey: PrivateKey
  name: string
}

export interface FederationInit {
  store: FederationStore
  self: Self
  clock: Clock
  /** A subject was revoked (learned now, from anywhere). */
  onRevoked?: (subject: string) => void
  /** The roster changed: standings may have changed. */
  onChange?: () => void
}

/** A federation to start from without a store's history: the simulation harness shares one. */
export interface FederationSeed {
  identity: FederationIdentity
  /** The node's certificate and its issuers', as the harness issued them. */
  chain: MemberCertificate[]
  /** Other members' certificates known from the start (a roster to begin with). */
  members?: MemberCertificate[]
  rootPrivateKey?: PrivateKey
}

export interface AcceptResult {
  added: number
  invalid: number
}

export class Federation {
  identity!: FederationIdentity
  rootPrivateKey: PrivateKey | undefined
  roster = new Roster()

  constructor (private readonly init: FederationInit) {}

  /** Load the stored federation, or found a new one with this node its first admin. */
  static async open (init: FederationInit): Promise<Federation> {
    const fed = new Federation(init)
    const stored = await init.store.load()
    if (stored == null) {
      await fed.found(init.self.name)
    } else {
      fed.identity = federationIdentity(stored.rootKey, stored.name)
      fed.rootPrivateKey = stored.rootPrivateKey
      for (const bytes of stored.certificates) await fed.acceptCertificate(bytes, false)
      for (const bytes of stored.revocations) await fed.acceptRevocation(bytes, false)
      // The founder can always vouch for itself again (an expired own certificate included).
      if (fed.rootPrivateKey != null && !fed.selfStanding().member) await fed.renewSelf()
    }
    return fed
  }

  /** Start from a seed (no stored history); the store is overwritten with it. */
  static async seeded (init: FederationInit, seed: FederationSeed): Promise<Federation> {
    const fed = new Federation(init)
    fed.identity = seed.identity
    fed.rootPrivateKey = seed.rootPrivateKey
    await init.store.replace({ rootKey: seed.identity.rootKey, name: seed.identity.name, rootPrivateKey: seed.rootPrivateKey, certificates: [], revocations: [] })
    for (const cert of [...seed.chain].reverse()) await fed.acceptCertificate(cert.bytes)
    await fed.acceptCertificates((seed.members ?? []).map(c => c.bytes))
    return fed
  }

  private now (): number {
    return this.init.clock.now()
  }

  get selfId (): string {
    return this.init.self.peerId
  }

  /** A new federation of one: a fresh root key, this node its first admin with every role. */
  private async found (name: string): Promise<void> {
    const root = await generateKeyPair('Ed25519')
    this.identity = federationIdentity(root.publicKey, `${name}'s federation`)
    this.rootPrivateKey = root
    this.roster = new Roster()
    await this.init.store.replace({ rootKey: root.publicKey, name: this.identity.name, rootPrivateKey: root, certificates: [], revocations: [] })
    await this.renewSelf()
  }

  /** The founder signs itself a fresh certificate with the root key. */
  async renewSelf (): Promise<MemberCertificate> {
    if (this.rootPrivateKey == null) throw new NotAdminError('only the founder can renew its own certificate without another admin')
    const now = this.now()
    const cert = await issueCertificate(this.identity, this.rootPrivateKey, undefined, {
      subject: this.selfId, name: this.init.self.name, roles: ALL_ROLES, issuedAt: now, expiresAt: now + DEFAULT_CERTIFICATE_TTL_MS
    })
    await this.keepCertificate(cert)
    return cert
  }

  standing (peer: string): Standing {
    return this.roster.standing(peer, this.now())
  }

  selfStanding (): Standing {
    return this.standing(this.selfId)
  }

  allows (peer: string, role: number): boolean {
    return this.roster.allows(peer, role, this.now())
  }

  isAdmin (): boolean {
    return this.rootPrivateKey != null || this.allows(this.selfId, Role.admin)
  }

  /** This node's certificate and its issuers' (what its Hello carries). */
  selfChain (): MemberCertificate[] {
    return this.roster.chain(this.selfId)
  }

  /**
   * Open, check and keep certificates (a Hello's chain, a Roster, a gossip update). Processed
   * issuers first and repeated until nothing more is added, because a certificate is only kept
   * when its issuer is the root or a current admin: a member cannot fill others' rosters with
   * certificates it signed itself.
   */
  async acceptCertificates (wires: Array<Certificate | Uint8Array>): Promise<AcceptResult & { opened: MemberCertificate[] }> {
    const opened: MemberCertificate[] = []
    let invalid = 0
    for (const w of wires) {
      // Rosters are exchanged whole: a certificate kept already is not verified again.
      if (this.roster.holds(certificateHash(w))) continue
      try {
        opened.push(await openCertificate(this.identity, w))
      } catch (err) {
        if (!(err instanceof InvalidCredentialError)) throw err
        invalid++
      }
    }
    let added = 0
    let pending = opened
    for (let pass = 0; pass < 9 && pending.length > 0; pass++) {
      const next: MemberCertificate[] = []
      for (const cert of pending) {
        if (!this.issuerMayIssue(cert.issuer)) {
          next.push(cert)
          continue
        }
        if (await this.keepCertificate(cert)) added++
      }
      if (next.length === pending.length) {
        invalid += next.length
        break
      }
      pending = next
    }
    return { added, invalid, opened }
  }

  /** Revocations count only when signed by the root key or a current admin. */
  async acceptRevocations (wires: Array<Revocation | Uint8Array>): Promise<AcceptResult> {
    let added = 0
    let invalid = 0
    for (const w of wires) {
      try {
        if (await this.acceptRevocation(w)) added++
      } catch (err) {
        if (!(err instanceof InvalidCredentialError)) throw err
        invalid++
      }
    }
    return { added, invalid }
  }

  private async acceptCertificate (bytes: Uint8Array, persist = true): Promise<void> {
    const cert = await openCertificate(this.identity, bytes).catch(() => undefined)
    // Stored certificates were checked when they arrived; their issuers may load after them.
    if (cert != null) await this.keepCertificate(cert, persist)
  }

  private async acceptRevocation (w: Revocation | Uint8Array, persist = true): Promise<boolean> {
    const rev = await openRevocation(this.identity, w)
    if (persist && !this.issuerMayIssue(rev.issuer)) throw new InvalidCredentialError('revocation signed by a peer that is not an admin')
    return await this.keepRevocation(rev, persist)
  }

  private issuerMayIssue (issuer: string | undefined): boolean {
    return issuer == null || this.allows(issuer, Role.admin)
  }

  /** Keep a certificate; `persist` false = loading the store (nothing new to tell anyone). */
  private async keepCertificate (cert: MemberCertificate, persist = true): Promise<boolean> {
    if (this.roster.addCertificate(cert, this.now()) !== 'added') return false
    if (!persist) return true
    await this.init.store.putCertificate(cert.subject, cert.bytes)
    this.init.onChange?.()
    return true
  }

  private async keepRevocation (rev: MemberRevocation, persist = true): Promise<boolean> {
    if (this.roster.addRevocation(rev) !== 'added') return false
    if (!persist) return true
    await this.init.store.putRevocation(rev.subject, rev.bytes)
    this.init.onRevoked?.(rev.subject)
    this.init.onChange?.()
    return true
  }

  /** Sign a certificate as this node: with the root key when it holds it, else as an admin. */
  async issue (fields: { subject: string, name: string, roles: number, ttlMs: number }): Promise<MemberCertificate> {
    if (!this.isAdmin()) throw new NotAdminError()
    const now = this.now()
    const asRoot = this.rootPrivateKey != null
    const cert = await issueCertificate(this.identity, asRoot ? this.rootPrivateKey as PrivateKey : this.init.self.privateKey, asRoot ? undefined : this.selfId, {
      subject: fields.subject, name: fields.name, roles: fields.roles, issuedAt: now, expiresAt: now + fields.ttlMs
    })
    await this.keepCertificate(cert)
    return cert
  }

  /** Revoke a member for good (admins only). */
  async revoke (subject: string): Promise<MemberRevocation> {
    if (!this.isAdmin()) throw new NotAdminError()
    const existing = this.roster.revocation(subject)
    if (existing != null) return existing
    const asRoot = this.rootPrivateKey != null
    const rev = await issueRevocation(this.identity, asRoot ? this.rootPrivateKey as PrivateKey : this.init.self.privateKey, asRoot ? undefined : this.selfId, subject, this.now())
    await this.keepRevocation(rev)
    return rev
  }

  /** A single-use invite: the secret goes into the token, only its hash is kept here. */
  async createInvite (roles: number, ttlMs: number, certificateTtlMs = DEFAULT_CERTIFICATE_TTL_MS): Promise<{ secret: Uint8Array, invite: StoredInvite }> {
    if (!this.isAdmin()) throw new NotAdminError('only an admin can invite (this node\'s certificate has no admin role)')
    const invites = await this.init.store.invites()
    const now = this.now()
    for (const inv of invites) if (inv.expiresAt <= now) await this.init.store.deleteInvite(inv.secretHash)
    if (invites.filter(i => i.expiresAt > now).length >= MAX_PENDING_INVITES) throw new InviteRefusedError(`too many pending invites (${MAX_PENDING_INVITES}); wait for some to expire`)
    const secret = newInviteSecret()
    const invite: StoredInvite = { secretHash: secretHash(secret), roles, expiresAt: now + ttlMs, certificateTtlMs }
    await this.init.store.putInvite(invite)
    return { secret, invite }
  }

  /**
   * Redeem an invite for `subject` (the Noise-authenticated peer asking): the invite is marked
   * used durably before the certificate is handed out, so a crash cannot let it be used twice.
   */
  async redeemInvite (secret: Uint8Array, subject: string, name: string): Promise<MemberCertificate[]> {
    if (!this.isAdmin()) throw new NotAdminError()
    const hash = secretHash(secret)
    const invite = await this.init.store.getInvite(hash)
    if (invite == null) throw new InviteRefusedError('no such invite')
    if (invite.usedBy != null) throw new InviteRefusedError('the invite was used already')
    if (invite.expiresAt <= this.now()) throw new InviteRefusedError('the invite expired')
    if (this.roster.isRevoked(subject)) throw new InviteRefusedError('this peer id was revoked from the federation')
    await this.init.store.putInvite({ ...invite, usedBy: subject, usedAt: this.now() })
    const cert = await this.issue({ subject, name, roles: invite.roles, ttlMs: invite.certificateTtlMs })
    return [cert, ...this.selfChain().filter(c => c.subject !== subject)]
  }

  /** Renew a member's certificate (same roles and name, a fresh lifetime), as an admin. */
  async renewFor (subject: string): Promise<MemberCertificate[]> {
    const standing = this.standing(subject)
    const current = this.roster.certificate(subject)
    if (!standing.member || current == null) throw new InviteRefusedError('only a member in good standing can renew')
    const lifetime = Math.min(Math.max(current.expiresAt - current.issuedAt, HOUR), 365 * DAY)
    const cert = await this.issue({ subject, name: current.name, roles: current.roles, ttlMs: lifetime })
    return [cert, ...this.selfChain().filter(c => c.subject !== subject)]
  }

  /** Adopt the federation a join answer names: everything of the old one is replaced. */
  static async adopt (init: FederationInit, rootKey: Uint8Array, name: string, chain: Array<Certificate | Uint8Array>): Promise<Federation> {
    const identity = federationFromRootKey(rootKey, name)
    const fed = new Federation(init)
    fed.identity = identity
    const { opened } = await fed.acceptCertificates(chain)
    const own = opened.find(c => c.subject === init.self.peerId)
    if (own == null) throw new InvalidCredentialError('the join answer holds no certificate for this node')
    if (!fed.selfStanding().member) throw new InvalidCredentialError('the certificate in the join answer is not valid')
    await init.store.replace({ rootKey: identity.rootKey, name, certificates: fed.roster.certificates(), revocations: [] })
    return fed
  }

  /** Should this node renew its certificate now (a third of its lifetime left)? */
  needsRenewal (): boolean {
    const cert = this.roster.certificate(this.selfId)
    if (cert == null) return false
    const left = cert.expiresAt - this.now()
    return left < (cert.expiresAt - cert.issuedAt) / 3
  }
}
