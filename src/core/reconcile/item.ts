/**
 * The items being reconciled: one per cache key, identified by a digest of (key, version), so
 * two peers holding different versions of a key hold different items.
 */
import { createHash } from 'node:crypto'

/** Bytes of an item hash and of a range fingerprint. */
export const ITEM_HASH_BYTES = 16

export interface Item {
  readonly key: string
  /** ITEM_HASH_BYTES bytes; see itemHash. */
  readonly hash: Uint8Array
}

// Domain separation: these digests must never equal a digest made for another purpose.
const DOMAIN = new TextEncoder().encode('fedmesh/cache-sync/item/1\0')

/**
 * sha256(domain, uint32 length of key, key, versionBytes) truncated to 16 bytes. The key is
 * length-prefixed so ("ab", "c…") and ("a", "bc…") cannot collide. 128 bits keeps accidental
 * collisions out of reach for any cache size; range fingerprints XOR these.
 */
export function itemHash (key: string, versionBytes: Uint8Array): Uint8Array {
  const keyBytes = new TextEncoder().encode(key)
  const length = new Uint8Array(4)
  new DataView(length.buffer).setUint32(0, keyBytes.length, false)
  const digest = createHash('sha256').update(DOMAIN).update(length).update(keyBytes).update(versionBytes).digest()
  return new Uint8Array(digest.buffer, digest.byteOffset, ITEM_HASH_BYTES).slice()
}
