/**
 * Everything about a run that is decided before it starts, from the seed alone: where the peers
 * are, their slots and speed, who is malicious, when each churned peer dies and returns, the
 * partition, each node's view, and the task arrival trace. Every policy (fedmesh, the baselines,
 * the ideal) replays this same world, so their figures compare decisions and nothing else.
 */
import { Rng, boundedParetoMean } from '../prng.js'
import { Network, planPartition } from './network.js'
import type { PartitionPlan } from './network.js'
import type { Scenario } from '../scenario.js'

export const HONEST = 0
export const LIAR = 1
export const BLACKHOLE = 2
export const WRONG = 3
export const MALICE_NAMES = ['honest', 'liar', 'blackhole', 'wrong'] as const

export interface Trace {
  /** Arrival time, ms (sorted). */
  at: Float64Array
  /** Peer that submits it. */
  origin: Int32Array
  /** Service time on a peer of speed 1, ms. */
  service: Float64Array
  readonly length: number
}

export interface World {
  scenario: Scenario
  seed: number
  peers: number
  net: Network
  concurrency: Int32Array
  /** Service time multiplier (1, or the slow factor). */
  slow: Float64Array
  /** HONEST, LIAR, BLACKHOLE or WRONG. */
  malice: Int8Array
  /** Kill and restart time of churned peers (Infinity when never killed). */
  downAt: Float64Array
  upAt: Float64Array
  partition: PartitionPlan | undefined
  /** Peers each node knows; undefined = everyone. */
  views: Int32Array[] | undefined
  trace: Trace
  honestSlots: number
  /**
   * 1 for a task whose run alone is longer than its budget even on the fastest honest peer: no
   * scheduler can answer it in time. Policies and the ideal count these apart from lost tasks.
   * (A task just under the line that only a run at its origin could finish in time, the network
   * taking the rest, is still counted lost if no policy runs it there.)
   */
  beyondBudget: Uint8Array
}

export function buildWorld (scenario: Scenario, seed: number): World {
  const root = new Rng(seed)
  const n = scenario.peers
  const net = new Network(n, scenario.network, root.fork('network'))
  const nodesRng = root.fork('nodes')
  const values = scenario.nodes.concurrency
  const weights = scenario.nodes.concurrencyWeights ?? values.map(() => 1)
  const concurrency = new Int32Array(n)
  for (let i = 0; i < n; i++) concurrency[i] = weighted(values, weights, nodesRng)

  const faults = scenario.faults
  const faultRng = root.fork('faults')
  const order = faultRng.shuffled(Array.from({ length: n }, (_, i) => i))
  const malice = new Int8Array(n)
  let cursor = 0
  if (faults.malicious != null) {
    const count = Math.min(n - 2, Math.round(faults.malicious.fraction * n))
    const kinds = faults.malicious.kinds.map(k => (k === 'liar' ? LIAR : k === 'blackhole' ? BLACKHOLE : WRONG))
    for (let k = 0; k < count; k++) malice[order[cursor++]] = kinds[k % kinds.length]
  }
  const slow = new Float64Array(n).fill(1)
  if (faults.slow != null) {
    const count = Math.round(faults.slow.fraction * n)
    for (let k = 0; k < count && cursor < n; k++) slow[order[cursor++]] = faults.slow.factor
  }
  const downAt = new Float64Array(n).fill(Infinity)
  const upAt = new Float64Array(n).fill(Infinity)
  if (faults.churn != null) {
    const count = Math.round(faults.churn.fraction * n)
    const from = scenario.warmupMs
    const to = Math.max(from + 1, scenario.durationMs - faults.churn.downMs)
    for (let k = 0; k < count && cursor < n; k++) {
      const p = order[cursor++]
      downAt[p] = from + faultRng.float() * (to - from)
      upAt[p] = downAt[p] + faults.churn.downMs
    }
  }
  const partition = faults.partition != null ? planPartition(n, faults.partition, root.fork('partition')) : undefined
  net.partition = partition

  let honestSlots = 0
  for (let i = 0; i < n; i++) if (malice[i] === HONEST) honestSlots += concurrency[i]

  const viewSize = scenario.routing.viewSize
  let views: Int32Array[] | undefined
  if (viewSize > 0 && viewSize < n - 1) {
    const vr = root.fork('views')
    views = []
    for (let i = 0; i < n; i++) {
      const seen = new Set<number>()
      while (seen.size < viewSize) {
        const p = vr.int(n)
        if (p !== i) seen.add(p)
      }
      views.push(Int32Array.from([...seen].sort((a, b) => a - b)))
    }
  }

  const trace = buildTrace(scenario, malice, honestSlots, root.fork('arrivals'))
  return { scenario, seed, peers: n, net, concurrency, slow, malice, downAt, upAt, partition, views, trace, honestSlots, beyondBudget: beyondBudget(scenario, trace, slow, malice) }
}

/** Poisson arrivals at the target load, plus flash crowds, from honest peers only. */
function buildTrace (s: Scenario, malice: Int8Array, honestSlots: number, rng: Rng): Trace {
  const honest: number[] = []
  for (let i = 0; i < malice.length; i++) if (malice[i] === HONEST) honest.push(i)
  const svc = s.workload.service
  const meanGap = svc.meanMs / (s.workload.load * honestSlots)
  const sampleService = serviceSampler(svc, rng.fork('service'))
  const events: Array<[number, number]> = []
  const originRng = rng.fork('origins')
  for (let t = rng.exponential(meanGap); t < s.durationMs; t += rng.exponential(meanGap)) {
    events.push([t, honest[originRng.int(honest.length)]])
  }
  s.workload.flashCrowds.forEach((fc, k) => {
    const crowdRng = rng.fork(`crowd-${k}`)
    const hot = crowdRng.shuffled(honest).slice(0, Math.max(1, Math.round(fc.originFraction * honest.length)))
    const gap = meanGap / Math.max(1e-9, fc.factor - 1)
    const end = Math.min(s.durationMs, fc.atMs + fc.durationMs)
    for (let t = fc.atMs + crowdRng.exponential(gap); t < end; t += crowdRng.exponential(gap)) {
      events.push([t, hot[crowdRng.int(hot.length)]])
    }
  })
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  const at = new Float64Array(events.length)
  const origin = new Int32Array(events.length)
  const service = new Float64Array(events.length)
  events.forEach(([t, o], i) => { at[i] = t; origin[i] = o; service[i] = sampleService() })
  return { at, origin, service, length: events.length }
}

type ServiceShape = Pick<Scenario['workload']['service'], 'dist' | 'meanMs' | 'sigma' | 'alpha' | 'maxOverMean'>

function serviceSampler (svc: Scenario['workload']['service'], rng: Rng): () => number {
  if (svc.dist !== 'mixed' || svc.classes == null) return shapeSampler(svc, rng)
  // Each task is drawn from one class by weight; the mixture is scaled to the service's mean.
  const classes = svc.classes
  const total = classes.reduce((a, c) => a + c.weight, 0)
  const scale = svc.meanMs / classes.reduce((a, c) => a + c.weight * c.meanMs, 0) * total
  const samplers = classes.map(c => shapeSampler({ ...c, meanMs: c.meanMs * scale }, rng.fork(`class-${c.name}`)))
  const weights = classes.map(c => c.weight)
  const values = classes.map((_, k) => k)
  return () => samplers[weighted(values, weights, rng)]()
}

function shapeSampler (svc: ServiceShape, rng: Rng): () => number {
  const mean = svc.meanMs
  if (svc.dist === 'lognormal') return () => rng.lognormal(mean, svc.sigma)
  if (svc.dist === 'pareto') {
    // Shape on [1, maxOverMean × k], then scaled so the mean is `mean`.
    const lo = 1
    const hi = svc.maxOverMean * 4
    const scale = mean / boundedParetoMean(svc.alpha, lo, hi)
    return () => scale * rng.boundedPareto(svc.alpha, lo, hi)
  }
  return () => rng.exponential(mean)
}

function weighted (values: number[], weights: number[], rng: Rng): number {
  const total = weights.reduce((a, b) => a + b, 0)
  let r = rng.float() * total
  for (let i = 0; i < values.length; i++) {
    r -= weights[i] ?? 0
    if (r < 0) return values[i]
  }
  return values[values.length - 1]
}

/** Is peer p up at time t? */
export function isUp (w: World, p: number, t: number): boolean {
  return t < w.downAt[p] || t >= w.upAt[p]
}

/** Where peer `p` is in a sorted view, or -1 when the view does not hold it. */
export function positionInView (view: ArrayLike<number>, p: number): number {
  let lo = 0
  let hi = view.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (view[mid] < p) lo = mid + 1
    else hi = mid
  }
  return lo < view.length && view[lo] === p ? lo : -1
}

function beyondBudget (scenario: Scenario, trace: Trace, slow: Float64Array, malice: Int8Array): Uint8Array {
  let fastest = Infinity
  for (let p = 0; p < slow.length; p++) if (malice[p] === HONEST) fastest = Math.min(fastest, slow[p])
  const out = new Uint8Array(trace.length)
  const budget = scenario.workload.taskTimeoutMs
  for (let i = 0; i < trace.length; i++) if (trace.service[i] * fastest > budget) out[i] = 1
  return out
}

/** The index in a peer id `pNNNNN` (ids are made so; parsing beats a map lookup per candidate). */
export function peerIndex (id: string): number | undefined {
  let n = 0
  for (let k = 1; k < id.length; k++) {
    const d = id.charCodeAt(k) - 48
    if (d < 0 || d > 9) return undefined
    n = n * 10 + d
  }
  return id.length > 1 && id.charCodeAt(0) === 112 ? n : undefined
}
