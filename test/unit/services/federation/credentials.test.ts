import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Role } from '../../../../src/core/federation/roles.js'
import { InvalidCredentialError, federationIdentity, issueCertificate, issueRevocation, openCertificate, openRevocation } from '../../../../src/services/federation/credentials.js'
import { Certificate, CertificateBody } from '../../../../src/wire/federation.js'

const NOW = 1_800_000_000_000

async function setup (): Promise<{ fed: ReturnType<typeof federationIdentity>, root: Awaited<ReturnType<typeof generateKeyPair>>, admin: Awaited<ReturnType<typeof generateKeyPair>>, adminId: string, memberId: string }> {
  const root = await generateKeyPair('Ed25519')
  const admin = await generateKeyPair('Ed25519')
  const member = await generateKeyPair('Ed25519')
  return { fed: federationIdentity(root.publicKey, 'test'), root, admin, adminId: peerIdFromPrivateKey(admin).toString(), memberId: peerIdFromPrivateKey(member).toString() }
}

describe('certificates and revocations', () => {
  it('round-trip: what the root or an admin signs opens to the same fields', async () => {
    const { fed, root, admin, adminId, memberId } = await setup()
    const byRoot = await issueCertificate(fed, root, undefined, { subject: adminId, name: 'admin', roles: Role.admin | Role.submit, issuedAt: NOW, expiresAt: NOW + 1_000 })
    const opened = await openCertificate(fed, byRoot.bytes)
    expect(opened).toMatchObject({ subject: adminId, name: 'admin', roles: Role.admin | Role.submit, issuedAt: NOW, expiresAt: NOW + 1_000, issuer: undefined, hash: byRoot.hash })
    const byAdmin = await issueCertificate(fed, admin, adminId, { subject: memberId, name: 'm', roles: Role.serve, issuedAt: NOW, expiresAt: NOW + 1_000 })
    expect((await openCertificate(fed, byAdmin.bytes)).issuer).toBe(adminId)
    const rev = await issueRevocation(fed, admin, adminId, memberId, NOW)
    expect(await openRevocation(fed, rev.bytes)).toMatchObject({ subject: memberId, issuer: adminId, revokedAt: NOW })
  })

  it('refuses a certificate of another federation, a wrong signer, a tampered body', async () => {
    const { fed, root, admin, adminId, memberId } = await setup()
    const other = federationIdentity((await generateKeyPair('Ed25519')).publicKey, 'other')
    const good = await issueCertificate(fed, root, undefined, { subject: memberId, name: 'm', roles: Role.serve, issuedAt: NOW, expiresAt: NOW + 1_000 })
    await expect(openCertificate(other, good.bytes)).rejects.toThrow(/another federation/)
    // Claims the root signed it, but the admin did (issuing checks, so it cannot even be issued).
    await expect(issueCertificate(fed, admin, undefined, { subject: memberId, name: 'm', roles: Role.admin, issuedAt: NOW, expiresAt: NOW + 1_000 })).rejects.toThrow(/signature/)
    const liarBody = CertificateBody.encode({ federation: fed.hash as Uint8Array<ArrayBuffer>, subject: peerIdFromString(memberId).toMultihash().bytes as Uint8Array<ArrayBuffer>, name: 'm', roles: Role.admin, issuedAt: NOW, expiresAt: NOW + 1_000, issuer: new Uint8Array() })
    const liar = Certificate.encode({ body: liarBody, signature: await admin.sign(new Uint8Array([...new TextEncoder().encode('fedmesh federation certificate v1\n'), ...liarBody])) as Uint8Array<ArrayBuffer> })
    await expect(openCertificate(fed, liar)).rejects.toThrow(/signature/)
    // Claims another admin signed it.
    await expect(issueCertificate(fed, admin, memberId, { subject: adminId, name: 'x', roles: Role.admin, issuedAt: NOW, expiresAt: NOW + 1_000 })).rejects.toThrow(/signature/)
    const wire = Certificate.decode(good.bytes)
    const body = CertificateBody.decode(wire.body)
    const tampered = Certificate.encode({ body: CertificateBody.encode({ ...body, roles: Role.admin }), signature: wire.signature })
    await expect(openCertificate(fed, tampered)).rejects.toThrow(/signature/)
  })

  it('never throws anything but InvalidCredentialError on arbitrary bytes (property)', async () => {
    const { fed } = await setup()
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 2_048 }), async (bytes) => {
      for (const open of [openCertificate, openRevocation]) {
        try {
          await open(fed, bytes)
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidCredentialError)
        }
      }
    }), { numRuns: 500 })
  })

  it('a body that decodes but breaks a bound is refused (property over random fields)', async () => {
    const { fed, root } = await setup()
    await fc.assert(fc.asyncProperty(
      fc.record({ roles: fc.integer({ min: 0, max: 2 ** 31 - 1 }), name: fc.string({ maxLength: 100 }), issuedAt: fc.integer({ min: 0, max: 2 ** 48 }), ttl: fc.integer({ min: -10, max: 10 }) }),
      async (f) => {
        const body = CertificateBody.encode({ federation: fed.hash as Uint8Array<ArrayBuffer>, subject: peerIdFromPrivateKey(root).toMultihash().bytes as Uint8Array<ArrayBuffer>, name: f.name, roles: f.roles, issuedAt: f.issuedAt, expiresAt: f.issuedAt + f.ttl, issuer: new Uint8Array() })
        const signature = await root.sign(new Uint8Array([...new TextEncoder().encode('fedmesh federation certificate v1\n'), ...body]))
        const bytes = Certificate.encode({ body, signature: signature as Uint8Array<ArrayBuffer> })
        const valid = (f.roles & ~15) === 0 && f.ttl > 0 && [...f.name].length <= 64 && !/\p{Cc}/u.test(f.name)
        if (valid) expect((await openCertificate(fed, bytes)).roles).toBe(f.roles)
        else await expect(openCertificate(fed, bytes)).rejects.toBeInstanceOf(InvalidCredentialError)
      }), { numRuns: 200 })
  })
})
