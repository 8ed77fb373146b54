/**
 * Certificates and revocations on the wire: signing as the root key or an admin, and opening
 * (decode within limits, check the federation, verify the signature) before anything reaches the
 * roster. A peer's certificate is only ever believed for the peer id Noise authenticated; that
 * check is the handshake's (handshake.ts).
 */
import { createHash } from 'node:crypto'
import { publicKeyToProtobuf, publicKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromMultihash, peerIdFromString } from '@libp2p/peer-id'
import { base32 } from 'multiformats/bases/base32'
import * as Digest from 'multiformats/hashes/digest'
import { isValidRoleSet } from '../../core/federation/roles.js'
import { Certificate, CertificateBody, Revocation, RevocationBody } from '../../wire/federation.js'
import type { MemberCertificate, MemberRevocation } from '../../core/federation/roster.js'
import type { PrivateKey, PublicKey } from '@libp2p/interface'

export const MAX_CERTIFICATE_BYTES = 1024
export const MAX_NAME_CHARS = 64
const MAX_PEER_ID_BYTES = 64
const MAX_SIGNATURE_BYTES = 128
const CERTIFICATE_DOMAIN = new TextEncoder().encode('fedmesh federation certificate v1\n')
const REVOCATION_DOMAIN = new TextEncoder().encode('fedmesh federation revocation v1\n')

/** A certificate or revocation that does not decode, is out of bounds, or is not genuine. */
export class InvalidCredentialError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'InvalidCredentialError'
  }
}

/** Who a federation is: its root public key, and the id derived from it. */
export interface FederationIdentity {
  rootKey: PublicKey
  /** sha256 of the root key's protobuf form: what certificates name. */
  hash: Uint8Array
  /** base32 of the first 16 bytes of `hash`: the id users see and the DHT protocol carries. */
  id: string
  name: string
}

export function federationIdentity (rootKey: PublicKey, name: string): FederationIdentity {
  const hash = new Uint8Array(createHash('sha256').update(publicKeyToProtobuf(rootKey)).digest())
  return { rootKey, hash, id: base32.baseEncode(hash.subarray(0, 16)), name }
}

/** The federation named by a root key in protobuf form (from a Hello or a join answer). */
export function federationFromRootKey (bytes: Uint8Array, name: string): FederationIdentity {
  let key: PublicKey
  try {
    key = publicKeyFromProtobuf(bytes)
  } catch {
    throw new InvalidCredentialError('the root key does not decode')
  }
  if (key.type !== 'Ed25519') throw new InvalidCredentialError('the root key is not Ed25519')
  return federationIdentity(key, name)
}

export interface CertificateFields {
  subject: string
  name: string
  roles: number
  issuedAt: number
  expiresAt: number
}

/** Sign a certificate with the root key (`issuer` undefined) or as an admin (its peer id). */
export async function issueCertificate (fed: FederationIdentity, signer: PrivateKey, issuer: string | undefined, fields: CertificateFields): Promise<MemberCertificate> {
  const body = CertificateBody.encode({
    federation: fed.hash as Uint8Array<ArrayBuffer>,
    subject: peerIdBytes(fields.subject),
    name: fields.name,
    roles: fields.roles,
    issuedAt: fields.issuedAt,
    expiresAt: fields.expiresAt,
    issuer: issuer == null ? new Uint8Array(0) : peerIdBytes(issuer)
  })
  const signature = await signer.sign(concat(CERTIFICATE_DOMAIN, body))
  const bytes = Certificate.encode({ body, signature: signature as Uint8Array<ArrayBuffer> })
  // What this node issues must open everywhere: checked by the same rules every receiver applies.
  return await openCertificate(fed, bytes)
}

/** Sign a revocation of `subject`, as the root key or an admin. */
export async function issueRevocation (fed: FederationIdentity, signer: PrivateKey, issuer: string | undefined, subject: string, revokedAt: number): Promise<MemberRevocation> {
  const body = RevocationBody.encode({
    federation: fed.hash as Uint8Array<ArrayBuffer>,
    subject: peerIdBytes(subject),
    revokedAt,
    issuer: issuer == null ? new Uint8Array(0) : peerIdBytes(issuer)
  })
  const signature = await signer.sign(concat(REVOCATION_DOMAIN, body))
  const bytes = Revocation.encode({ body, signature: signature as Uint8Array<ArrayBuffer> })
  return { subject, revokedAt, issuer, hash: sha256Hex(bytes), bytes }
}

/**
 * Decode and verify a certificate of `fed`. Throws InvalidCredentialError. The issuer's own
 * standing (is it an admin now?) is the roster's question, not this one's.
 */
export async function openCertificate (fed: FederationIdentity, cert: Certificate | Uint8Array): Promise<MemberCertificate> {
  const wire = cert instanceof Uint8Array ? decode(Certificate, cert, MAX_CERTIFICATE_BYTES + 256, 'certificate') : cert
  if (wire.body.byteLength > MAX_CERTIFICATE_BYTES) throw new InvalidCredentialError('certificate too large')
  const body = decode(CertificateBody, wire.body, MAX_CERTIFICATE_BYTES, 'certificate body')
  if (!sameBytes(body.federation, fed.hash)) throw new InvalidCredentialError('certificate of another federation')
  if (!isValidRoleSet(body.roles)) throw new InvalidCredentialError('certificate has unknown roles')
  if ([...body.name].length > MAX_NAME_CHARS || /\p{Cc}/u.test(body.name)) throw new InvalidCredentialError('certificate name is too long or has control characters')
  if (!Number.isSafeInteger(body.issuedAt) || !Number.isSafeInteger(body.expiresAt) || body.expiresAt <= body.issuedAt) throw new InvalidCredentialError('certificate validity is out of range')
  await verify(fed, body.issuer, CERTIFICATE_DOMAIN, wire, 'certificate')
  const bytes = cert instanceof Uint8Array ? cert : Certificate.encode(wire)
  return openCertificateUnchecked(bytes, wire.body)
}

/** Decode and verify a revocation of `fed`. Throws InvalidCredentialError. */
export async function openRevocation (fed: FederationIdentity, rev: Revocation | Uint8Array): Promise<MemberRevocation> {
  const wire = rev instanceof Uint8Array ? decode(Revocation, rev, MAX_CERTIFICATE_BYTES, 'revocation') : rev
  const body = decode(RevocationBody, wire.body, MAX_CERTIFICATE_BYTES, 'revocation body')
  if (!sameBytes(body.federation, fed.hash)) throw new InvalidCredentialError('revocation of another federation')
  if (!Number.isSafeInteger(body.revokedAt)) throw new InvalidCredentialError('revocation time is out of range')
  await verify(fed, body.issuer, REVOCATION_DOMAIN, wire, 'revocation')
  const bytes = rev instanceof Uint8Array ? rev : Revocation.encode(wire)
  return { subject: peerIdText(body.subject), revokedAt: body.revokedAt, issuer: body.issuer.byteLength === 0 ? undefined : peerIdText(body.issuer), hash: sha256Hex(bytes), bytes }
}

/** The hash a kept certificate is known by (hex sha256 of its encoded form). */
export function certificateHash (cert: Certificate | Uint8Array): string {
  return sha256Hex(cert instanceof Uint8Array ? cert : Certificate.encode(cert))
}

/** The wire form of a kept certificate (for a Hello, a Roster or a join answer). */
export function certificateWire (cert: MemberCertificate): Certificate {
  return Certificate.decode(cert.bytes)
}

export function revocationWire (rev: MemberRevocation): Revocation {
  return Revocation.decode(rev.bytes)
}

function openCertificateUnchecked (bytes: Uint8Array, bodyBytes: Uint8Array): MemberCertificate {
  const body = CertificateBody.decode(bodyBytes)
  return {
    subject: peerIdText(body.subject),
    name: body.name,
    roles: body.roles,
    issuedAt: body.issuedAt,
    expiresAt: body.expiresAt,
    issuer: body.issuer.byteLength === 0 ? undefined : peerIdText(body.issuer),
    hash: sha256Hex(bytes),
    bytes
  }
}

async function verify (fed: FederationIdentity, issuer: Uint8Array, domain: Uint8Array, wire: { body: Uint8Array, signature: Uint8Array }, what: string): Promise<void> {
  if (wire.signature.byteLength === 0 || wire.signature.byteLength > MAX_SIGNATURE_BYTES) throw new InvalidCredentialError(`${what} has no valid signature`)
  let key: PublicKey | undefined = fed.rootKey
  if (issuer.byteLength > 0) {
    const id = peerIdOf(issuer)
    key = id.publicKey
    if (key?.type !== 'Ed25519') throw new InvalidCredentialError(`${what} issuer has no inline Ed25519 key`)
  }
  let ok = false
  try {
    ok = await key.verify(concat(domain, wire.body), wire.signature)
  } catch {}
  if (!ok) throw new InvalidCredentialError(`${what} signature does not verify`)
}

function decode<T> (codec: { decode(buf: Uint8Array): T }, bytes: Uint8Array, max: number, what: string): T {
  if (bytes.byteLength > max) throw new InvalidCredentialError(`${what} too large`)
  try {
    return codec.decode(bytes)
  } catch (err) {
    throw new InvalidCredentialError(`${what} does not decode: ${(err as Error).message}`)
  }
}

function peerIdOf (bytes: Uint8Array): ReturnType<typeof peerIdFromMultihash> {
  if (bytes.byteLength === 0 || bytes.byteLength > MAX_PEER_ID_BYTES) throw new InvalidCredentialError('bad peer id')
  try {
    return peerIdFromMultihash(Digest.decode(bytes))
  } catch {
    throw new InvalidCredentialError('bad peer id')
  }
}

function peerIdText (bytes: Uint8Array): string {
  return peerIdOf(bytes).toString()
}

function peerIdBytes (id: string): Uint8Array<ArrayBuffer> {
  return peerIdFromString(id).toMultihash().bytes as Uint8Array<ArrayBuffer>
}

function sha256Hex (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

function concat (a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength)
  out.set(a, 0)
  out.set(b, a.byteLength)
  return out
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((v, i) => v === b[i])
}
