import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { adoptFederation, createFederationNode } from '../src/node/create-node.js'
import { localFederation } from '../src/services/federation/seed.js'
import { FedStore } from '../src/store/store.js'
import { BIN, percentile, round, spawnUntil } from './bench-util.js'
import type { FederationNode } from '../src/node/federation-node.js'
import type { ChildProcess } from 'node:child_process'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const execFileP = promisify(execFile)

/**
 * `npm run bench -- federation`:
 * - handshake: time from dial until a peer is ready for protocol traffic (identified, so
 *   gossipsub, the DHT and cache-sync see it), from a node in this process to a daemon process
 *   on loopback: the daemon and this node in one private federation (this node joined it with an
 *   invite), against an `--open` daemon and an open node measured in the same run, interleaved.
 *   Goal ≤ 1.2x.
 * - revocation: 50 in-process members (memory transport, each dialling 4 others); an admin
 *   revokes one; time until every other member holds the revocation and none is connected to it.
 */
const ROUNDS = 30
const MEMBERS = 50

interface Side { node: FederationNode, daemon: ChildProcess, addr: Multiaddr, remote: PeerId, dataDir: string }

/** A daemon process (private, or `--open`) and an in-process node that can reach it. */
async function side (open: boolean): Promise<Side> {
  const dataDir = await mkdtemp(join(tmpdir(), 'fedmesh-bench-fed-'))
  const args = [BIN, 'daemon', '--data-dir', dataDir, '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0', '--no-mdns', '--no-dht', ...(open ? ['--open'] : [])]
  // The local profile: one host dialling many times a second is this benchmark, not an attack.
  const { proc, match } = await spawnUntil(process.execPath, args, /listen\s+(\S+)/, { FEDMESH_PROFILE: 'local' })
  const addr = multiaddr(match[1])
  const store = await FedStore.memory()
  // No listen address: the daemon cannot dial back between rounds (each round is a fresh dial).
  const make = async (): Promise<FederationNode> => {
    const n = await createFederationNode({ store, open, listen: [], mdns: false, dht: false, journal: false, profile: 'local', concurrency: 1 })
    await n.start()
    return n
  }
  let node = await make()
  if (!open) {
    const { stdout } = await execFileP(process.execPath, [BIN, 'federation', 'invite', '--data-dir', dataDir])
    const { answer } = await node.federation.join(JSON.parse(stdout).token as string)
    await node.stop()
    await adoptFederation(store, answer)
    node = await make()
  }
  return { node, daemon: proc, addr, remote: peerIdFromString(match[1].split('/p2p/')[1]), dataDir }
}

/** Dial, wait until this node has identified the daemon, hang up; ms per round (a round that never gets there is dropped and counted). */
async function readyTimes (s: Side, rounds: number, missed = { count: 0 }): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < rounds; i++) {
    const identified = new Promise<void>(resolve => {
      const on = (evt: CustomEvent<{ peerId: PeerId }>): void => {
        if (!evt.detail.peerId.equals(s.remote)) return
        s.node.libp2p.removeEventListener('peer:identify', on as any)
        resolve()
      }
      s.node.libp2p.addEventListener('peer:identify', on as any)
    })
    const t0 = performance.now()
    await s.node.libp2p.dial(s.addr)
    const ok = await Promise.race([identified.then(() => true), new Promise<boolean>(resolve => setTimeout(() => { resolve(false) }, 10_000))])
    if (ok) times.push(performance.now() - t0)
    else missed.count++
    await s.node.libp2p.hangUp(s.remote)
    await new Promise(resolve => setTimeout(resolve, 30))
  }
  return times
}

async function handshake (): Promise<Record<string, unknown>> {
  const [priv, open] = [await side(false), await side(true)]
  try {
    // Warm both up, then interleave halves so machine noise hits both alike.
    await readyTimes(priv, 5)
    await readyTimes(open, 5)
    const missed = { federation: { count: 0 }, baseline: { count: 0 } }
    const p: number[] = []
    const o: number[] = []
    for (let half = 0; half < 2; half++) {
      p.push(...await readyTimes(priv, ROUNDS / 2, missed.federation))
      o.push(...await readyTimes(open, ROUNDS / 2, missed.baseline))
    }
    p.sort((x, y) => x - y)
    o.sort((x, y) => x - y)
    const summary = (t: number[]): Record<string, number> => ({ p50Ms: round(percentile(t, 0.5), 2), p90Ms: round(percentile(t, 0.9), 2), meanMs: round(t.reduce((sum, x) => sum + x, 0) / t.length, 2) })
    return {
      rounds: ROUNDS,
      missedRounds: { federation: missed.federation.count, baseline: missed.baseline.count },
      federation: summary(p),
      baseline: { name: 'open-mesh connection (no membership handshake)', ...summary(o) },
      p50Ratio: round(percentile(p, 0.5) / percentile(o, 0.5), 3)
    }
  } finally {
    for (const s of [priv, open]) {
      await s.node.stop()
      s.daemon.kill('SIGTERM')
      await new Promise(resolve => s.daemon.once('exit', resolve))
      await rm(s.dataDir, { recursive: true, force: true })
    }
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
