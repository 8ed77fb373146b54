import { createHash } from 'node:crypto'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { jainIndex, maxOverMean, mean, quantilePoints, quantileSorted, round, sorted } from '../metrics.js'
import { Rng } from '../prng.js'
import { runIdeal } from '../model/ideal.js'
import { coverageSeries, pct } from '../model/cache.js'
import { CACHE_TOPIC } from '../../src/node/config.js'
import { HONEST, buildWorld, isUp } from '../model/world.js'
import { Cluster } from './cluster.js'
import { localFederation } from '../../src/services/federation/seed.js'
import { SimNetwork } from './sim-transport.js'
import { observeModes } from './modes.js'
import type { Scenario } from '../scenario.js'
import type { PolicySummary, RunResult } from '../report/types.js'
import type { TaskHandler } from '../../src/services/tasks/handlers.js'

export const REAL_STACK_NOTES = [
  'Real-stack mode: every peer is a real fedmesh node (createFederationNode: libp2p with Noise, yamux, identify, ping, gossipsub, and fedmesh\'s membership, reputation, connectivity, capacity, latency, cache and task services) in one process.',
  'Links: a simulated network on /memory addresses with the scenario\'s per-link one-way latency (a pipe: order kept, no queueing behind other bytes), and partitions that drop bytes silently (no FIN, no RST).',
  'Tasks: the scenario\'s seeded trace, replayed in wall-clock time; each task is a `work` task that holds a slot for its service time (× the peer\'s slow factor).',
  'All peers share this machine\'s cores: CPU contention adds delay that separate machines would not have, so figures are pessimistic; the sim profile advertises every 5 s unless realStack.adIntervalMs says otherwise (and at once on a load change, at most every second), pings every 30 s and tolerates 12 s of silence (2.5 ad intervals when longer).',
  'Capacity ads travel one hop (as in the daemon): each node routes among the peers it is connected to (about 2 x dialsPerPeer); model mode with routing.viewSize set to that compares like with like.',
  'Black-hole peers hold tasks without answering; liars and wrong-result peers are modelled in model mode only.',
  'The ideal is computed on the same world and trace as in model mode (it does not run on the real stack).',
  'Cache baselines come from the actual connection graph at the end of the run: a naive flood = shortest one-way-latency paths from the writer over every connection (+1 ms validation per hop), BFS = hops over connections x the mean one-hop latency. Gossip messages per entry are estimated from the gossipsub meshes (each node that got the entry forwards it to its mesh peers but the sender); IHAVE/IWANT are not counted.',
  'Decisions count what each task\'s RunDoc says (where it ran, tries, error codes); the dispatcher\'s internal steps (bounces, reservations) are not visible from outside the node.'
]

export interface RealStackOptions {
  log?: (line: string) => void
}

/**
 * Real-stack mode: replay the scenario's world and task trace on N real nodes. What the
 * simulation measures here is the daemon's own code under load, latency, churn and partitions.
 */
export async function runRealStack (scenario: Scenario, options: RealStackOptions = {}): Promise<RunResult> {
  const log = options.log ?? (() => {})
  const wallStart = performance.now()
  const cpuStart = process.cpuUsage()
  const world = buildWorld(scenario, scenario.seed)
  const rng = new Rng(scenario.seed).fork('real-stack')
  let t0 = Infinity
  const now = (): number => performance.now() - t0
  const net = new SimNetwork({
    oneWayMs: (a, b) => world.net.oneWay(a, b),
    reachable: (a, b) => world.net.reachable(a, b, Math.max(0, now()))
  })

  const applied = new Map<string, Map<number, number>>()
  const cluster = new Cluster({
    peers: world.peers,
    net,
    concurrency: (i) => world.concurrency[i],
    handlers: (i) => ({ work: workHandler(world.slow[i], world.malice[i] !== HONEST) }),
    onCacheApplied: (i, entry) => {
      let m = applied.get(entry.key)
      if (m == null) { m = new Map(); applied.set(entry.key, m) }
      if (!m.has(i)) m.set(i, performance.now())
    },
    dialsPerPeer: scenario.realStack.dialsPerPeer,
    federation: scenario.realStack.federation ? await localFederation('simulation') : undefined,
    capacityIntervalMs: scenario.realStack.adIntervalMs,
    random: () => rng.float(),
    log
  })
  const lag = monitorEventLoopDelay({ resolution: 20 })
  let peakRss = 0
  const rssTimer = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss) }, 500)
  try {
    await cluster.start()
    const startMs = performance.now() - wallStart
    log(`nodes started and connected in ${Math.round(startMs)} ms, rss ${Math.round(process.memoryUsage().rss / 1e6)} MB`)
    log('waiting for capacity advertisements to spread')
    await settle(cluster, world.peers, log)
    t0 = performance.now()
    lag.enable()
    const modes = world.partition != null ? observeModes(cluster, now) : undefined
    const [routing, cache] = await Promise.all([
      replayTrace(world, cluster, now, log),
      scenario.cache.enabled && scenario.realStack.cacheWrites > 0 ? writeAndWatch(world, cluster, applied, scenario.realStack.cacheWrites, rng, log) : Promise.resolve(undefined)
    ])
    lag.disable()
    const ideal = runIdeal(world)
    const idealMean = mean(ideal.responses)
    const idealP99 = quantileSorted(sorted(ideal.responses), 0.99)
    const summary = (name: string, responses: number[], util: number[], measured: number, lost: number): PolicySummary => {
      const s = sorted(Float64Array.from(responses))
      const m = mean(s)
      const p99 = quantileSorted(s, 0.99)
      return {
        name,
        tasks: measured,
        completed: s.length,
        lost,
        meanMs: round(m, 2),
        p50Ms: round(quantileSorted(s, 0.5), 2),
        p99Ms: round(p99, 2),
        maxMs: round(s.length > 0 ? s[s.length - 1] : NaN, 2),
        meanResponseVsIdeal: round(m / idealMean, 4),
        p99ResponseVsIdeal: round(p99 / idealP99, 4),
        jainIndex: round(jainIndex(util), 4),
        maxOverMeanLoad: round(maxOverMean(util), 4),
        cdf: quantilePoints(s),
        loadPerPeer: util.map(u => round(u, 3))
      }
    }
    const honestUtil = (u: ArrayLike<number>): number[] => Array.from(u).filter((_, i) => world.malice[i] === HONEST)
    const fedmesh = { ...summary('fedmesh', routing.responses, honestUtil(routing.utilisation), routing.measured, routing.lost), decisions: routing.decisions }
    const result: RunResult = {
      mode: 'real-stack',
      scenario: scenario.name,
      seed: scenario.seed,
      peers: world.peers,
      durationMs: scenario.durationMs,
      config: scenario,
      routing: {
        policy: 'fedmesh',
        offeredLoad: scenario.workload.load,
        fedmesh,
        ideal: summary('ideal', Array.from(ideal.responses), honestUtil(ideal.utilisation), ideal.measured, ideal.lost),
        baselines: {},
        variants: [],
        notAccepted: routing.notAccepted
      },
      resources: { wallMs: 0 },
      notes: [...REAL_STACK_NOTES]
    }
    if (cache != null) result.cache = cache
    if (routing.failures.length > 0) result.notes.push(`First failed tasks: ${routing.failures.join(' | ')}`)
    if (modes != null && world.partition != null) result.partition = modes.finish(world.partition)
    const cpu = process.cpuUsage(cpuStart)
    peakRss = Math.max(peakRss, process.memoryUsage().rss)
    result.resources = {
      wallMs: Math.round(performance.now() - wallStart),
      peakRssMb: Math.round(peakRss / 1024 / 1024),
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      startMs: Math.round(startMs),
      eventLoopDelayP50Ms: round(lag.percentile(50) / 1e6, 1),
      eventLoopDelayP99Ms: round(lag.percentile(99) / 1e6, 1),
      eventLoopDelayMaxMs: round(lag.max / 1e6, 1)
    }
    log(`event loop delay: p50 ${result.resources.eventLoopDelayP50Ms} ms, p99 ${result.resources.eventLoopDelayP99Ms} ms, max ${result.resources.eventLoopDelayMaxMs} ms; peak rss ${result.resources.peakRssMb} MB`)
    log(`real-stack fedmesh: mean ${fedmesh.meanMs} ms (${fedmesh.meanResponseVsIdeal}x ideal), p99 ${fedmesh.p99Ms} ms (${fedmesh.p99ResponseVsIdeal}x), jain ${fedmesh.jainIndex}, lost ${fedmesh.lost}`)
    return result
  } finally {
    clearInterval(rssTimer)
    log('stopping nodes')
    await cluster.stop()
  }
}

/** The simulated work: hold a slot for the service time; black holes never answer. */
function workHandler (slow: number, blackhole: boolean): TaskHandler {
  return async (input, ctx) => {
    const { ms, data } = JSON.parse(new TextDecoder().decode(input)) as { ms: number, data: string }
    const hold = blackhole ? 3_600_000 : ms * slow
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, hold)
      ctx.signal.addEventListener('abort', () => { clearTimeout(timer); reject(ctx.signal.reason) }, { once: true })
    })
    return new TextEncoder().encode(JSON.stringify({ hex: createHash('sha256').update(data).digest('hex') }))
  }
}

/** Wait until most nodes hold an ad from each peer they are connected to, or 30 s. */
async function settle (cluster: Cluster, peers: number, log: (l: string) => void): Promise<void> {
  const deadline = performance.now() + 30_000
  while (performance.now() < deadline) {
    // Ads travel one hop: a node's table is full when it holds each peer it is connected to.
    let known = 0
    let neighbours = 0
    for (let i = 0; i < peers; i++) {
      const node = cluster.node(i)
      if (node == null) continue
      const connected = new Set(node.libp2p.getConnections().map(c => c.remotePeer.toString()))
      neighbours += connected.size
      known += node.libp2p.services.capacity.table.fresh().filter(e => connected.has(e.peerId)).length
    }
    const fraction = known / Math.max(1, neighbours)
    if (fraction > 0.9) {
      log(`capacity tables ${Math.round(fraction * 100)}% full`)
      return
    }
    await new Promise(resolve => setTimeout(resolve, 500))
  }
  log('capacity tables still filling after 30 s; starting anyway')
}

interface RoutingRun {
  decisions: Record<string, number>
  /** The first few distinct failure messages (for the report's notes). */
  failures: string[]
  responses: number[]
  utilisation: Float64Array
  measured: number
  lost: number
  notAccepted: number
}

/** Submit every task of the trace on its origin at its time; churn peers on the world's schedule. */
async function replayTrace (world: ReturnType<typeof buildWorld>, cluster: Cluster, now: () => number, log: (l: string) => void): Promise<RoutingRun> {
  const { trace, scenario } = world
  const responses: number[] = []
  const busyMs = new Float64Array(world.peers)
  const peerIndex = new Map<string, number>()
  for (let i = 0; i < world.peers; i++) {
    const id = cluster.node(i)?.peerId.toString()
    if (id != null) peerIndex.set(id, i)
  }
  let measured = 0
  let lost = 0
  let notAccepted = 0
  let settled = 0
  const pending: Array<Promise<void>> = []
  const decisions: Record<string, number> = {}
  const count = (what: string): void => { decisions[what] = (decisions[what] ?? 0) + 1 }
  const failures = new Set<string>()
  const overhead = new Map<string, { n: number, ms: number }>()
  const churn = scheduleChurn(world, cluster, now)
  let next = 0
  let lastLog = 0
  while (next < trace.length) {
    const t = now()
    while (next < trace.length && trace.at[next] <= t) {
      const k = next++
      const origin = trace.origin[k]
      const node = cluster.node(origin)
      if (node == null || !isUp(world, origin, trace.at[k])) { notAccepted++; continue }
      const counted = trace.at[k] >= scenario.warmupMs
      if (counted) measured++
      const submitted = performance.now()
      const input = new TextEncoder().encode(JSON.stringify({ ms: Math.round(trace.service[k]), data: `task-${k}` }))
      pending.push(node.run({ kind: 'work', input, timeoutMs: scenario.workload.taskTimeoutMs, taskId: `sim-${k}` }).then(doc => {
        settled++
        count(doc.peer === node.peerId.toString() ? 'ran-local' : 'ran-remote')
        count(doc.attempts <= 1 ? 'tries-1' : doc.attempts === 2 ? 'tries-2' : 'tries-3+')
        if (doc.status !== 'ok') {
          count(`failed-${doc.errorCode ?? 'unknown'}`)
          if (failures.size < 5) failures.add(`task ${k} from peer ${origin} after ${doc.attempts} tries, last on peer ${peerIndex.get(doc.peer) ?? doc.peer}: ${doc.errorCode ?? ''} ${doc.error ?? ''}`.slice(0, 300))
          if (counted) lost++
          return
        }
        const where = peerIndex.get(doc.peer)
        if (where != null) busyMs[where] += trace.service[k] * world.slow[where]
        if (counted) {
          const response = performance.now() - submitted
          responses.push(response)
          // Time beyond the work itself, split by where it ran and how many tries it took.
          const cat = `${doc.peer === node.peerId.toString() ? 'local' : 'remote'}-${doc.attempts <= 1 ? 'tries-1' : 'tries-2+'}`
          const o = overhead.get(cat) ?? { n: 0, ms: 0 }
          o.n++
          o.ms += response - trace.service[k] * (where != null ? world.slow[where] : 1)
          overhead.set(cat, o)
        }
      }, (err: Error) => {
        settled++
        count('run-threw')
        if (failures.size < 5) failures.add(`task ${k}: ${err.message}`.slice(0, 300))
        if (counted) lost++
      }))
    }
    if (t - lastLog > 2_000) {
      lastLog = t
      let running = 0
      let queued = 0
      for (let i = 0; i < world.peers; i++) {
        const l = cluster.node(i)?.executor.load()
        running += l?.running ?? 0
        queued += l?.queueDepth ?? 0
      }
      log(`t=${Math.round(t / 1000)} s: ${next}/${trace.length} tasks submitted, ${settled} settled (${responses.length} measured ok); executors: ${running} running, ${queued} queued`)
    }
    const wait = next < trace.length ? Math.max(0, Math.min(50, trace.at[next] - now())) : 0
    await new Promise(resolve => setTimeout(resolve, wait))
  }
  log('all tasks submitted; waiting for the last results')
  await Promise.all(pending)
  await churn
  for (const [cat, o] of overhead) decisions[`overhead-ms-${cat}`] = Math.round(o.ms / o.n)
  const utilisation = new Float64Array(world.peers)
  for (let i = 0; i < world.peers; i++) utilisation[i] = busyMs[i] / (world.concurrency[i] * scenario.durationMs)
  return { failures: [...failures], decisions: Object.fromEntries(Object.entries(decisions).sort(([a], [b]) => (a < b ? -1 : 1))), responses, utilisation, measured, lost, notAccepted }
}

async function scheduleChurn (world: ReturnType<typeof buildWorld>, cluster: Cluster, now: () => number): Promise<void> {
  const events: Array<{ at: number, peer: number, kill: boolean }> = []
  for (let i = 0; i < world.peers; i++) {
    if (!Number.isFinite(world.downAt[i])) continue
    events.push({ at: world.downAt[i], peer: i, kill: true }, { at: world.upAt[i], peer: i, kill: false })
  }
  events.sort((a, b) => a.at - b.at)
  for (const e of events) {
    await new Promise(resolve => setTimeout(resolve, Math.max(0, e.at - now())))
    await (e.kill ? cluster.kill(e.peer) : cluster.restart(e.peer))
  }
}

/** Hop validation time added per hop in the baselines (as in model mode). */
const VALIDATION_MS = 1

/**
 * Write entries from random live nodes, time their arrival everywhere, and compare with the
 * baselines on the actual connection graph: a naive flood (every node forwards on every
 * connection: shortest one-way-latency paths) and BFS hops x the mean one-hop latency.
 */
async function writeAndWatch (world: ReturnType<typeof buildWorld>, cluster: Cluster, applied: Map<string, Map<number, number>>, writes: number, rng: Rng, log: (l: string) => void): Promise<NonNullable<RunResult['cache']>> {
  const peers = world.peers
  const written: Array<{ key: string, at: number, writer: number }> = []
  for (let w = 0; w < writes; w++) {
    const writer = rng.int(peers)
    const node = cluster.node(writer)
    if (node == null) continue
    const key = `sim/${w}`
    const at = performance.now()
    await node.cachePut(key, { w })
    written.push({ key, at, writer })
    await new Promise(resolve => setTimeout(resolve, 500))
  }
  // Wait until every entry reached every live node (or 15 s): a busy process delays gossip,
  // and a fixed wait would cut convergence short rather than measure it.
  const settled = (): boolean => written.every(({ key, writer }) => cluster.peers.every(p =>
    p.node == null || p.index === writer || applied.get(key)?.has(p.index) === true))
  const deadline = performance.now() + 15_000
  while (!settled() && performance.now() < deadline) await new Promise(resolve => setTimeout(resolve, 250))
  const graph = connectionGraph(cluster)
  const live = cluster.peers.filter(p => p.node != null).map(p => p.index)
  const isLive = new Uint8Array(peers)
  for (const i of live) isLive[i] = 1
  let edges = 0
  let hopSum = 0
  for (let a = 0; a < peers; a++) for (const b of graph[a]) if (a < b) { edges++; hopSum += world.net.oneWay(a, b) + VALIDATION_MS }
  const meanHop = edges > 0 ? hopSum / edges : 0
  const mesh = meshSizes(cluster)
  const gossip: number[] = []
  const flood: number[] = []
  const bfs: number[] = []
  let delivered = 0
  let floodDelivered = 0
  let pairs = 0
  let full = 0
  let minCoverage = 1
  let maxHops = 0
  let messages = 0
  let floodMessages = 0
  for (const { key, at, writer } of written) {
    const times = applied.get(key) ?? new Map<number, number>()
    const others = live.filter(i => i !== writer).length
    pairs += others
    let got = 0
    messages += mesh[writer]
    for (const [i, t] of times) {
      if (i === writer || isLive[i] === 0) continue
      gossip.push(t - at)
      got++
      messages += Math.max(0, mesh[i] - 1)
    }
    delivered += got
    if (got >= others) full++
    minCoverage = Math.min(minCoverage, others > 0 ? got / others : 1)
    const dist = shortestPaths(graph, writer, (a, b) => world.net.oneWay(a, b) + VALIDATION_MS)
    const hops = hopsFrom(graph, writer)
    for (const i of live) {
      if (i === writer) continue
      if (Number.isFinite(dist[i])) { flood.push(dist[i]); floodDelivered++; floodMessages += Math.max(0, graph[i].length - 1) }
      if (hops[i] > 0) { bfs.push(hops[i] * meanHop); maxHops = Math.max(maxHops, hops[i]) }
    }
    floodMessages += graph[writer].length
  }
  gossip.sort((a, b) => a - b)
  flood.sort((a, b) => a - b)
  bfs.sort((a, b) => a - b)
  const entries = Math.max(1, written.length)
  const p99 = pct(gossip, 0.99, delivered, pairs)
  log(`cache: ${written.length} entries, ${full} reached every live node; p99 ${p99} ms (flood ${pct(flood, 0.99, floodDelivered, pairs)} ms, BFS x hop ${pct(bfs, 0.99, bfs.length, pairs)} ms)`)
  return {
    peers,
    entries: written.length,
    coverage: round(pairs > 0 ? delivered / pairs : 0, 4),
    minCoverage: round(minCoverage, 4),
    p50ConvergenceMs: pct(gossip, 0.5, delivered, pairs),
    p99ConvergenceMs: p99,
    forgedPublished: 0,
    forgedAccepted: 0,
    messagesPerEntry: round(messages / entries, 1),
    flood: {
      coverage: round(pairs > 0 ? floodDelivered / pairs : 0, 4),
      p50ConvergenceMs: pct(flood, 0.5, floodDelivered, pairs),
      p99ConvergenceMs: pct(flood, 0.99, floodDelivered, pairs),
      messagesPerEntry: round(floodMessages / entries, 1)
    },
    bfs: { p50ConvergenceMs: pct(bfs, 0.5, bfs.length, pairs), p99ConvergenceMs: pct(bfs, 0.99, bfs.length, pairs), meanHopMs: round(meanHop, 2), maxHops },
    series: { gossip: coverageSeries(gossip, pairs), flood: coverageSeries(flood, pairs), bfs: coverageSeries(bfs, pairs) }
  }
}

/** Who is connected to whom now (by peer index), from every live node's open connections. */
function connectionGraph (cluster: Cluster): number[][] {
  const index = new Map<string, number>()
  cluster.peers.forEach((p, i) => { const id = p.node?.peerId.toString(); if (id != null) index.set(id, i) })
  const adj = cluster.peers.map(() => new Set<number>())
  cluster.peers.forEach((p, i) => {
    for (const c of p.node?.libp2p.getConnections() ?? []) {
      if (c.status !== 'open') continue
      const j = index.get(c.remotePeer.toString())
      if (j == null || j === i) continue
      adj[i].add(j)
      adj[j].add(i)
    }
  })
  return adj.map(s => [...s].sort((a, b) => a - b))
}

/** Gossipsub mesh size of every node on the cache topic (0 when down). */
function meshSizes (cluster: Cluster): number[] {
  return cluster.peers.map(p => {
    try {
      // The implementation has it; the exported interface does not.
      const pubsub = p.node?.libp2p.services.pubsub as unknown as { getMeshPeers?: (topic: string) => string[] } | undefined
      return pubsub?.getMeshPeers?.(CACHE_TOPIC).length ?? 0
    } catch {
      return 0
    }
  })
}

/** Dijkstra (O(n^2): a few hundred to a thousand nodes). */
function shortestPaths (graph: number[][], from: number, w: (a: number, b: number) => number): Float64Array {
  const n = graph.length
  const dist = new Float64Array(n).fill(Infinity)
  const done = new Uint8Array(n)
  dist[from] = 0
  for (;;) {
    let v = -1
    for (let i = 0; i < n; i++) if (done[i] === 0 && Number.isFinite(dist[i]) && (v < 0 || dist[i] < dist[v])) v = i
    if (v < 0) return dist
    done[v] = 1
    for (const u of graph[v]) {
      const d = dist[v] + w(v, u)
      if (d < dist[u]) dist[u] = d
    }
  }
}

function hopsFrom (graph: number[][], from: number): Int32Array {
  const hops = new Int32Array(graph.length).fill(-1)
  hops[from] = 0
  const queue = [from]
  for (let h = 0; h < queue.length; h++) {
    const v = queue[h]
    for (const u of graph[v]) if (hops[u] < 0) { hops[u] = hops[v] + 1; queue.push(u) }
  }
  return hops
}
