/**
 * Drop received entries that cannot change the store before their signatures are checked. A key
 * held in two versions is pushed by both sides of a session (item hashes cannot tell which is
 * newer), so about half of those pushes lose the merge on arrival; verifying them first is the
 * most expensive no-op anti-entropy does. An entry is skipped only when this node holds the same
 * key in the same or a newer version than the one the entry claims: a false claim can only make
 * an entry be skipped, never stored, so nothing unverified reaches the store.
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
  try {
    return peerIdFromMultihash(Digest.decode(claimed.origin)).toString() <= held.version.origin
  } catch {
    return false
  }
}
