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
import { DAY, HOUR, MINUTE } from '../../util/time.js'
import { InvalidCredentialError, MAX_NAME_CHARS, certificateHash, federationFromRootKey, federationIdentity, issueCertificate, issueRevocation, openCertificate, openRevocation } from './credentials.js'
import { newInviteSecret, secretHash } from './invite-token.js'
import type { FederationIdentity } from './credentials.js'
import type { AddOutcome, MemberCertificate, MemberRevocation, Standing } from '../../core/federation/roster.js'
import { MemoryLevel } from 'memory-level'
import { FederationStore } from '../../store/federation-store.js'
import type { StoredInvite } from '../../store/federation-store.js'
import type { Sublevel } from '../../store/store.js'
import type { Clock } from '../../util/time.js'
import type { Certificate, Revocation } from '../../wire/federation.js'
import type { PrivateKey } from '@libp2p/interface'

/** How long a certificate lives unless an invite says otherwise. Renewed at a third left. */
export const DEFAULT_CERTIFICATE_TTL_MS = 30 * DAY
/** How long an invite may be redeemed unless asked otherwise. */
export const DEFAULT_INVITE_TTL_MS = 24 * HOUR
/** Pending invites kept at most (each is a few dozen bytes). */
export const MAX_PENDING_INVITES = 1_000
/** One renewal per member at most this often (or a sixth of its lifetime when shorter), per admin. */
const RENEW_INTERVAL_MS = 10 * MINUTE
const MAX_RENEWALS_REMEMBERED = 10_000

/** A name fit for a certificate: no control or format characters, at most 64 characters; else the id's end. */
export function cleanName (name: string, subject: string): string {
  const clean = [...name.replace(/[\p{Cc}\p{Cf}]/gu, '')].slice(0, MAX_NAME_CHARS).join('').trim()
  return clean === '' ? subject.slice(-8) : clean
}

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

/** What an inviter answers a JOIN with. */
export interface JoinAnswer {
  rootKey: Uint8Array
  federationName: string
  chain: Array<Certificate | Uint8Array>
}

export interface AcceptResult {
  added: number
  /** Did not open: a bad signature, another federation, out of bounds. */
  forged: number
  /** Genuine, but its signer is not (or was not then) an admin as far as this node knows. */
  unverifiable: number
  /** No room: its issuer's share of the roster, or the roster, is full. */
  full: number
}

export class RevocationRefusedError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'RevocationRefusedError'
  }
}

export class Federation {
  identity!: FederationIdentity
  rootPrivateKey: PrivateKey | undefined
  roster = new Roster()
  /** Invite secrets (hashes) being redeemed now. */
  private readonly redeeming = new Set<string>()
  /** When each member was last renewed here. */
  private readonly renewedAt = new Map<string, number>()

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
      for (const bytes of stored.certificates) await fed.loadCertificate(bytes)
      for (const bytes of stored.revocations) await fed.loadRevocation(bytes)
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
    for (const cert of [...seed.chain].reverse()) await fed.loadCertificate(cert.bytes)
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
    this.identity = federationIdentity(root.publicKey, `${cleanName(name, this.selfId)}'s federation`)
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
      subject: this.selfId, name: cleanName(this.init.self.name, this.selfId), roles: ALL_ROLES, issuedAt: now, expiresAt: now + DEFAULT_CERTIFICATE_TTL_MS
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
    return this.roster.chain(this.selfId, this.now())
  }

  /**
   * Open, check and keep certificates (a Hello's chain, a Roster, a gossip update). Processed
   * issuers first and repeated until nothing more is added, because a certificate is only kept
   * when its issuer is the root or a current admin: a member cannot fill others' rosters with
   * certificates it signed itself. `forged`: did not open (a bad signature, another federation);
   * `unverifiable`: genuine, but this node cannot vouch for its issuer now (it may later).
   */
  async acceptCertificates (wires: Array<Certificate | Uint8Array>): Promise<AcceptResult & { opened: MemberCertificate[] }> {
    const result: AcceptResult & { opened: MemberCertificate[] } = { added: 0, forged: 0, unverifiable: 0, full: 0, opened: [] }
    for (const w of wires) {
      // Rosters are exchanged whole: a certificate kept already is not verified again.
      if (this.roster.holds(certificateHash(w))) continue
      try {
        result.opened.push(await openCertificate(this.identity, w))
      } catch (err) {
        if (!(err instanceof InvalidCredentialError)) throw err
        result.forged++
      }
    }
    let pending = result.opened
    for (let pass = 0; pass < 9 && pending.length > 0; pass++) {
      const next: MemberCertificate[] = []
      for (const cert of pending) {
        if (!this.issuerMayIssue(cert.issuer)) {
          next.push(cert)
          continue
        }
        const outcome = await this.keepCertificate(cert)
        if (outcome === 'added') result.added++
        if (outcome === 'full') result.full++
      }
      if (next.length === pending.length) {
        result.unverifiable += next.length
        break
      }
      pending = next
    }
    return result
  }

  /**
   * Revocations count when signed by the root key, or by an admin that was one when it signed
   * (so a revocation stays in force, on every node alike, after its signer's own certificate
   * lapses or is revoked).
   */
  async acceptRevocations (wires: Array<Revocation | Uint8Array>): Promise<AcceptResult> {
    const result: AcceptResult = { added: 0, forged: 0, unverifiable: 0, full: 0 }
    for (const w of wires) {
      let rev: MemberRevocation
      try {
        rev = await openRevocation(this.identity, w)
      } catch (err) {
        if (!(err instanceof InvalidCredentialError)) throw err
        result.forged++
        continue
      }
      if (!this.roster.couldRevoke(rev.issuer, rev.revokedAt, this.now())) {
        result.unverifiable++
        continue
      }
      const outcome = await this.keepRevocation(rev)
      if (outcome === 'added') result.added++
      if (outcome === 'full') result.full++
    }
    return result
  }

  /** Stored entries were checked when they arrived; a bad one (a damaged store) is skipped. */
  private async loadCertificate (bytes: Uint8Array): Promise<void> {
    const cert = await openCertificate(this.identity, bytes).catch(() => undefined)
    if (cert != null) await this.keepCertificate(cert, false)
  }

  private async loadRevocation (bytes: Uint8Array): Promise<void> {
    const rev = await openRevocation(this.identity, bytes).catch(() => undefined)
    if (rev != null) await this.keepRevocation(rev, false)
  }

  private issuerMayIssue (issuer: string | undefined): boolean {
    return issuer == null || this.allows(issuer, Role.admin)
  }

  /** Keep a certificate; `persist` false = loading the store (nothing new to tell anyone). */
  private async keepCertificate (cert: MemberCertificate, persist = true): Promise<AddOutcome> {
    const outcome = this.roster.addCertificate(cert, this.now())
    for (const gone of this.roster.takeEvicted()) await this.init.store.deleteCertificate(gone.subject, gone.hash)
    if (outcome !== 'added' || !persist) return outcome
    await this.init.store.putCertificate(cert.subject, cert.hash, cert.bytes)
    this.init.onChange?.()
    return outcome
  }

  private async keepRevocation (rev: MemberRevocation, persist = true): Promise<AddOutcome> {
    const outcome = this.roster.addRevocation(rev)
    if (outcome !== 'added' || !persist) return outcome
    await this.init.store.putRevocation(rev.subject, rev.bytes)
    this.init.onRevoked?.(rev.subject)
    this.init.onChange?.()
    return outcome
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
    if (await this.keepRevocation(rev) === 'full') throw new RevocationRefusedError('this admin has signed as many revocations as the roster keeps from one admin; the founder (root key) can still revoke')
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
    // Claimed before the first await: concurrent redemptions of one secret cannot both pass.
    if (this.redeeming.has(hash)) throw new InviteRefusedError('the invite was used already')
    this.redeeming.add(hash)
    try {
      const invite = await this.init.store.getInvite(hash)
      if (invite == null) throw new InviteRefusedError('no such invite')
      if (invite.usedBy != null) throw new InviteRefusedError('the invite was used already')
      if (invite.expiresAt <= this.now()) throw new InviteRefusedError('the invite expired')
      if (this.roster.isRevoked(subject)) throw new InviteRefusedError('this peer id was revoked from the federation')
      await this.init.store.putInvite({ ...invite, usedBy: subject, usedAt: this.now() })
      const cert = await this.issue({ subject, name: cleanName(name, subject), roles: invite.roles, ttlMs: invite.certificateTtlMs })
      return [cert, ...this.selfChain().filter(c => c.subject !== subject)]
    } finally {
      this.redeeming.delete(hash)
    }
  }

  /**
   * Renew a member's certificate (same roles and name, a fresh lifetime), as an admin: only in
   * the last third of its lifetime, and at most once per member every RENEW_INTERVAL_MS (each
   * renewal is signed, stored and gossiped to every member).
   */
  async renewFor (subject: string): Promise<MemberCertificate[]> {
    const standing = this.standing(subject)
    const current = this.roster.certificate(subject, this.now())
    if (!standing.member || current == null) throw new InviteRefusedError('only a member in good standing can renew')
    const now = this.now()
    if (current.expiresAt - now > (current.expiresAt - current.issuedAt) / 3) throw new InviteRefusedError('renewal is for the last third of a certificate\'s lifetime')
    const interval = Math.min(RENEW_INTERVAL_MS, (current.expiresAt - current.issuedAt) / 6)
    if ((this.renewedAt.get(subject) ?? -Infinity) > now - interval) throw new InviteRefusedError('renewed a moment ago; ask again later')
    this.renewedAt.set(subject, now)
    if (this.renewedAt.size > MAX_RENEWALS_REMEMBERED) this.renewedAt.delete(this.renewedAt.keys().next().value as string)
    const lifetime = Math.min(Math.max(current.expiresAt - current.issuedAt, HOUR), 365 * DAY)
    const cert = await this.issue({ subject, name: current.name, roles: current.roles, ttlMs: lifetime })
    return [cert, ...this.selfChain().filter(c => c.subject !== subject)]
  }

  /**
   * Check a join answer without touching this node's store: the certificate chain opens in the
   * federation the root key names, and makes `selfId` a member now. Returns that federation.
   */
  static async verifyJoinAnswer (self: Self, answer: JoinAnswer, clock: Clock): Promise<Federation> {
    const scratch = new FederationStore(new MemoryLevel<string, Uint8Array>({ valueEncoding: 'view' }) as unknown as Sublevel)
    const fed = new Federation({ store: scratch, self, clock })
    fed.identity = federationFromRootKey(answer.rootKey, answer.federationName)
    const { opened } = await fed.acceptCertificates(answer.chain)
    if (!opened.some(c => c.subject === self.peerId)) throw new InvalidCredentialError('the join answer holds no certificate for this node')
    if (!fed.selfStanding().member) throw new InvalidCredentialError('the certificate in the join answer is not valid')
    return fed
  }

  /**
   * Adopt the federation a (verified) join answer names: everything of the old one is replaced
   * in one batch. Call it with the node stopped: a running node would keep writing the old
   * federation's roster into the store.
   */
  static async adopt (init: FederationInit, answer: JoinAnswer): Promise<void> {
    const fed = await Federation.verifyJoinAnswer(init.self, answer, init.clock)
    await init.store.replace({ rootKey: fed.identity.rootKey, name: fed.identity.name, certificates: fed.roster.certificates(), revocations: [] })
  }

  /** Should this node renew its certificate now (a third of its lifetime left)? */
  needsRenewal (): boolean {
    const cert = this.roster.certificate(this.selfId, this.now())
    if (cert == null) return false
    const left = cert.expiresAt - this.now()
    return left < (cert.expiresAt - cert.issuedAt) / 3
  }
}
