/**
 * A federation's roster: the certificates and revocations a node knows, and the one decision
 * everything else asks of it — is this peer a member now, and with which roles?
 *
 * Pure: entries arrive here already decoded and signature-checked (services/federation/
 * credentials.ts); time is passed in. A certificate is valid while it has not expired, its
 * subject is not revoked, and its issuer is the root key or a member that is itself a valid
 * admin now (recursively, up to `maxChainDepth`). So revoking an admin also invalidates what it
 * issued — the members it invited need a certificate from another admin.
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
  /** Certificates kept at most (one per subject). Default 4,096 (the wire limit of a Roster). */
  maxCertificates?: number
  /** Revocations kept at most. Default 4,096. */
  maxRevocations?: number
  /** Issuers followed from a certificate towards the root at most. Default 8. */
  maxChainDepth?: number
  /** A certificate issued up to this far in the future (the issuer's clock) is accepted. Default 60 s. */
  maxSkewMs?: number
}

export const DEFAULT_MAX_CERTIFICATES = 4_096
export const DEFAULT_MAX_REVOCATIONS = 4_096
export const DEFAULT_MAX_CHAIN_DEPTH = 8
export const DEFAULT_MAX_SKEW_MS = 60 * SECOND

export type AddOutcome = 'added' | 'kept' | 'full'

export class Roster {
  private readonly certs = new Map<string, MemberCertificate>()
  private readonly revs = new Map<string, MemberRevocation>()
  /** Hashes of the kept certificates. */
  private readonly hashes = new Set<string>()
  private readonly maxCertificates: number
  private readonly maxRevocations: number
  private readonly maxChainDepth: number
  private readonly maxSkewMs: number
  private cachedDigest: Uint8Array | undefined

  constructor (limits: RosterLimits = {}) {
    this.maxCertificates = limits.maxCertificates ?? DEFAULT_MAX_CERTIFICATES
    this.maxRevocations = limits.maxRevocations ?? DEFAULT_MAX_REVOCATIONS
    this.maxChainDepth = limits.maxChainDepth ?? DEFAULT_MAX_CHAIN_DEPTH
    this.maxSkewMs = limits.maxSkewMs ?? DEFAULT_MAX_SKEW_MS
  }

  get size (): number {
    return this.certs.size
  }

  /**
   * Keep the certificate if it is the subject's best: the one that expires last (ties: issued
   * last, then the larger hash, so every node keeps the same one). When full, certificates that
   * expired longest ago make room; `now` says which.
   */
  addCertificate (cert: MemberCertificate, now: number): AddOutcome {
    const current = this.certs.get(cert.subject)
    if (current != null) {
      if (!isBetter(cert, current)) return 'kept'
    } else if (this.certs.size >= this.maxCertificates && !this.evictExpired(now)) {
      return 'full'
    }
    if (current != null) this.hashes.delete(current.hash)
    this.certs.set(cert.subject, cert)
    this.hashes.add(cert.hash)
    this.cachedDigest = undefined
    return 'added'
  }

  /** Revocations are permanent; the first one seen for a subject is kept. */
  addRevocation (rev: MemberRevocation): AddOutcome {
    if (this.revs.has(rev.subject)) return 'kept'
    if (this.revs.size >= this.maxRevocations) return 'full'
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

  /** Is this exact certificate (by hash) the one kept for its subject? */
  holds (hash: string): boolean {
    return this.hashes.has(hash)
  }

  certificate (subject: string): MemberCertificate | undefined {
    return this.certs.get(subject)
  }

  /** Is `subject` a member at `now`, and with which roles? */
  standing (subject: string, now: number): Standing {
    return this.evaluate(subject, now, 0)
  }

  /** Does `subject` hold `role` now? */
  allows (subject: string, role: number, now: number): boolean {
    const s = this.standing(subject, now)
    return s.member && hasRole(s.roles, role)
  }

  /** The subject's certificate, then its issuers' towards the root (what a Hello carries). */
  chain (subject: string): MemberCertificate[] {
    const out: MemberCertificate[] = []
    let cert = this.certs.get(subject)
    while (cert != null && out.length < this.maxChainDepth) {
      out.push(cert)
      if (cert.issuer == null || out.some(c => c.subject === cert?.issuer)) break
      cert = this.certs.get(cert.issuer)
    }
    return out
  }

  certificates (): MemberCertificate[] {
    return [...this.certs.values()]
  }

  revocations (): MemberRevocation[] {
    return [...this.revs.values()]
  }

  /**
   * sha256 over every kept certificate and revocation, in subject order: two nodes with the
   * same digest hold the same roster, so a handshake exchanges rosters only when they differ.
   */
  digest (): Uint8Array {
    if (this.cachedDigest == null) {
      const h = createHash('sha256')
      for (const c of [...this.certs.values()].sort(bySubject)) h.update(`c${c.hash}`)
      for (const r of [...this.revs.values()].sort(bySubject)) h.update(`r${r.hash}`)
      this.cachedDigest = new Uint8Array(h.digest())
    }
    return this.cachedDigest
  }

  private evaluate (subject: string, now: number, depth: number): Standing {
    if (this.revs.has(subject)) return { member: false, reason: 'revoked' }
    const cert = this.certs.get(subject)
    if (cert == null) return { member: false, reason: 'unknown' }
    if (now >= cert.expiresAt) return { member: false, reason: 'expired' }
    if (cert.issuedAt - this.maxSkewMs > now) return { member: false, reason: 'not-yet-valid' }
    if (cert.issuer != null) {
      if (cert.issuer === subject || depth >= this.maxChainDepth) return { member: false, reason: 'issuer-invalid' }
      const issuer = this.evaluate(cert.issuer, now, depth + 1)
      if (!issuer.member || !hasRole(issuer.roles, Role.admin)) return { member: false, reason: 'issuer-invalid' }
    }
    return { member: true, roles: cert.roles, name: cert.name, expiresAt: cert.expiresAt, issuer: cert.issuer }
  }

  private evictExpired (now: number): boolean {
    let oldest: MemberCertificate | undefined
    for (const c of this.certs.values()) {
      if (c.expiresAt <= now && (oldest == null || c.expiresAt < oldest.expiresAt)) oldest = c
    }
    if (oldest == null) return false
    this.certs.delete(oldest.subject)
    this.hashes.delete(oldest.hash)
    return true
  }
}

function isBetter (a: MemberCertificate, b: MemberCertificate): boolean {
  if (a.expiresAt !== b.expiresAt) return a.expiresAt > b.expiresAt
  if (a.issuedAt !== b.issuedAt) return a.issuedAt > b.issuedAt
  return a.hash > b.hash
}

function bySubject (a: { subject: string }, b: { subject: string }): number {
  return a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0
}
