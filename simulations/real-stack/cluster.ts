import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { createFederationNode } from '../../src/node/create-node.js'
import { FedStore } from '../../src/store/store.js'
import { peerLogger } from './peer-logger.js'
import { simTransport } from './sim-transport.js'
import type { SimNetwork } from './sim-transport.js'
import type { FederationNode } from '../../src/node/federation-node.js'
import type { StoredEntry } from '../../src/services/cache/entry.js'
import type { TaskHandler } from '../../src/services/tasks/handlers.js'
import type { LocalFederation } from '../../src/services/federation/seed.js'
import type { FederationSeed } from '../../src/services/federation/federation.js'
import type { MemberCertificate } from '../../src/core/federation/roster.js'
import type { PrivateKey } from '@libp2p/interface'

/**
 * N real federation nodes (the daemon's own `createFederationNode`) in this process, on the
 * simulated network. A node can be killed and restarted on the same store and identity, as a
 * crashed daemon restarts on its data dir (its task journal resumes).
 */
export interface ClusterPeer {
  index: number
  address: string
  store: FedStore
  key?: PrivateKey
  node?: FederationNode
}

export interface ClusterInit {
  peers: number
  net: SimNetwork
  concurrency: (i: number) => number
  handlers: (i: number) => Record<string, TaskHandler>
  onCacheApplied?: (i: number, entry: StoredEntry) => void
  /** Peers each node dials at start (random others, plus its ring neighbour). Default 4. */
  dialsPerPeer?: number
  /** Capacity advertisement interval of every node, ms. Default: the sim profile's. */
  capacityIntervalMs?: number
  /** One federation for every node (each proves membership on every connection); none = an open mesh. */
  federation?: LocalFederation
  /** Nodes started at once (Noise handshakes are CPU-bound). Default 16. */
  startBatch?: number
  random: () => number
  log: (line: string) => void
}

export class Cluster {
  readonly peers: ClusterPeer[] = []

  constructor (private readonly init: ClusterInit) {
    for (let i = 0; i < init.peers; i++) {
      this.peers.push({ index: i, address: `/memory/fedmesh-sim-${process.pid}-${i}`, store: undefined as unknown as FedStore })
    }
  }

  node (i: number): FederationNode | undefined {
    return this.peers[i].node
  }

  up (i: number): boolean {
    return this.peers[i].node?.isStarted() === true
  }

  async start (): Promise<void> {
    const batch = this.init.startBatch ?? 16
    for (let i = 0; i < this.peers.length; i += batch) {
      await Promise.all(this.peers.slice(i, i + batch).map(async p => { await this.boot(p) }))
      this.init.log(`started ${Math.min(i + batch, this.peers.length)}/${this.peers.length} nodes (rss ${Math.round(process.memoryUsage().rss / 1e6)} MB)`)
    }
    const dials = this.init.dialsPerPeer ?? 4
    let done = 0
    for (let i = 0; i < this.peers.length; i += batch) {
      await Promise.all(this.peers.slice(i, i + batch).map(async p => {
        const targets = new Set([(p.index + 1) % this.peers.length])
        while (targets.size < Math.min(dials, this.peers.length - 1)) targets.add(Math.floor(this.init.random() * this.peers.length))
        targets.delete(p.index)
        await Promise.all([...targets].map(async t => { await p.node?.libp2p.dial(multiaddrOf(this.peers[t])).catch(() => {}) }))
        done++
      }))
      this.init.log(`connected ${done}/${this.peers.length} nodes`)
    }
  }

  /** A crash: the node stops at once (no drain); its peers see the connections close. */
  async kill (i: number): Promise<void> {
    const p = this.peers[i]
    const node = p.node
    if (node == null) return
    p.node = undefined
    await node.stop(0)
  }

  /** Restart on the same store and identity; dial a few peers again. */
  async restart (i: number): Promise<void> {
    const p = this.peers[i]
    if (p.node != null) return
    const node = await this.boot(p)
    for (let k = 0; k < 3; k++) {
      const t = Math.floor(this.init.random() * this.peers.length)
      if (t !== i && this.up(t)) await node.libp2p.dial(multiaddrOf(this.peers[t])).catch(() => {})
    }
  }

  async stop (): Promise<void> {
    await Promise.all(this.peers.map(async p => {
      await p.node?.stop(0).catch(() => {})
      await p.store?.close().catch(() => {})
    }))
  }

  /** Every member's certificate, issued once: each node starts knowing the whole roster. */
  private members?: Promise<Array<{ key: PrivateKey, cert: MemberCertificate }>>

  private async seed (p: ClusterPeer): Promise<FederationSeed | undefined> {
    const fed = this.init.federation
    if (fed == null) return undefined
    this.members ??= Promise.all(this.peers.map(async () => {
      const key = await generateKeyPair('Ed25519')
      return { key, cert: (await fed.seedFor(key)).chain[0] }
    }))
    const members = await this.members
    p.key = members[p.index].key
    const certs = members.map(m => m.cert)
    return { identity: fed.identity, chain: [certs[p.index]], members: certs }
  }

  private async boot (p: ClusterPeer): Promise<FederationNode> {
    // A restarted node finds its federation in its store.
    const seed = p.store == null ? await this.seed(p) : undefined
    p.store ??= await FedStore.memory()
    const node = await createFederationNode({
      open: this.init.federation == null,
      federation: seed,
      privateKey: p.key,
      store: p.store,
      name: `peer-${p.index}`,
      transport: simTransport(this.init.net, p.index, p.address),
      listen: [p.address],
      mdns: false,
      dht: false,
      profile: 'sim',
      capacityIntervalMs: this.init.capacityIntervalMs,
      // Membership tops connections up to about what the start-up dials make, no more.
      membership: { targetConnections: 2 * (this.init.dialsPerPeer ?? 4) },
      concurrency: this.init.concurrency(p.index),
      handlers: this.init.handlers(p.index),
      logger: peerLogger(p.index),
      random: this.init.random,
      onCacheApplied: (entry) => { this.init.onCacheApplied?.(p.index, entry) }
    })
    await node.start()
    p.node = node
    return node
  }
}

function multiaddrOf (p: ClusterPeer): ReturnType<typeof multiaddr> {
  const id = p.node?.peerId.toString()
  return multiaddr(id == null ? p.address : `${p.address}/p2p/${id}`)
}
