import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { ALL_ROLES } from '../../src/core/federation/roles.js'
import { federationIdentity, issueCertificate } from '../../src/services/federation/credentials.js'
import { createFederationNode } from '../../src/node/create-node.js'
import { FedStore } from '../../src/store/store.js'
import type { FederationIdentity } from '../../src/services/federation/credentials.js'
import type { MemberCertificate } from '../../src/core/federation/roster.js'
import type { FederationNode } from '../../src/node/federation-node.js'
import type { PrivateKey } from '@libp2p/interface'

let counter = 0

/** A federation made in-process: its root key signs members' certificates directly. */
export interface TestFederation {
  identity: FederationIdentity
  root: PrivateKey
  /** A certificate for `key`'s peer id (every role unless told otherwise), valid for an hour. */
  certify(key: PrivateKey, roles?: number, ttlMs?: number): Promise<MemberCertificate>
}

export async function testFederation (name = 'test'): Promise<TestFederation> {
  const root = await generateKeyPair('Ed25519')
  const identity = federationIdentity(root.publicKey, name)
  return {
    identity,
    root,
    certify: async (key, roles = ALL_ROLES, ttlMs = 3_600_000) => await issueCertificate(identity, root, undefined, {
      subject: peerIdFromPrivateKey(key).toString(), name: `n${counter}`, roles, issuedAt: Date.now(), expiresAt: Date.now() + ttlMs
    })
  }
}

/** A started in-process node on @libp2p/memory holding `chain` (its certificate first). */
export async function memberNode (fed: TestFederation, opts: { key?: PrivateKey, chain?: MemberCertificate[], roles?: number, dht?: boolean } = {}): Promise<FederationNode> {
  const key = opts.key ?? await generateKeyPair('Ed25519')
  const chain = opts.chain ?? [await fed.certify(key, opts.roles)]
  const node = await createFederationNode({
    store: await FedStore.memory(),
    privateKey: key,
    federation: { identity: fed.identity, chain },
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
