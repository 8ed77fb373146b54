/** Identities and signed entries shared by the cache unit tests. */
import { createHash } from 'node:crypto'
import { generateKeyPair, generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { signEntry } from '../../src/services/cache/entry.js'
import type { StoredEntry } from '../../src/services/cache/entry.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'

export interface Identity {
  key: PrivateKey
  peerId: PeerId
}

/** A fresh identity; given a seed, always the same one for it (so a property test's replay has the same peer ids). */
export async function identity (seed?: string): Promise<Identity> {
  const key = seed == null ? await generateKeyPair('Ed25519') : await generateKeyPairFromSeed('Ed25519', createHash('sha256').update(seed).digest())
  return { key, peerId: peerIdFromPrivateKey(key) }
}

export interface EntryFields {
  key: string
  value?: Uint8Array | string
  wallMs: number
  counter?: number
  ttlSeconds?: number
  tombstone?: boolean
}

/** An entry signed by `who` as its own origin. */
export async function signed (who: Identity, f: EntryFields): Promise<StoredEntry> {
  const value = typeof f.value === 'string' ? new TextEncoder().encode(f.value) : f.value ?? new Uint8Array(0)
  return signEntry(who.key, who.peerId, {
    key: f.key,
    value,
    ts: { wallMs: f.wallMs, counter: f.counter ?? 0 },
    ttlSeconds: f.ttlSeconds ?? 0,
    tombstone: f.tombstone ?? false
  })
}

export const utf8 = (b: Uint8Array): string => new TextDecoder().decode(b)
