import { createHash } from 'node:crypto'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { jainIndex, maxOverMean, mean, quantilePoints, quantileSorted, round, sorted } from '../metrics.js'
import { Rng } from '../prng.js'
import { runIdeal } from '../model/ideal.js'
import { HONEST, buildWorld, isUp } from '../model/world.js'
import { Cluster } from './cluster.js'
import { SimNetwork } from './sim-transport.js'
import { observeModes } from './modes.js'
import type { Scenario } from '../scenario.js'
import type { PolicySummary, RunResult } from '../report/types.js'
import type { TaskHandler } from '../../src/services/tasks/handlers.js'

export const REAL_STACK_NOTES = [
  'Real-stack mode: every peer is a real fedmesh node (createFederationNode: libp2p with Noise, yamux, identify, ping, gossipsub, and fedmesh\'s membership, reputation, connectivity, capacity, latency, cache and task services) in one process.',
  'Links: a simulated network on /memory addresses with the scenario\'s per-link one-way latency (a pipe: order kept, no queueing behind other bytes), and partitions that drop bytes silently (no FIN, no RST).',
  'Tasks: the scenario\'s seeded trace, replayed in wall-clock time; each task is a `work` task that holds a slot for its service time (× the peer\'s slow factor).',
  'All peers share this machine\'s cores: CPU contention adds delay that separate machines would not have, so figures are pessimistic; the sim profile advertises every 2 s and tolerates 10 s of silence.',
  'Black-hole peers hold tasks without answering; liars and wrong-result peers are modelled in model mode only.',
  'The ideal is computed on the same world and trace as in model mode (it does not run on the real stack).'
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
    random: () => rng.float(),
    log
  })
  const lag = monitorEventLoopDelay({ resolution: 20 })
  lag.enable()
  let peakRss = 0
  const rssTimer = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss) }, 500)
  try {
    await cluster.start()
    log('waiting for capacity advertisements to spread')
    await settle(cluster, world.peers, log)
    t0 = performance.now()
    const modes = world.partition != null ? observeModes(cluster, now) : undefined
    const [routing, cache] = await Promise.all([
      replayTrace(world, cluster, now, log),
      scenario.cache.enabled ? writeAndWatch(cluster, applied, world.peers, rng, log) : Promise.resolve(undefined)
    ])
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
    const fedmesh = summary('fedmesh', routing.responses, honestUtil(routing.utilisation), routing.measured, routing.lost)
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
    if (cache != null) result.cache = cache as unknown as RunResult['cache']
    if (modes != null && world.partition != null) result.partition = modes.finish(world.partition)
    log(`event loop delay: p50 ${round(lag.percentile(50) / 1e6, 1)} ms, p99 ${round(lag.percentile(99) / 1e6, 1)} ms, max ${round(lag.max / 1e6, 1)} ms`)
    log(`real-stack fedmesh: mean ${fedmesh.meanMs} ms (${fedmesh.meanResponseVsIdeal}x ideal), p99 ${fedmesh.p99Ms} ms, lost ${fedmesh.lost}`)
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

/** Wait until most nodes know most others' capacity (gossip meshes formed), or 30 s. */
async function settle (cluster: Cluster, peers: number, log: (l: string) => void): Promise<void> {
  const deadline = performance.now() + 30_000
  while (performance.now() < deadline) {
    let known = 0
    for (let i = 0; i < peers; i++) known += cluster.node(i)?.libp2p.services.capacity.table.fresh().length ?? 0
    const fraction = known / (peers * Math.max(1, peers - 1))
    if (fraction > 0.9) {
      log(`capacity tables ${Math.round(fraction * 100)}% full`)
      return
    }
    await new Promise(resolve => setTimeout(resolve, 500))
  }
  log('capacity tables still filling after 30 s; starting anyway')
}

interface RoutingRun {
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
  const pending: Array<Promise<void>> = []
  const stats = new Map<string, number>()
  const errs = new Set<string>()
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
        stats.set(`${doc.peer === node.peerId.toString() ? 'local' : 'remote'} attempts=${doc.attempts} ${doc.status} ${doc.errorCode ?? ''}`, (stats.get(`${doc.peer === node.peerId.toString() ? 'local' : 'remote'} attempts=${doc.attempts} ${doc.status} ${doc.errorCode ?? ''}`) ?? 0) + 1)
        if (doc.status !== "ok") { if (counted) lost++; if (errs.size < 8) errs.add(String(doc.error)); return }
        const where = peerIndex.get(doc.peer)
        if (where != null) busyMs[where] += trace.service[k] * world.slow[where]
        if (counted) responses.push(performance.now() - submitted)
      }, () => { if (counted) lost++ }))
    }
    if (t - lastLog > 5_000) {
      lastLog = t
      log(`t=${Math.round(t / 1000)} s: ${next}/${trace.length} tasks submitted, ${responses.length} measured done`)
    }
    const wait = next < trace.length ? Math.max(0, Math.min(50, trace.at[next] - now())) : 0
    await new Promise(resolve => setTimeout(resolve, wait))
  }
  log('all tasks submitted; waiting for the last results')
  await Promise.all(pending)
  log(JSON.stringify([...stats])); log(JSON.stringify([...errs]))
  await churn
  const utilisation = new Float64Array(world.peers)
  for (let i = 0; i < world.peers; i++) utilisation[i] = busyMs[i] / (world.concurrency[i] * scenario.durationMs)
  return { responses, utilisation, measured, lost, notAccepted }
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

/** Write entries from random live nodes and time their arrival everywhere. */
async function writeAndWatch (cluster: Cluster, applied: Map<string, Map<number, number>>, peers: number, rng: Rng, log: (l: string) => void): Promise<Record<string, unknown>> {
  const writes = 20
  const written: Array<{ key: string, at: number }> = []
  for (let w = 0; w < writes; w++) {
    const writer = rng.int(peers)
    const node = cluster.node(writer)
    if (node == null) continue
    const key = `sim/${w}`
    const at = performance.now()
    await node.cachePut(key, { w })
    written.push({ key, at })
    await new Promise(resolve => setTimeout(resolve, 500))
  }
  await new Promise(resolve => setTimeout(resolve, 3_000))
  const delays: number[] = []
  let full = 0
  let minCoverage = 1
  for (const { key, at } of written) {
    const times = applied.get(key) ?? new Map()
    const live = cluster.peers.filter(p => p.node != null).length
    const coverage = times.size / Math.max(1, live)
    minCoverage = Math.min(minCoverage, coverage)
    if (coverage >= 1) full++
    for (const t of times.values()) delays.push(t - at)
  }
  const s = sorted(Float64Array.from(delays))
  log(`cache: ${written.length} entries, ${full} reached every live node; p99 ${round(quantileSorted(s, 0.99), 1)} ms`)
  return {
    peers,
    entries: written.length,
    coverage: round(full / Math.max(1, written.length), 3),
    minCoverage: round(minCoverage, 3),
    p50ConvergenceMs: round(quantileSorted(s, 0.5), 1),
    p99ConvergenceMs: round(quantileSorted(s, 0.99), 1),
    forgedPublished: 0,
    forgedAccepted: 0
  }
}
