/**
 * Drop received entries that cannot change the store before their signatures are checked. A key
 * held in two versions is pushed by both sides of a session (item hashes cannot tell which is
 * newer), so about half of those pushes lose the merge on arrival; verifying them first is the
 * most expensive no-op anti-entropy does. An entry is skipped only when this node holds the same
 * key in a newer version than the one the entry claims, or in the same version with signed bytes
 * at least as large (the store's tie rule): a false claim can only make an entry be skipped,
 * never stored, so nothing unverified reaches the store.
 */
import { peerIdFromMultihash } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { timestampToBigInt } from '../../core/hlc.js'
import { CacheEntry } from '../../wire/cache.js'
import type { StoredEntry } from '../cache/entry.js'

export async function withoutStale (wires: Uint8Array[], lookup: (key: string) => Promise<{ entry: StoredEntry } | undefined>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for (const wire of wires) {
    if (!(await isStale(wire, lookup))) out.push(wire)
  }
  return out
}

async function isStale (wire: Uint8Array, lookup: (key: string) => Promise<{ entry: StoredEntry } | undefined>): Promise<boolean> {
  let claimed: CacheEntry
  try {
    claimed = CacheEntry.decode(wire)
  } catch {
    return false // the cache rejects it, and reports the sender
  }
  if (claimed.key === '') return false
  const held = (await lookup(claimed.key))?.entry
  if (held == null) return false
  const heldHlc = timestampToBigInt(held.version.ts)
  if (claimed.hlc !== heldHlc) return claimed.hlc < heldHlc
  let origin: string
  try {
    origin = peerIdFromMultihash(Digest.decode(claimed.origin)).toString()
  } catch {
    return false
  }
  if (origin !== held.version.origin) return origin < held.version.origin
  // One version, two encodings (an origin signed two values under it): the store keeps the
  // larger signed bytes (cache-store.ts), so only those that are not larger cannot change it.
  return Buffer.compare(Buffer.from(wire), Buffer.from(held.wire)) <= 0
}
