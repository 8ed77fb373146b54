import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { createFederationNode } from '../src/node/create-node.js'
import { localFederation } from '../src/services/federation/seed.js'
import { FedStore } from '../src/store/store.js'
import { percentile, round } from './bench-util.js'
import type { FederationNode } from '../src/node/federation-node.js'
import type { FederationSeed } from '../src/services/federation/federation.js'

/**
 * `npm run bench -- federation`:
 * - handshake: time from dial until a peer is ready for protocol traffic (identified, so
 *   gossipsub, the DHT and cache-sync see it) between two nodes of one private federation on
 *   loopback TCP, against the same with two open-mesh nodes (no membership handshake) in the
 *   same run. Goal ≤ 1.2x.
 * - revocation: 50 in-process members (memory transport, each dialling 4 others); an admin
 *   revokes one; time until every other member holds the revocation and none is connected to it.
 */
const ROUNDS = 40
const MEMBERS = 50

async function tcpNode (seed: FederationSeed | undefined, key?: Awaited<ReturnType<typeof generateKeyPair>>): Promise<FederationNode> {
  const node = await createFederationNode({
    store: await FedStore.memory(),
    privateKey: key,
    open: seed == null,
    federation: seed,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    mdns: false,
    dht: false,
    journal: false,
    profile: 'local',
    // Each round hangs up: a re-dial by the other side would hand the next round an old connection.
    membership: { redial: { minMs: 3_600_000, maxMs: 3_600_000 } },
    concurrency: 1
  })
  await node.start()
  return node
}

/** Dial b from a, wait until a has identified b, hang up; ms per round (a round that never gets there is dropped and counted). */
async function readyTimes (a: FederationNode, b: FederationNode, missed = { count: 0 }): Promise<number[]> {
  const times: number[] = []
  const addr = multiaddr(b.libp2p.getMultiaddrs()[0].toString())
  for (let i = 0; i < ROUNDS; i++) {
    const identified = new Promise<void>(resolve => {
      const on = (evt: CustomEvent<{ peerId: { equals(p: unknown): boolean } }>): void => {
        if (!evt.detail.peerId.equals(b.peerId)) return
        a.libp2p.removeEventListener('peer:identify', on as any)
        resolve()
      }
      a.libp2p.addEventListener('peer:identify', on as any)
    })
    const t0 = performance.now()
    await a.libp2p.dial(addr)
    const ok = await Promise.race([identified.then(() => true), new Promise<boolean>(resolve => setTimeout(() => { resolve(false) }, 10_000))])
    if (ok) times.push(performance.now() - t0)
    else missed.count++
    await a.libp2p.hangUp(b.peerId)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  return times.sort((x, y) => x - y)
}

async function handshake (): Promise<Record<string, unknown>> {
  const fed = await localFederation('bench')
  const [ka, kb] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')])
  const [pa, pb] = await Promise.all([tcpNode(await fed.seedFor(ka), ka), tcpNode(await fed.seedFor(kb), kb)])
  const [oa, ob] = await Promise.all([tcpNode(undefined), tcpNode(undefined)])
  try {
    // Interleave the two so machine noise hits both alike; the first rounds warm up both.
    await readyTimes(pa, pb)
    await readyTimes(oa, ob)
    const missed = { count: 0 }
    const priv = await readyTimes(pa, pb, missed)
    const open = await readyTimes(oa, ob, missed)
    const summary = (t: number[]): Record<string, number> => ({ p50Ms: round(percentile(t, 0.5), 2), p90Ms: round(percentile(t, 0.9), 2), meanMs: round(t.reduce((s, x) => s + x, 0) / t.length, 2) })
    return {
      rounds: ROUNDS,
      missedRounds: missed.count,
      federation: summary(priv),
      baseline: { name: 'open-mesh connection (no membership handshake)', ...summary(open) },
      p50Ratio: round(percentile(priv, 0.5) / percentile(open, 0.5), 3)
    }
  } finally {
    await Promise.all([pa, pb, oa, ob].map(async n => { await n.stop() }))
  }
}

async function revocation (): Promise<Record<string, unknown>> {
  const fed = await localFederation('bench')
  const nodes: FederationNode[] = []
  for (let i = 0; i < MEMBERS; i++) {
    const key = await generateKeyPair('Ed25519')
    nodes.push(await createFederationNode({
      store: await FedStore.memory(),
      privateKey: key,
      federation: { ...await fed.seedFor(key), rootPrivateKey: i === 0 ? fed.root : undefined },
      transport: 'memory',
      listen: [`/memory/bench-fed-${process.pid}-${i}`],
      mdns: false,
      dht: false,
      journal: false,
      profile: 'sim',
      concurrency: 1
    }))
  }
  try {
    await Promise.all(nodes.map(async n => { await n.start() }))
    await Promise.all(nodes.map(async (n, i) => {
      for (let k = 1; k <= 4; k++) await n.libp2p.dial(multiaddr(nodes[(i + k * 7) % MEMBERS].libp2p.getMultiaddrs()[0].toString())).catch(() => {})
    }))
    // Let gossipsub form its mesh.
    await new Promise(resolve => setTimeout(resolve, 3_000))
    const admin = nodes[0]
    const victim = nodes[MEMBERS - 1]
    const others = nodes.slice(0, -1)
    const id = victim.peerId.toString()
    const t0 = performance.now()
    await admin.federation.revoke(id)
    let everyoneKnows = NaN
    let cutOff = NaN
    while (performance.now() - t0 < 30_000 && (Number.isNaN(everyoneKnows) || Number.isNaN(cutOff))) {
      const t = performance.now() - t0
      if (Number.isNaN(everyoneKnows) && others.every(n => n.libp2p.services.federation.federation?.roster.isRevoked(id) === true)) everyoneKnows = t
      if (Number.isNaN(cutOff) && others.every(n => n.libp2p.getConnections(victim.peerId).length === 0)) cutOff = t
      await new Promise(resolve => setTimeout(resolve, 2))
    }
    return { members: MEMBERS, dialsPerMember: 4, everyMemberKnowsMs: round(everyoneKnows, 1), victimCutOffEverywhereMs: round(cutOff, 1) }
  } finally {
    await Promise.all(nodes.map(async n => { await n.stop() }))
  }
}

export async function benchFederation (): Promise<Record<string, unknown>> {
  return { bench: 'federation', handshake: await handshake(), revocation: await revocation() }
}
