import { createPublicKey, verify as verifySignature } from 'node:crypto'
import { peerIdFromMultihash } from '@libp2p/peer-id'
import { LRUCache } from 'lru-cache'
import * as Digest from 'multiformats/hashes/digest'
import { equals as uint8ArrayEquals } from 'uint8arrays/equals'
import { isValidTimestamp, timestampFromBigInt, timestampToBigInt } from '../../core/hlc.js'
import { CacheEntry as WireEntry } from '../../wire/cache.js'
import type { Timestamp } from '../../core/hlc.js'
import type { EntryMeta } from '../../core/cache/merge.js'
import type { Version } from '../../core/cache/version.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'

/** Limits on what a cache entry may carry; checked before anything is decoded further or stored. */
export const MAX_KEY_BYTES = 256
export const DEFAULT_MAX_VALUE_BYTES = 256 * 1024
export const MAX_TTL_SECONDS = 365 * 24 * 3600
const MAX_ORIGIN_BYTES = 64
const MAX_SIGNATURE_BYTES = 128
const SIGNATURE_DOMAIN = new TextEncoder().encode('fedmesh/cache-entry/1\n')

/** A verified entry as the node holds it. */
export interface StoredEntry extends EntryMeta {
  key: string
  value: Uint8Array
  version: Version
  tombstone: boolean
  ttlSeconds: number
  expiresAtMs?: number
  /** The exact signed wire bytes (stored and re-sent as they are). */
  wire: Uint8Array
}

export class InvalidEntryError extends Error {
  constructor (message: string, readonly forged = false) {
    super(message)
    this.name = 'InvalidEntryError'
  }
}

/** `wallMs-counter`: how versions appear in the CLI and API. */
export function formatVersion (v: Version): string {
  return `${v.ts.wallMs}-${v.ts.counter}`
}

function signedBytes (entry: WireEntry): Uint8Array {
  const body = WireEntry.encode({ ...entry, signature: new Uint8Array(0) })
  const out = new Uint8Array(SIGNATURE_DOMAIN.byteLength + body.byteLength)
  out.set(SIGNATURE_DOMAIN, 0)
  out.set(body, SIGNATURE_DOMAIN.byteLength)
  return out
}

/** Create and sign an entry as its origin. */
export async function signEntry (key: PrivateKey, origin: PeerId, fields: { key: string, value: Uint8Array, ts: Timestamp, ttlSeconds: number, tombstone: boolean }): Promise<StoredEntry> {
  const unsigned: WireEntry = {
    key: fields.key,
    value: fields.value as Uint8Array<ArrayBuffer>,
    hlc: timestampToBigInt(fields.ts),
    origin: origin.toMultihash().bytes as Uint8Array<ArrayBuffer>,
    ttlSeconds: fields.ttlSeconds,
    tombstone: fields.tombstone,
    signature: new Uint8Array(0)
  }
  const signature = await key.sign(signedBytes(unsigned))
  const wire = WireEntry.encode({ ...unsigned, signature: signature as Uint8Array<ArrayBuffer> })
  return toStored({ ...unsigned, signature: signature as Uint8Array<ArrayBuffer> }, origin.toString(), wire)
}

/**
 * Decode, bound-check and verify an entry from the network. Throws InvalidEntryError (with
 * `forged` set when the signature does not verify or the signer is not the origin).
 */
export async function verifyEntry (bytes: Uint8Array, maxValueBytes: number): Promise<StoredEntry> {
  if (bytes.byteLength > maxValueBytes + MAX_KEY_BYTES + 512) throw new InvalidEntryError('entry too large')
  let entry: WireEntry
  try {
    entry = WireEntry.decode(bytes)
  } catch (err) {
    throw new InvalidEntryError(`undecodable entry: ${(err as Error).message}`)
  }
  const problem = checkLimits(entry, maxValueBytes)
  if (problem != null) throw new InvalidEntryError(problem)
  // One encoding per signed content: the signature covers the decoded fields, so without this a
  // relay could change the bytes (a bool sent as 3, a longer varint, an unknown field) and the
  // entry would still verify, in bytes its origin never produced (and the larger bytes win a tie).
  if (!uint8ArrayEquals(WireEntry.encode(entry), bytes)) throw new InvalidEntryError('entry is not in its canonical encoding')
  let origin: PeerId
  try {
    origin = peerIdFromMultihash(Digest.decode(entry.origin))
  } catch {
    throw new InvalidEntryError('origin is not a peer id')
  }
  if (origin.publicKey?.type !== 'Ed25519') throw new InvalidEntryError('origin has no inline public key (only Ed25519 peers may write)')
  let ok = false
  try {
    ok = verifySignature(null, signedBytes(entry), originKey(origin), entry.signature)
  } catch {}
  if (!ok) throw new InvalidEntryError('signature does not verify against the origin', true)
  return toStored(entry, origin.toString(), bytes)
}

/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32 raw key bytes follow. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

/**
 * Verification keys by origin: building a key object costs more than the check itself
 * (@libp2p/crypto rebuilds one per call), and a sync brings thousands of entries of few origins.
 */
const originKeys = new LRUCache<string, ReturnType<typeof createPublicKey>>({ max: 4_096 })

function originKey (origin: PeerId): ReturnType<typeof createPublicKey> {
  const id = origin.toString()
  let key = originKeys.get(id)
  if (key == null) {
    const raw = (origin.publicKey as NonNullable<PeerId['publicKey']>).raw
    key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' })
    originKeys.set(id, key)
  }
  return key
}

function checkLimits (e: WireEntry, maxValueBytes: number): string | undefined {
  if (e.key.length === 0 || Buffer.byteLength(e.key) > MAX_KEY_BYTES) return 'bad key length'
  if (!e.key.isWellFormed()) return 'key is not well-formed unicode'
  if (e.value.byteLength > maxValueBytes) return 'value too large'
  if (e.tombstone && e.value.byteLength > 0) return 'tombstone with a value'
  if (e.hlc <= 0n || e.hlc >= 2n ** 64n) return 'bad version'
  try {
    if (!isValidTimestamp(timestampFromBigInt(e.hlc))) return 'bad version'
  } catch {
    return 'bad version'
  }
  if (e.ttlSeconds > MAX_TTL_SECONDS) return 'ttl too long'
  if (e.origin.byteLength === 0 || e.origin.byteLength > MAX_ORIGIN_BYTES) return 'bad origin'
  if (e.signature.byteLength === 0 || e.signature.byteLength > MAX_SIGNATURE_BYTES) return 'bad signature length'
  return undefined
}

function toStored (e: WireEntry, origin: string, wire: Uint8Array): StoredEntry {
  const ts = timestampFromBigInt(e.hlc)
  return {
    key: e.key,
    value: e.value,
    version: { ts, origin },
    tombstone: e.tombstone,
    ttlSeconds: e.ttlSeconds,
    expiresAtMs: e.ttlSeconds > 0 ? ts.wallMs + e.ttlSeconds * 1000 : undefined,
    wire
  }
}

/** Re-read an entry this node stored itself (already verified when it was accepted). */
export function fromStoredBytes (bytes: Uint8Array): StoredEntry {
  const e = WireEntry.decode(bytes)
  return toStored(e, peerIdFromMultihash(Digest.decode(e.origin)).toString(), bytes)
}
