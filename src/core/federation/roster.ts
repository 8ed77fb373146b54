/**
 * A federation's roster: the certificates and revocations a node knows, and the one decision
 * everything else asks of it — is this peer a member now, and with which roles?
 *
 * Pure: entries arrive here already decoded and signature-checked (services/federation/
 * credentials.ts); time is passed in. A certificate is valid while it has not expired (nor its
 * issuer's: a certificate never outlives the one that vouches for it), its subject is not
 * revoked, and its issuer is the root key or a member that is itself a valid admin now
 * (recursively, up to `maxChainDepth`). So revoking an admin also invalidates what it issued —
 * its members need a certificate from another admin, which the roster then prefers.
 *
 * A few certificates are kept per subject (the valid ones win over newer invalid ones), and each
 * admin may fill only part of the roster, so a rogue or mistaken admin cannot lock members out.
 */
import { createHash } from 'node:crypto'
import { Role, hasRole } from './roles.js'
import { SECOND } from '../../util/time.js'

/** A certificate as the roster keeps it (signature already verified). */
export interface MemberCertificate {
  /** The member's peer id. */
  subject: string
  name: string
  /** Role bit set (roles.ts). */
  roles: number
  issuedAt: number
  expiresAt: number
  /** The admin's peer id that signed it; undefined = the federation's root key. */
  issuer?: string
  /** Hex sha256 of `bytes`: identity for the roster digest. */
  hash: string
  /** The encoded `Certificate` (body + signature), re-sent as it is. */
  bytes: Uint8Array
}

export interface MemberRevocation {
  subject: string
  revokedAt: number
  issuer?: string
  hash: string
  bytes: Uint8Array
}

export type NotMemberReason = 'unknown' | 'expired' | 'not-yet-valid' | 'revoked' | 'issuer-invalid'

export type Standing =
  | { member: true, roles: number, name: string, expiresAt: number, issuer?: string }
  | { member: false, reason: NotMemberReason }

export interface RosterLimits {
  /** Certificates kept at most. Default 4,096 (the wire limit of a Roster). */
  maxCertificates?: number
  /** Certificates kept per subject at most. Default 4. */
  maxPerSubject?: number
  /** Certificates (and revocations) one admin's signature may fill at most; the root's are not limited. Default 1,024. */
  maxPerIssuer?: number
  /** Revocations signed by admins kept at most (the root's are always kept). Default 4,096. */
  maxRevocations?: number
  /** Issuers followed from a certificate towards the root at most. Default 8. */
  maxChainDepth?: number
  /** A certificate issued up to this far in the future (the issuer's clock) is accepted. Default 60 s. */
  maxSkewMs?: number
}

export const DEFAULT_MAX_CERTIFICATES = 4_096
export const DEFAULT_MAX_PER_SUBJECT = 4
export const DEFAULT_MAX_PER_ISSUER = 1_024
export const DEFAULT_MAX_REVOCATIONS = 4_096
export const DEFAULT_MAX_CHAIN_DEPTH = 8
export const DEFAULT_MAX_SKEW_MS = 60 * SECOND

/** `full`: no room (this issuer's share, or the roster); `kept`: already held or not better. */
export type AddOutcome = 'added' | 'kept' | 'full'

type Evaluated = { ok: true, cert: MemberCertificate, expiresAt: number } | { ok: false, reason: NotMemberReason }

export class Roster {
  private readonly certs = new Map<string, MemberCertificate[]>()
  private readonly revs = new Map<string, MemberRevocation>()
  private readonly hashes = new Set<string>()
  private readonly perIssuer = new Map<string, number>()
  private certCount = 0
  private adminRevocations = 0
  private readonly maxCertificates: number
  private readonly maxPerSubject: number
  private readonly maxPerIssuer: number
  private readonly maxRevocations: number
  private readonly maxChainDepth: number
  private readonly maxSkewMs: number
  private cachedDigest: Uint8Array | undefined
  private evicted: MemberCertificate[] = []

  constructor (limits: RosterLimits = {}) {
    this.maxCertificates = limits.maxCertificates ?? DEFAULT_MAX_CERTIFICATES
    this.maxPerSubject = limits.maxPerSubject ?? DEFAULT_MAX_PER_SUBJECT
    this.maxPerIssuer = limits.maxPerIssuer ?? DEFAULT_MAX_PER_ISSUER
    this.maxRevocations = limits.maxRevocations ?? DEFAULT_MAX_REVOCATIONS
    this.maxChainDepth = limits.maxChainDepth ?? DEFAULT_MAX_CHAIN_DEPTH
    this.maxSkewMs = limits.maxSkewMs ?? DEFAULT_MAX_SKEW_MS
  }

  get size (): number {
    return this.certCount
  }

  /**
   * Keep a certificate. Up to `maxPerSubject` are kept per subject; beyond, the one that is not
   * valid now, else the one that expires first, makes room. When the roster is full, certificates
   * that are not valid now (revoked, expired, orphaned by their issuer) make room first.
   */
  addCertificate (cert: MemberCertificate, now: number): AddOutcome {
    if (this.hashes.has(cert.hash)) return 'kept'
    if (cert.issuer != null && (this.perIssuer.get(cert.issuer) ?? 0) >= this.maxPerIssuer) return 'full'
    const list = this.certs.get(cert.subject) ?? []
    if (list.length >= this.maxPerSubject) {
      const worst = this.worst([...list, cert], now)
      if (worst === cert) return 'kept'
      this.remove(worst)
      this.evicted.push(worst)
    } else if (this.certCount >= this.maxCertificates) {
      const victim = this.evictable(now)
      if (victim == null) return 'full'
      this.remove(victim)
      this.evicted.push(victim)
    }
    const current = this.certs.get(cert.subject) ?? []
    current.push(cert)
    this.certs.set(cert.subject, current)
    this.hashes.add(cert.hash)
    this.certCount++
    if (cert.issuer != null) this.perIssuer.set(cert.issuer, (this.perIssuer.get(cert.issuer) ?? 0) + 1)
    this.cachedDigest = undefined
    return 'added'
  }

  /**
   * Revocations are permanent; the first one seen for a subject is kept. The root's are always
   * kept; admins' count against their issuer's share and the roster's.
   */
  addRevocation (rev: MemberRevocation): AddOutcome {
    if (this.revs.has(rev.subject)) return 'kept'
    if (rev.issuer != null) {
      if ((this.perIssuer.get(rev.issuer) ?? 0) >= this.maxPerIssuer || this.adminRevocations >= this.maxRevocations) return 'full'
      this.perIssuer.set(rev.issuer, (this.perIssuer.get(rev.issuer) ?? 0) + 1)
      this.adminRevocations++
    }
    this.revs.set(rev.subject, rev)
    this.cachedDigest = undefined
    return 'added'
  }

  isRevoked (subject: string): boolean {
    return this.revs.has(subject)
  }

  revocation (subject: string): MemberRevocation | undefined {
    return this.revs.get(subject)
  }

  /** Certificates dropped to make room since the last call (to delete from storage). */
  takeEvicted (): MemberCertificate[] {
    const out = this.evicted
    this.evicted = []
    return out
  }

  /** Is this exact certificate (by hash) kept? */
  holds (hash: string): boolean {
    return this.hashes.has(hash)
  }

  /** The subject's certificate that counts now (else the one expiring last, for display). */
  certificate (subject: string, now: number): MemberCertificate | undefined {
    const e = this.evaluate(subject, now, 0)
    if (e.ok) return e.cert
    return [...(this.certs.get(subject) ?? [])].sort((a, b) => b.expiresAt - a.expiresAt)[0]
  }

  /** Is `subject` a member at `now`, and with which roles? */
  standing (subject: string, now: number): Standing {
    const e = this.evaluate(subject, now, 0)
    if (!e.ok) return { member: false, reason: e.reason }
    return { member: true, roles: e.cert.roles, name: e.cert.name, expiresAt: e.expiresAt, issuer: e.cert.issuer }
  }

  /** Does `subject` hold `role` now? */
  allows (subject: string, role: number, now: number): boolean {
    const s = this.standing(subject, now)
    return s.member && hasRole(s.roles, role)
  }

  /**
   * Could `issuer` (undefined = the root) revoke at `at`? An admin whose certificate was valid
   * then, and who had not been revoked before it: a revocation an admin signed stays in force
   * after the admin's own certificate lapses or is revoked, on every node alike.
   */
  couldRevoke (issuer: string | undefined, at: number, now: number, depth = 0): boolean {
    if (issuer == null) return true
    if (at > now + this.maxSkewMs || depth >= this.maxChainDepth) return false
    const own = this.revs.get(issuer)
    if (own != null && own.revokedAt <= at) return false
    return (this.certs.get(issuer) ?? []).some(c => hasRole(c.roles, Role.admin) && c.issuedAt - this.maxSkewMs <= at && at < c.expiresAt &&
      c.issuer !== issuer && (c.issuer == null || this.couldRevoke(c.issuer, Math.min(at, c.issuedAt), now, depth + 1)))
  }

  /** The subject's certificate that counts, then its issuers' towards the root (what a Hello carries). */
  chain (subject: string, now: number): MemberCertificate[] {
    const out: MemberCertificate[] = []
    let cert = this.certificate(subject, now)
    while (cert != null && out.length < this.maxChainDepth) {
      out.push(cert)
      if (cert.issuer == null || out.some(c => c.subject === cert?.issuer)) break
      cert = this.certificate(cert.issuer, now)
    }
    return out
  }

  certificates (): MemberCertificate[] {
    return [...this.certs.values()].flat()
  }

  /** One certificate per subject (the one that counts now), for listings. */
  subjects (): string[] {
    return [...this.certs.keys()]
  }

  revocations (): MemberRevocation[] {
    return [...this.revs.values()]
  }

  /**
   * sha256 over every kept certificate and revocation, in a fixed order: two nodes with the
   * same digest hold the same roster, so a handshake exchanges rosters only when they differ.
   */
  digest (): Uint8Array {
    if (this.cachedDigest == null) {
      const h = createHash('sha256')
      for (const c of this.certificates().map(c => `c${c.subject}${c.hash}`).sort()) h.update(c)
      for (const r of [...this.revs.values()].map(r => `r${r.subject}${r.hash}`).sort()) h.update(r)
      this.cachedDigest = new Uint8Array(h.digest())
    }
    return this.cachedDigest
  }

  /** The subject's best valid certificate: the root's first, then the one that lasts longest. */
  private evaluate (subject: string, now: number, depth: number): Evaluated {
    if (this.revs.has(subject)) return { ok: false, reason: 'revoked' }
    const list = this.certs.get(subject)
    if (list == null || list.length === 0) return { ok: false, reason: 'unknown' }
    let best: Evaluated | undefined
    let why: NotMemberReason = 'unknown'
    for (const cert of list) {
      const e = this.evaluateOne(cert, now, depth)
      if (!e.ok) {
        why = rank(e.reason) > rank(why) ? e.reason : why
        continue
      }
      if (best == null || !best.ok || isPreferred(e, best)) best = e
    }
    return best ?? { ok: false, reason: why }
  }

  private evaluateOne (cert: MemberCertificate, now: number, depth: number): Evaluated {
    if (now >= cert.expiresAt) return { ok: false, reason: 'expired' }
    if (cert.issuedAt - this.maxSkewMs > now) return { ok: false, reason: 'not-yet-valid' }
    if (cert.issuer == null) return { ok: true, cert, expiresAt: cert.expiresAt }
    if (cert.issuer === cert.subject || depth >= this.maxChainDepth) return { ok: false, reason: 'issuer-invalid' }
    const issuer = this.evaluate(cert.issuer, now, depth + 1)
    if (!issuer.ok || !hasRole(issuer.cert.roles, Role.admin)) return { ok: false, reason: 'issuer-invalid' }
    return { ok: true, cert, expiresAt: Math.min(cert.expiresAt, issuer.expiresAt) }
  }

  /** Of a subject's certificates, the one to drop: not valid now, else the one that ends first. */
  private worst (list: MemberCertificate[], now: number): MemberCertificate {
    const invalid = list.find(c => !this.evaluateOne(c, now, 0).ok)
    if (invalid != null) return invalid
    return [...list].sort((a, b) => a.expiresAt - b.expiresAt || (a.hash < b.hash ? -1 : 1))[0]
  }

  /** A certificate the full roster may drop: a revoked subject's, then one not valid now. */
  private evictable (now: number): MemberCertificate | undefined {
    for (const [subject, list] of this.certs) if (this.revs.has(subject)) return list[0]
    for (const list of this.certs.values()) {
      const invalid = list.find(c => !this.evaluateOne(c, now, 0).ok)
      if (invalid != null) return invalid
    }
    return undefined
  }

  private remove (cert: MemberCertificate): void {
    const list = this.certs.get(cert.subject)
    if (list == null) return
    const i = list.indexOf(cert)
    if (i < 0) return
    list.splice(i, 1)
    if (list.length === 0) this.certs.delete(cert.subject)
    this.hashes.delete(cert.hash)
    this.certCount--
    if (cert.issuer != null) {
      const n = (this.perIssuer.get(cert.issuer) ?? 1) - 1
      if (n <= 0) this.perIssuer.delete(cert.issuer)
      else this.perIssuer.set(cert.issuer, n)
    }
    this.cachedDigest = undefined
  }
}

/** Which reason explains best why none of a subject's certificates is valid. */
function rank (reason: NotMemberReason): number {
  return ['unknown', 'not-yet-valid', 'expired', 'issuer-invalid', 'revoked'].indexOf(reason)
}

function isPreferred (a: Evaluated & { ok: true }, b: Evaluated & { ok: true }): boolean {
  const aRoot = a.cert.issuer == null
  const bRoot = b.cert.issuer == null
  if (aRoot !== bRoot) return aRoot
  if (a.expiresAt !== b.expiresAt) return a.expiresAt > b.expiresAt
  return a.cert.hash > b.cert.hash
}
