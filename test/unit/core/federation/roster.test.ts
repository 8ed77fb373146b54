import { describe, expect, it } from 'vitest'
import { Role } from '../../../../src/core/federation/roles.js'
import { Roster } from '../../../../src/core/federation/roster.js'
import type { MemberCertificate, MemberRevocation } from '../../../../src/core/federation/roster.js'

const NOW = 1_800_000_000_000
const ALL = Role.submit | Role.serve | Role.cacheWrite | Role.admin

function cert (subject: string, fields: Partial<MemberCertificate> = {}): MemberCertificate {
  return { subject, name: subject, roles: Role.submit | Role.serve, issuedAt: NOW - 1_000, expiresAt: NOW + 60_000, hash: `${subject}-${fields.expiresAt ?? 0}-${fields.issuer ?? 'root'}`, bytes: new Uint8Array(), ...fields }
}

function revocation (subject: string, issuer?: string): MemberRevocation {
  return { subject, revokedAt: NOW, issuer, hash: `rev-${subject}`, bytes: new Uint8Array() }
}

describe('roster standing', () => {
  it('a root-signed certificate makes a member with its roles until it expires', () => {
    const r = new Roster()
    r.addCertificate(cert('a'), NOW)
    expect(r.standing('a', NOW)).toMatchObject({ member: true, roles: Role.submit | Role.serve })
    expect(r.allows('a', Role.serve, NOW)).toBe(true)
    expect(r.allows('a', Role.admin, NOW)).toBe(false)
    expect(r.standing('a', NOW + 60_000)).toEqual({ member: false, reason: 'expired' })
    expect(r.standing('nobody', NOW)).toEqual({ member: false, reason: 'unknown' })
  })

  it('a certificate issued in the future beyond the skew bound is not valid yet', () => {
    const r = new Roster({ maxSkewMs: 1_000 })
    r.addCertificate(cert('a', { issuedAt: NOW + 5_000 }), NOW)
    expect(r.standing('a', NOW)).toEqual({ member: false, reason: 'not-yet-valid' })
  })

  it('an admin-issued certificate holds while its issuer is a valid admin, and falls with it', () => {
    const r = new Roster()
    r.addCertificate(cert('admin', { roles: ALL }), NOW)
    r.addCertificate(cert('m', { issuer: 'admin' }), NOW)
    r.addCertificate(cert('forged', { issuer: 'm' }), NOW)
    expect(r.standing('m', NOW).member).toBe(true)
    expect(r.standing('forged', NOW)).toEqual({ member: false, reason: 'issuer-invalid' })
    r.addRevocation(revocation('admin'))
    expect(r.standing('admin', NOW)).toEqual({ member: false, reason: 'revoked' })
    expect(r.standing('m', NOW)).toEqual({ member: false, reason: 'issuer-invalid' })
  })

  it('issuer cycles and over-long chains are refused, not followed forever', () => {
    const r = new Roster({ maxChainDepth: 3 })
    r.addCertificate(cert('x', { roles: ALL, issuer: 'y' }), NOW)
    r.addCertificate(cert('y', { roles: ALL, issuer: 'x' }), NOW)
    expect(r.standing('x', NOW)).toEqual({ member: false, reason: 'issuer-invalid' })
    expect(r.chain('x', NOW).map(c => c.subject)).toEqual(['x', 'y'])
  })

  it('keeps a few certificates per subject and counts the valid one that lasts longest, the same on every node', () => {
    const r1 = new Roster()
    const r2 = new Roster()
    const early = cert('a', { expiresAt: NOW + 10_000 })
    const late = cert('a', { expiresAt: NOW + 20_000, roles: ALL })
    expect(r1.addCertificate(early, NOW)).toBe('added')
    expect(r1.addCertificate(late, NOW)).toBe('added')
    expect(r2.addCertificate(late, NOW)).toBe('added')
    expect(r2.addCertificate(early, NOW)).toBe('added')
    expect(r1.certificate('a', NOW)).toBe(late)
    expect(Buffer.from(r1.digest()).equals(Buffer.from(r2.digest()))).toBe(true)
    expect(r1.addCertificate(late, NOW)).toBe('kept')
  })

  it('a newer certificate that is not valid (its issuer revoked) does not lock the member out', () => {
    const r = new Roster()
    r.addCertificate(cert('rogue', { roles: ALL }), NOW)
    r.addCertificate(cert('m', { issuer: 'rogue', expiresAt: NOW + 365 * 86_400_000 }), NOW)
    r.addRevocation(revocation('rogue'))
    r.addCertificate(cert('m', { expiresAt: NOW + 30_000 }), NOW)
    expect(r.standing('m', NOW)).toMatchObject({ member: true, expiresAt: NOW + 30_000 })
  })

  it('a certificate never outlives its issuer\'s', () => {
    const r = new Roster()
    r.addCertificate(cert('admin', { roles: ALL, expiresAt: NOW + 5_000 }), NOW)
    r.addCertificate(cert('m', { issuer: 'admin', expiresAt: NOW + 50_000 }), NOW)
    expect(r.standing('m', NOW)).toMatchObject({ member: true, expiresAt: NOW + 5_000 })
    expect(r.standing('m', NOW + 5_000)).toEqual({ member: false, reason: 'issuer-invalid' })
  })

  it('one admin fills only its share of the roster; root-signed revocations are always kept', () => {
    const r = new Roster({ maxPerIssuer: 2, maxRevocations: 2 })
    r.addCertificate(cert('admin', { roles: ALL }), NOW)
    expect(r.addCertificate(cert('x1', { issuer: 'admin' }), NOW)).toBe('added')
    expect(r.addCertificate(cert('x2', { issuer: 'admin' }), NOW)).toBe('added')
    expect(r.addCertificate(cert('x3', { issuer: 'admin' }), NOW)).toBe('full')
    expect(r.addRevocation(revocation('y1', 'other'))).toBe('added')
    expect(r.addRevocation(revocation('y2', 'other'))).toBe('added')
    expect(r.addRevocation(revocation('y3', 'other'))).toBe('full')
    expect(r.addRevocation(revocation('admin'))).toBe('added')
    expect(r.standing('admin', NOW)).toEqual({ member: false, reason: 'revoked' })
  })

  it('a revocation counts if its signer was an admin when it signed, whatever happened since', () => {
    const r = new Roster()
    r.addCertificate(cert('admin', { roles: ALL, issuedAt: NOW - 10_000, expiresAt: NOW + 10_000 }), NOW)
    expect(r.couldRevoke('admin', NOW - 5_000, NOW + 60_000)).toBe(true)
    expect(r.couldRevoke('admin', NOW + 20_000, NOW + 60_000)).toBe(false)
    expect(r.couldRevoke('nobody', NOW, NOW)).toBe(false)
    expect(r.couldRevoke(undefined, NOW, NOW)).toBe(true)
    r.addRevocation({ ...revocation('admin'), revokedAt: NOW - 6_000 })
    expect(r.couldRevoke('admin', NOW - 5_000, NOW)).toBe(false)
  })

  it('revocations are permanent and change the digest', () => {
    const r = new Roster()
    r.addCertificate(cert('a'), NOW)
    const before = Buffer.from(r.digest())
    expect(r.addRevocation(revocation('a'))).toBe('added')
    expect(r.addRevocation(revocation('a'))).toBe('kept')
    expect(Buffer.from(r.digest()).equals(before)).toBe(false)
    expect(r.standing('a', NOW)).toEqual({ member: false, reason: 'revoked' })
  })

  it('is bounded: when full, certificates that are not valid make room, valid ones never', () => {
    const r = new Roster({ maxCertificates: 2 })
    r.addCertificate(cert('a', { expiresAt: NOW - 1 }), NOW)
    r.addCertificate(cert('b'), NOW)
    expect(r.addCertificate(cert('c'), NOW)).toBe('added')
    expect(r.certificate('a', NOW)).toBeUndefined()
    expect(r.takeEvicted().map(c => c.subject)).toEqual(['a'])
    expect(r.addCertificate(cert('d'), NOW)).toBe('full')
  })
})
