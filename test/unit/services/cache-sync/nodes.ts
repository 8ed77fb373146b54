import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createFederationNode } from '../../../../src/node/create-node.js'
import { signEntry } from '../../../../src/services/cache/entry.js'
import { FedStore } from '../../../../src/store/store.js'
import type { FederationNode } from '../../../../src/node/federation-node.js'
import type { StoredEntry } from '../../../../src/services/cache/entry.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'

let counter = 0

/** An in-process fedmesh node on @libp2p/memory (no mDNS, no DHT). Stop it with `node.stop()`. */
export async function memoryNode (name = 'n', store?: FedStore): Promise<FederationNode> {
  const node = await createFederationNode({
    open: true,
    store: store ?? await FedStore.memory(),
    transport: 'memory',
    listen: [`/memory/cache-sync-${process.pid}-${name}-${counter++}`],
    mdns: false,
    dht: false,
    journal: false,
    profile: 'local',
    concurrency: 1
  })
  await node.start()
  return node
}

export async function connect (a: FederationNode, b: FederationNode): Promise<void> {
  await a.libp2p.dial(multiaddr(b.libp2p.getMultiaddrs()[0].toString()))
}

/** A writer identity: entries signed by it verify anywhere. */
export interface Origin { key: PrivateKey, id: PeerId }

export async function origin (): Promise<Origin> {
  const key = await generateKeyPair('Ed25519')
  return { key, id: peerIdFromPrivateKey(key) }
}

export interface EntrySpec {
  key: string
  /** Wall time of the write, ms since the epoch; counter 0. */
  wallMs: number
  tombstone?: boolean
  value?: string
}

export async function sign (by: Origin, spec: EntrySpec): Promise<StoredEntry> {
  return signEntry(by.key, by.id, {
    key: spec.key,
    value: spec.tombstone === true ? new Uint8Array(0) : new TextEncoder().encode(spec.value ?? `${spec.key}@${spec.wallMs}`),
    ts: { wallMs: spec.wallMs, counter: 0 },
    ttlSeconds: 0,
    tombstone: spec.tombstone === true
  })
}

/** Write entries straight into a node's store (as if it had received them earlier). */
export async function seed (node: FederationNode, entries: StoredEntry[]): Promise<void> {
  const { store } = node.libp2p.services.cache
  for (const e of entries) await store.apply(e)
}

/** key → hex of the stored wire bytes, for comparing two stores. */
export async function contents (node: FederationNode): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for await (const e of node.libp2p.services.cache.store.entries()) out.set(e.key, Buffer.from(e.wire).toString('hex'))
  return out
}
