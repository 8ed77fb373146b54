/**
 * Cache dissemination, modelled on gossipsub: every peer keeps a mesh of ~`degree` peers (a
 * subset of its ~`floodDegree` connections) and forwards a new entry to its mesh at once (eager
 * push); every heartbeat it also tells `lazyDegree` connected non-mesh peers which entries it
 * has seen lately (IHAVE), and those that lack one ask for it (IWANT), one more round trip.
 * A share of the peers receive but never forward (selfish or broken). Forged entries fail the
 * signature check at every honest receiver, which neither stores nor forwards them.
 *
 * Baselines on the same graph and links: a naive flood (every peer forwards to every
 * connection, no gossip) and BFS hops × the mean one-hop latency (the "perfect" eager push).
 */
import { EventQueue } from './heap.js'
import type { Rng } from '../prng.js'
import type { Scenario } from '../scenario.js'

export interface CacheResult {
  peers: number
  entries: number
  /** Fraction of (peer, entry) pairs delivered, over all entries. */
  coverage: number
  /** The worst entry's coverage. */
  minCoverage: number
  p50ConvergenceMs: number
  p99ConvergenceMs: number
  /** Messages sent per entry (eager + lazy), to weigh against the flood. */
  messagesPerEntry: number
  forgedPublished: number
  forgedAccepted: number
  flood: { coverage: number, p50ConvergenceMs: number, p99ConvergenceMs: number, messagesPerEntry: number }
  bfs: { p50ConvergenceMs: number, p99ConvergenceMs: number, meanHopMs: number, maxHops: number }
  /** Coverage over time since publication (all entries pooled): [ms, fraction]. */
  series: { gossip: Array<[number, number]>, flood: Array<[number, number]>, bfs: Array<[number, number]> }
}

interface Graph {
  n: number
  mesh: number[][]
  conns: number[][]
  lat: Map<number, number>
}

const HORIZON_MS = 30_000
/** Heartbeats an entry stays in the gossip window (gossipsub's mcache_gossip). */
const GOSSIP_WINDOWS = 3
const VALIDATION_MS = 1

function key (a: number, b: number): number {
  return a < b ? a * 1_000_003 + b : b * 1_000_003 + a
}

function buildGraph (n: number, c: Scenario['cache'], rng: Rng): Graph {
  const mesh: Array<Set<number>> = Array.from({ length: n }, () => new Set())
  const conns: Array<Set<number>> = Array.from({ length: n }, () => new Set())
  const lat = new Map<number, number>()
  const link = (a: number, b: number, isMesh: boolean): void => {
    if (a === b) return
    conns[a].add(b)
    conns[b].add(a)
    if (isMesh) { mesh[a].add(b); mesh[b].add(a) }
    const k = key(a, b)
    if (!lat.has(k)) lat.set(k, c.linkMinMs + rng.float() * (c.linkMaxMs - c.linkMinMs))
  }
  // Each peer grafts half its degree; the other half comes from peers grafting it.
  for (let i = 0; i < n; i++) for (let k = 0; k < Math.ceil(c.degree / 2); k++) link(i, rng.int(n), true)
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < Math.ceil(Math.max(0, c.floodDegree - c.degree) / 2); k++) link(i, rng.int(n), false)
  }
  return { n, mesh: mesh.map(s => [...s].sort((a, b) => a - b)), conns: conns.map(s => [...s].sort((a, b) => a - b)), lat }
}

interface Spread { times: Float64Array, messages: number }

function spread (g: Graph, origin: number, forwards: Uint8Array, mode: 'gossip' | 'flood', c: Scenario['cache'], rng: Rng): Spread {
  const q = new EventQueue()
  const times = new Float64Array(g.n).fill(Infinity)
  let messages = 0
  const receive = (v: number, from: number): void => {
    if (times[v] !== Infinity) return
    times[v] = q.now
    if (forwards[v] === 0 && v !== origin) return
    const targets = mode === 'flood' ? g.conns[v] : g.mesh[v]
    for (const u of targets) {
      if (u === from) continue
      messages++
      q.at(q.now + VALIDATION_MS + (g.lat.get(key(v, u)) as number), () => { receive(u, v) })
    }
  }
  if (mode === 'gossip' && c.lazyDegree > 0) {
    for (let v = 0; v < g.n; v++) {
      if (forwards[v] === 0) continue
      const beat = (): void => {
        if (times[v] !== Infinity && q.now - times[v] <= GOSSIP_WINDOWS * c.heartbeatMs) {
          const others = g.conns[v].filter(u => !g.mesh[v].includes(u))
          for (let k = 0; k < Math.min(c.lazyDegree, others.length); k++) {
            const u = others[rng.int(others.length)]
            messages++
            if (times[u] !== Infinity) continue
            const l = g.lat.get(key(v, u)) as number
            messages += 2 // IWANT and the entry
            q.at(q.now + 3 * l + VALIDATION_MS, () => { receive(u, v) })
          }
        }
        if (q.now + c.heartbeatMs <= HORIZON_MS) q.after(c.heartbeatMs, beat)
      }
      q.at(rng.float() * c.heartbeatMs, beat)
    }
  }
  q.at(0, () => { receive(origin, -1) })
  q.runUntil(HORIZON_MS, () => false)
  return { times, messages }
}

function hopsFrom (g: Graph, origin: number): Int32Array {
  const hops = new Int32Array(g.n).fill(-1)
  hops[origin] = 0
  const queue = [origin]
  for (let h = 0; h < queue.length; h++) {
    const v = queue[h]
    for (const u of g.mesh[v]) if (hops[u] < 0) { hops[u] = hops[v] + 1; queue.push(u) }
  }
  return hops
}

export function runCacheModel (s: Scenario, rng: Rng): CacheResult {
  const c = s.cache
  const n = c.peers > 0 ? c.peers : s.peers
  const g = buildGraph(n, c, rng.fork('graph'))
  const forwards = new Uint8Array(n).fill(1)
  const order = rng.fork('roles').shuffled(Array.from({ length: n }, (_, i) => i))
  const silent = Math.round(c.nonForwarding * n)
  for (let k = 0; k < silent; k++) forwards[order[k]] = 0
  const honestForwarders = order.slice(silent)
  let meanHop = 0
  for (const l of g.lat.values()) meanHop += l
  meanHop = meanHop / Math.max(1, g.lat.size) + VALIDATION_MS

  const gossip: number[] = []
  const flood: number[] = []
  const bfs: number[] = []
  let delivered = 0
  let floodDelivered = 0
  let minCoverage = 1
  let messages = 0
  let floodMessages = 0
  let maxHops = 0
  const originRng = rng.fork('origins')
  const gossipRng = rng.fork('gossip')
  for (let e = 0; e < c.entries; e++) {
    const origin = honestForwarders[originRng.int(honestForwarders.length)]
    const a = spread(g, origin, forwards, 'gossip', c, gossipRng)
    const b = spread(g, origin, forwards, 'flood', c, gossipRng)
    const h = hopsFrom(g, origin)
    let got = 0
    for (let v = 0; v < n; v++) {
      if (v === origin) continue
      if (a.times[v] !== Infinity) { gossip.push(a.times[v]); got++ }
      if (b.times[v] !== Infinity) { flood.push(b.times[v]); floodDelivered++ }
      if (h[v] > 0) { bfs.push(h[v] * meanHop); maxHops = Math.max(maxHops, h[v]) }
    }
    delivered += got
    minCoverage = Math.min(minCoverage, got / (n - 1))
    messages += a.messages
    floodMessages += b.messages
  }
  const pairs = c.entries * (n - 1)
  gossip.sort((x, y) => x - y)
  flood.sort((x, y) => x - y)
  bfs.sort((x, y) => x - y)
  return {
    peers: n,
    entries: c.entries,
    coverage: delivered / pairs,
    minCoverage,
    p50ConvergenceMs: pct(gossip, 0.5, delivered, pairs),
    p99ConvergenceMs: pct(gossip, 0.99, delivered, pairs),
    messagesPerEntry: messages / c.entries,
    // The validator rejects a forged signature at the first honest hop: nothing is stored or relayed.
    forgedPublished: c.forged,
    forgedAccepted: 0,
    flood: {
      coverage: floodDelivered / pairs,
      p50ConvergenceMs: pct(flood, 0.5, floodDelivered, pairs),
      p99ConvergenceMs: pct(flood, 0.99, floodDelivered, pairs),
      messagesPerEntry: floodMessages / c.entries
    },
    bfs: { p50ConvergenceMs: pct(bfs, 0.5, bfs.length, pairs), p99ConvergenceMs: pct(bfs, 0.99, bfs.length, pairs), meanHopMs: meanHop, maxHops },
    series: { gossip: coverageSeries(gossip, pairs), flood: coverageSeries(flood, pairs), bfs: coverageSeries(bfs, pairs) }
  }
}

/** Quantile over all pairs: a pair never reached counts as infinitely late. */
export function pct (sortedTimes: number[], q: number, got: number, pairs: number): number {
  const rank = Math.ceil(q * pairs)
  if (rank > got) return Infinity
  return Math.round(sortedTimes[Math.max(0, rank - 1)] * 10) / 10
}

export function coverageSeries (sortedTimes: number[], pairs: number): Array<[number, number]> {
  const out: Array<[number, number]> = [[0, 0]]
  if (sortedTimes.length === 0) return out
  const steps = 60
  for (let k = 1; k <= steps; k++) {
    const i = Math.min(sortedTimes.length - 1, Math.floor((k / steps) * sortedTimes.length) - 1)
    if (i >= 0) out.push([Math.round(sortedTimes[i]), (i + 1) / pairs])
  }
  return out
}
