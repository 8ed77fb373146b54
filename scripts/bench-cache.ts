import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Level } from 'level'
import { createFederationNode } from '../src/node/create-node.js'
import { CacheStore } from '../src/services/cache/cache-store.js'
import { signEntry } from '../src/services/cache/entry.js'
import { FedStore } from '../src/store/store.js'
import { percentile, round } from './bench-util.js'
import type { FederationNode } from '../src/node/federation-node.js'

const NODES = 20
const WRITES = 100
const DEGREE = 4

/**
 * `npm run bench -- cache`: (1) replication latency of a write to every other node across
 * in-process nodes on @libp2p/memory, against the one-hop latency (a write reaching a direct
 * neighbour) measured in the same run; (2) L1/L2 hit ratios on a skewed read workload; (3) the
 * cache store's LevelDB write/read throughput against raw LevelDB in the same run.
 */
export async function benchCache (): Promise<Record<string, unknown>> {
  return {
    bench: 'cache',
    replication: await replication(),
    ...await storeThroughput()
  }
}

async function replication (): Promise<Record<string, unknown>> {
  const applied = new Map<string, Map<number, number>>() // key → node index → time
  const nodes: FederationNode[] = []
  for (let i = 0; i < NODES; i++) {
    const index = i
    nodes.push(await createFederationNode({
      open: true,
      store: await FedStore.memory(),
      transport: 'memory',
      listen: [`/memory/bench-cache-${process.pid}-${i}`],
      mdns: false,
      dht: false,
      journal: false,
      profile: 'local',
      onCacheApplied: (entry) => {
        let m = applied.get(entry.key)
        if (m == null) { m = new Map(); applied.set(entry.key, m) }
        if (!m.has(index)) m.set(index, performance.now())
      }
    }))
  }
  try {
    await Promise.all(nodes.map(async n => { await n.start() }))
    // A ring plus random chords: every node has ~DEGREE neighbours, diameter ~log(n).
    for (let i = 0; i < NODES; i++) {
      const targets = new Set([(i + 1) % NODES, ...Array.from({ length: DEGREE / 2 - 1 }, () => Math.floor(Math.random() * NODES))])
      for (const t of targets) if (t !== i) await nodes[i].libp2p.dial(nodes[t].libp2p.getMultiaddrs()[0]).catch(() => {})
    }
    await new Promise(resolve => setTimeout(resolve, 3_000)) // gossipsub meshes form on heartbeats
    const toAll: number[] = []
    const oneHop: number[] = []
    let complete = 0
    for (let w = 0; w < WRITES; w++) {
      const writer = w % NODES
      const key = `bench/${w}`
      const t0 = performance.now()
      await nodes[writer].cachePut(key, { w, pad: 'x'.repeat(200) })
      const neighbours = new Set(nodes[writer].libp2p.getPeers().map(String))
      const deadline = Date.now() + 5_000
      while ((applied.get(key)?.size ?? 0) < NODES && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 2))
      const times = applied.get(key) ?? new Map()
      if (times.size === NODES) complete++
      for (const [i, t] of times) {
        if (i === writer) continue
        toAll.push(t - t0)
        if (neighbours.has(nodes[i].peerId.toString())) oneHop.push(t - t0)
      }
    }
    toAll.sort((a, b) => a - b)
    oneHop.sort((a, b) => a - b)
    return {
      nodes: NODES,
      writes: WRITES,
      coverage: round(complete / WRITES, 3),
      p50Ms: round(percentile(toAll, 0.5), 2),
      p99Ms: round(percentile(toAll, 0.99), 2),
      baseline: { name: 'one-hop (direct neighbour)', p50Ms: round(percentile(oneHop, 0.5), 2), p99Ms: round(percentile(oneHop, 0.99), 2) },
      p50Ratio: round(percentile(toAll, 0.5) / percentile(oneHop, 0.5), 2)
    }
  } finally {
    await Promise.all(nodes.map(async n => { await n.stop() }))
  }
}

async function storeThroughput (): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'fedmesh-bench-cache-'))
  const store = await FedStore.open(dir)
  const raw = new Level<string, Uint8Array>(join(dir, 'raw'), { valueEncoding: 'view' })
  try {
    const key = await generateKeyPair('Ed25519')
    const origin = peerIdFromPrivateKey(key)
    const n = 20_000
    const entries = await Promise.all(Array.from({ length: n }, async (_, i) => signEntry(key, origin, {
      key: `k/${i}`, value: new TextEncoder().encode(JSON.stringify({ i, pad: 'x'.repeat(200) })), ts: { wallMs: Date.now(), counter: i % 65_536 }, ttlSeconds: 0, tombstone: false
    })))
    // L1 holds ~10% of the data; reads follow a Zipf(1.1) popularity, as caches see.
    const cache = new CacheStore({ db: store.sublevel('cache'), clock: { now: () => Date.now() }, l1Bytes: Math.round(n * 500 * 0.1) })

    let t = performance.now()
    for (const e of entries) await cache.apply(e)
    const putsPerSec = n / ((performance.now() - t) / 1000)
    t = performance.now()
    for (const e of entries) await raw.put(e.key, e.wire)
    const rawPutsPerSec = n / ((performance.now() - t) / 1000)

    const reads = 50_000
    const zipf = zipfSampler(n, 1.1)
    const levels = { l1: 0, l2: 0, miss: 0 }
    const cold = new CacheStore({ db: store.sublevel('cache'), clock: { now: () => Date.now() }, l1Bytes: Math.round(n * 500 * 0.1) })
    t = performance.now()
    for (let r = 0; r < reads; r++) {
      const i = zipf()
      const hit = await cold.lookup(`k/${i}`)
      levels[hit?.level ?? 'miss']++
    }
    const getsPerSec = reads / ((performance.now() - t) / 1000)
    t = performance.now()
    for (let r = 0; r < reads; r++) await raw.get(`k/${zipf()}`)
    const rawGetsPerSec = reads / ((performance.now() - t) / 1000)
    return {
      store: {
        entries: n,
        putsPerSec: round(putsPerSec, 0),
        getsPerSec: round(getsPerSec, 0),
        hitRatio: { l1: round(levels.l1 / reads, 3), l2OfL1Misses: round(levels.l2 / Math.max(1, levels.l2 + levels.miss), 3) },
        baseline: { name: 'raw LevelDB put/get', putsPerSec: round(rawPutsPerSec, 0), getsPerSec: round(rawGetsPerSec, 0) },
        putRatio: round(putsPerSec / rawPutsPerSec, 2),
        getRatio: round(getsPerSec / rawGetsPerSec, 2)
      }
    }
  } finally {
    await raw.close()
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
}

/** Ranks 0..n-1 drawn with probability ∝ 1 / (rank + 1)^s. */
function zipfSampler (n: number, s: number): () => number {
  const cdf = new Float64Array(n)
  let total = 0
  for (let i = 0; i < n; i++) {
    total += 1 / (i + 1) ** s
    cdf[i] = total
  }
  return () => {
    const u = Math.random() * total
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (cdf[mid] < u) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}
