import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { createFederationNode } from '../../src/node/create-node.js'
import { localFederation } from '../../src/services/federation/seed.js'
import { FedStore } from '../../src/store/store.js'
import type { LocalFederation } from '../../src/services/federation/seed.js'
import type { MemberCertificate } from '../../src/core/federation/roster.js'
import type { FederationNode } from '../../src/node/federation-node.js'
import type { PrivateKey } from '@libp2p/interface'

let counter = 0

export type TestFederation = LocalFederation

export async function testFederation (name = 'test'): Promise<TestFederation> {
  return await localFederation(name)
}

/** A certificate of `fed` for `key` (as a thief would present someone else's). */
export async function certify (fed: TestFederation, key: PrivateKey): Promise<MemberCertificate> {
  return (await fed.seedFor(key)).chain[0]
}

/** A started in-process node on @libp2p/memory in `fed` (or holding `chain`, its certificate first). */
export async function memberNode (fed: TestFederation, opts: { key?: PrivateKey, chain?: MemberCertificate[], roles?: number, dht?: boolean } = {}): Promise<FederationNode> {
  const key = opts.key ?? await generateKeyPair('Ed25519')
  const seed = opts.chain != null ? { identity: fed.identity, chain: opts.chain } : await fed.seedFor(key, { roles: opts.roles })
  const node = await createFederationNode({
    store: await FedStore.memory(),
    privateKey: key,
    federation: seed,
    transport: 'memory',
    listen: [`/memory/fed-${process.pid}-${counter++}`],
    mdns: false,
    dht: opts.dht ?? false,
    journal: false,
    profile: 'local',
    concurrency: 1
  })
  await node.start()
  return node
}

export async function dial (a: FederationNode, b: FederationNode): Promise<void> {
  await a.libp2p.dial(multiaddr(b.libp2p.getMultiaddrs()[0].toString()))
}

/** Nodes a test file starts through `track`, all stopped by `stopTracked` (call it in afterEach). */
export function nodeTracker (): { track: (n: Promise<FederationNode>) => Promise<FederationNode>, stopTracked: () => Promise<void> } {
  const started: FederationNode[] = []
  return {
    track: async (n) => {
      const node = await n
      started.push(node)
      return node
    },
    stopTracked: async () => { await Promise.all(started.splice(0).map(async node => { await node.stop() })) }
  }
}
