/**
 * Model mode end to end: build the world from the seed, replay its trace under the ideal
 * scheduler, fedmesh, every baseline and every variant, run the cache and partition models, and
 * summarise everything as a `RunResult` for the report.
 */
import { performance } from 'node:perf_hooks'
import { DEFAULT_PLAN_PARAMS } from '../../src/core/routing/plan.js'
import { DEFAULT_SCORE_PARAMS } from '../../src/core/routing/score.js'
import { jainIndex, maxOverMean, mean, quantilePoints, quantileSorted, round, sorted } from '../metrics.js'
import { Rng } from '../prng.js'
import { runCacheModel } from './cache.js'
import { runEngines } from './engine-pool.js'
import { heapGuard } from './heap-guard.js'
import { runIdeal } from './ideal.js'
import { modelReconcile } from './reconcile.js'
import { HONEST, buildWorld } from './world.js'
import type { Scenario, ScenarioVariant } from '../scenario.js'
import type { PolicySummary, RunResult } from '../report/types.js'
import type { EngineResult } from './engine.js'
import type { EngineJob } from './engine-pool.js'
import type { World } from './world.js'

export interface ModelRunOptions {
  /** Progress lines (to stderr in the CLI). */
  log?: (line: string) => void
  /** Where the run is, now and then (the CLI's progress line). */
  progress?: (p: ModelProgress) => void
  /** Threads for the engine runs (engine-pool.ts). Default: the cores available. */
  workers?: number
  /** The compiled engine worker to start (tests). Default: the one beside run.js. */
  workerUrl?: URL
}

/** Engine run `run` of `runs` (fedmesh, each baseline, each variant), at virtual time `virtualMs` of `endMs`. */
export interface ModelProgress {
  label: string
  run: number
  runs: number
  virtualMs: number
  endMs: number
  /** Work done, in runs (runs side by side: the ended ones and part of each going). Default: `run` plus its part. */
  done?: number
}

export const MODEL_NOTES = [
  'Model mode: a discrete-event simulation in virtual time in which every node runs the real services: Executor, CapacityTable, Dispatcher (ranking, plans, patience, hedging, late binding, failover), circuit breakers, promise judge and reputation ledger, on virtual timers; and the real ConnectivityMonitor and Reconciler for partitions.',
  'Simulated: links (latency, TCP retransmission as delay, partitions), crashes (a node loses its queue, running work and open attempts; its execution log, ledger and task journal survive), the task handler (holds its slot for the service time), liars, black holes and wrong-result peers.',
  'Adverts reach a peer one link latency after publication (one hop, to each peer that knows the sender); they are never lost. RTTs are known exactly (a converged ping EWMA); Vivaldi estimates are not modelled.',
  'A crashed peer is noticed after one-way latency (connection reset) or liveness (2.75 s) per churn.detect; a cut link after liveness.',
  'Not modelled: the admission queue in front of the dispatcher (tasks dispatch as they arrive), SHUTTING_DOWN (peers crash, they do not drain), dial costs (every peer is connected).',
  'Variants with `rules` switch DispatcherInit options (hedge, reserveWhenBouncing); the baselines are DispatcherInit planners on the same dispatcher, without reputation or breakers.',
  'Malicious liars and black holes advertise an idle queue and a short run time (faults.malicious.advertisedRunFraction of the mean); wrong-result peers run the work and are caught by verification.',
  'The ideal books slots centrally with exact knowledge (earliest finish time); it still pays the round trip to where a task runs.'
]

export async function runModel (scenario: Scenario, options: ModelRunOptions = {}): Promise<RunResult> {
  const log = options.log ?? (() => {})
  const started = performance.now()
  let peakRss = process.memoryUsage().rss
  const guard = heapGuard()
  // RSS is the process's: every engine worker's heap is in it.
  const sampleRss = (): void => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss)
    guard()
  }
  const seed = scenario.seed
  const world = buildWorld(scenario, seed)
  log(`world: ${world.peers} peers, ${world.honestSlots} honest slots, ${world.trace.length} tasks`)
  const r = scenario.routing
  const malicious = scenario.faults.malicious != null
  const partitioned = world.partition !== undefined
  let events = 0

  // The engine runs (fedmesh, each baseline, each variant) go side by side (engine-pool.ts),
  // started first: the ideal and the cache model run here meanwhile.
  const end = scenario.durationMs
  const base = {
    score: { ...DEFAULT_SCORE_PARAMS, ...r.score },
    plan: { ...DEFAULT_PLAN_PARAMS, ...r.plan },
    breaker: r.breaker,
    earlyAds: r.earlyAds,
    earlyAdGapMs: r.earlyAdGapMs,
    attemptTimeoutFactor: r.attemptTimeoutFactor,
    minAttemptTimeoutMs: r.minAttemptTimeoutMs,
    rules: r.rules
  }
  const jobs: EngineJob[] = [
    { ...base, label: 'fedmesh', trackReputation: malicious, trackModes: partitioned, stream: 'fedmesh' },
    ...r.baselines.map(name => ({ ...base, baseline: name, label: name, stream: name })),
    ...r.variants.map(v => ({
      ...base,
      score: { ...base.score, ...v.score },
      plan: { ...base.plan, ...v.plan },
      label: v.name,
      earlyAds: v.earlyAds ?? r.earlyAds,
      attemptTimeoutFactor: v.attemptTimeoutFactor ?? r.attemptTimeoutFactor,
      minAttemptTimeoutMs: v.minAttemptTimeoutMs ?? r.minAttemptTimeoutMs,
      rules: { ...r.rules, ...v.rules },
      stream: 'fedmesh' // the same decision stream as fedmesh: only the parameters differ
    }))
  ]
  const parts = new Float64Array(jobs.length)
  const pending = runEngines(world, scenario, jobs, {
    workers: options.workers,
    workerUrl: options.workerUrl,
    onProgress: (index, virtualMs) => {
      sampleRss()
      const at = Math.min(virtualMs, end)
      parts[index] = at / Math.max(1, end)
      options.progress?.({ label: jobs[index].label, run: index, runs: jobs.length, virtualMs: at, endMs: end, done: parts.reduce((a, b) => a + b, 0) })
    }
  })
  const ideal = runIdeal(world)
  sampleRss()
  const idealMean = mean(ideal.responses)
  const idealP99 = quantileSorted(sorted(ideal.responses), 0.99)
  log(`ideal: mean ${idealMean.toFixed(1)} ms, p99 ${idealP99.toFixed(1)} ms`)

  const summarise = (name: string, res: { responses: Float64Array, measured: number, lost: number, beyondBudget: number, utilisation: Float64Array }, extra: Partial<PolicySummary> = {}): PolicySummary => {
    const s = sorted(res.responses)
    const m = mean(s)
    const p99 = quantileSorted(s, 0.99)
    const util = honestValues(world, res.utilisation)
    return {
      name,
      tasks: res.measured,
      completed: s.length,
      lost: res.lost,
      ...(res.beyondBudget > 0 ? { beyondBudget: res.beyondBudget } : {}),
      meanMs: round(m, 2),
      p50Ms: round(quantileSorted(s, 0.5), 2),
      p99Ms: round(p99, 2),
      maxMs: round(s.length > 0 ? s[s.length - 1] : NaN, 2),
      meanResponseVsIdeal: round(m / idealMean, 4),
      p99ResponseVsIdeal: round(p99 / idealP99, 4),
      jainIndex: round(jainIndex(util), 4),
      maxOverMeanLoad: round(maxOverMean(util), 4),
      cdf: quantilePoints(s),
      loadPerPeer: util.map(u => round(u, 3)),
      ...extra
    }
  }
  const fromEngine = (e: EngineResult, params?: Record<string, unknown>): PolicySummary => {
    events += e.events
    sampleRss()
    const out = summarise(e.label, e, { decisions: sortKeys(e.decisions), meanAdAgeMs: round(e.meanAdAgeMs, 1), duplicateRuns: e.duplicateRuns, ...(params !== undefined ? { params } : {}) })
    log(`${e.label}: mean ${out.meanMs} ms (${out.meanResponseVsIdeal}x ideal), p99 ${out.p99Ms} ms (${out.p99ResponseVsIdeal}x), jain ${out.jainIndex}, lost ${out.lost}, ${e.events} events`)
    return out
  }

  const cache = scenario.cache.enabled ? runCacheModel(scenario, new Rng(seed).fork('cache')) : undefined
  sampleRss()
  const settled = async (index: number): Promise<EngineResult> => {
    const e = await pending[index]
    parts[index] = 1
    return e
  }
  const fed = await settled(0)
  const fedmesh = fromEngine(fed)
  const baselines: Record<string, PolicySummary> = {}
  for (const [k, name] of r.baselines.entries()) baselines[name] = fromEngine(await settled(1 + k))
  const variants: PolicySummary[] = []
  for (const [k, v] of r.variants.entries()) variants.push(fromEngine(await settled(1 + r.baselines.length + k), variantParams(v)))

  const result: RunResult = {
    mode: 'model',
    scenario: scenario.name,
    seed,
    peers: world.peers,
    durationMs: scenario.durationMs,
    config: scenario,
    routing: {
      policy: 'fedmesh',
      offeredLoad: scenario.workload.load,
      fedmesh,
      timeline: fed.timeline,
      ideal: summarise('ideal', ideal),
      baselines,
      variants,
      notAccepted: fed.notAccepted
    },
    resources: { wallMs: 0 },
    notes: [...MODEL_NOTES]
  }

  if (cache !== undefined) {
    const c = cache
    result.cache = { ...c, p50ConvergenceMs: c.p50ConvergenceMs, p99ConvergenceMs: c.p99ConvergenceMs }
    log(`cache: ${c.peers} peers, coverage ${c.coverage}, p50 ${c.p50ConvergenceMs} ms, p99 ${c.p99ConvergenceMs} ms`)
  }

  if (fed.reputation !== undefined) {
    const rep = fed.reputation
    result.reputation = {
      maliciousPeers: rep.maliciousPeers,
      observers: rep.observers,
      excludedWithinMs: rep.excludedAtMs ?? null,
      excludedWithinMsByKind: Object.fromEntries(Object.entries(rep.excludedAtMsByKind).map(([k, v]) => [k, v ?? null])),
      honestExcludedMax: rep.honestExcludedMax,
      series: {
        t: rep.t,
        honest: rep.honest.map(v => round(v, 2)),
        malicious: rep.malicious.map(v => round(v, 2)),
        byKind: Object.fromEntries(Object.entries(rep.byKind).map(([k, v]) => [k, v.map(x => round(x, 2))])),
        excludedFraction: rep.excludedFraction.map(v => round(v, 4)),
        excludedFractionByKind: Object.fromEntries(Object.entries(rep.excludedFractionByKind).map(([k, v]) => [k, v.map(x => round(x, 4))]))
      }
    }
  }

  if (fed.modes !== undefined && world.partition !== undefined) {
    const m = fed.modes
    const p = world.partition
    const a = p.group.indexOf(0)
    const b = p.group.indexOf(1)
    const oneWay = a >= 0 && b >= 0 ? world.net.oneWay(a, b) : scenario.network.maxRttMs / 2
    const rec = modelReconcile({ divergent: scenario.faults.partition?.divergentEntries ?? 10_000, oneWayMs: oneWay, adIntervalMs: r.adIntervalMs })
    result.partition = {
      cutAtMs: m.cutAtMs,
      healAtMs: m.healAtMs,
      soloAfterMs: m.soloAfterMs ?? null,
      federatedAfterHealMs: m.federatedAfterHealMs ?? null,
      reconciledAfterMs: round(rec.reconciledAfterMs, 1),
      spuriousSolo: m.spuriousSolo,
      reconcile: Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, typeof v === 'number' ? round(v, 3) : v])),
      timeline: m.nodes
    }
  }
  sampleRss()
  result.resources = { wallMs: Math.round(performance.now() - started), events, peakRssMb: Math.round(peakRss / 1024 / 1024) }
  return result
}

/** Utilisation of honest peers only (malicious ones do no honest work by design). */
function honestValues (w: World, values: Float64Array): number[] {
  const out: number[] = []
  for (let i = 0; i < w.peers; i++) if (w.malice[i] === HONEST) out.push(values[i])
  return out
}

/** What a variant changes, for the report. */
function variantParams (v: ScenarioVariant): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(v.score ?? {}), ...(v.plan ?? {}) }
  if (v.earlyAds !== undefined) out.earlyAds = v.earlyAds
  if (v.attemptTimeoutFactor !== undefined) out.attemptTimeoutFactor = v.attemptTimeoutFactor
  if (v.minAttemptTimeoutMs !== undefined) out.minAttemptTimeoutMs = v.minAttemptTimeoutMs
  if (v.rules !== undefined) out.rules = v.rules
  return out
}

function sortKeys (o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)))
}
