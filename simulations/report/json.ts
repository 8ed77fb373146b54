/**
 * report.json: every figure of the run in the shape CONTRACT.md promises (scenario, seed, peers,
 * durationMs, routing{…, baselines}, cache{…}, reputation{…}, partition{…}), plus the mode,
 * versions, goals, and the series the HTML plots. With two runs (model and real-stack) the first
 * is the headline and `crossCheck` lines their figures up.
 */
import { VERSION } from '../../src/version.js'
import { evaluateGoals, passed } from './goals.js'
import { verdict } from './verdict.js'
import type { GoalCheck } from './goals.js'
import type { PolicySummary, RunResult } from './types.js'

export interface ReportDocument {
  scenario: string
  seed: number
  peers: number
  durationMs: number
  mode: string
  /** The run in one paragraph, ending with the verdict on its goals. */
  verdict: string
  versions: { fedmesh: string, node: string }
  routing: Record<string, unknown> | null
  cache: Record<string, unknown> | null
  reputation: Record<string, unknown> | null
  partition: Record<string, unknown> | null
  goals: GoalCheck[]
  passed: boolean
  resources: RunResult['resources']
  notes: string[]
  crossCheck?: CrossCheckRow[]
  runs?: Array<Omit<ReportDocument, 'runs' | 'crossCheck'>>
  scenarioConfig: unknown
}

export interface CrossCheckRow { figure: string, model: number | null, realStack: number | null, ratio: number | null, agree: boolean | null }

function policyFigures (p: PolicySummary): Record<string, unknown> {
  return {
    meanResponseVsIdeal: p.meanResponseVsIdeal,
    p99ResponseVsIdeal: p.p99ResponseVsIdeal,
    jainIndex: p.jainIndex,
    maxOverMeanLoad: p.maxOverMeanLoad,
    lost: p.lost,
    ...(p.beyondBudget != null ? { beyondBudget: p.beyondBudget } : {}),
    tasks: p.tasks,
    meanMs: p.meanMs,
    p50Ms: p.p50Ms,
    p99Ms: p.p99Ms,
    ...(p.params !== undefined ? { params: p.params } : {}),
    ...(p.decisions !== undefined ? { decisions: p.decisions } : {}),
    ...(p.meanAdAgeMs !== undefined ? { meanAdAgeMs: p.meanAdAgeMs } : {})
  }
}

function single (r: RunResult): Omit<ReportDocument, 'runs' | 'crossCheck'> {
  const goals = evaluateGoals(r)
  const rt = r.routing
  return {
    scenario: r.scenario,
    seed: r.seed,
    peers: r.peers,
    durationMs: r.durationMs,
    mode: r.mode,
    verdict: verdict(r, goals),
    versions: { fedmesh: VERSION, node: process.version },
    routing: rt === undefined
      ? null
      : {
          policy: rt.policy,
          offeredLoad: rt.offeredLoad,
          ...policyFigures(rt.fedmesh),
          duplicateRuns: rt.fedmesh.duplicateRuns,
          notAccepted: rt.notAccepted,
          ideal: { meanMs: rt.ideal.meanMs, p50Ms: rt.ideal.p50Ms, p99Ms: rt.ideal.p99Ms, jainIndex: rt.ideal.jainIndex, maxOverMeanLoad: rt.ideal.maxOverMeanLoad, lost: rt.ideal.lost },
          baselines: Object.fromEntries(Object.entries(rt.baselines).map(([k, v]) => [k, policyFigures(v)])),
          variants: Object.fromEntries(rt.variants.map(v => [v.name, policyFigures(v)])),
          series: {
            cdf: Object.fromEntries([rt.fedmesh, rt.ideal, ...Object.values(rt.baselines), ...rt.variants].map(p => [p.name, p.cdf])),
            loadPerPeer: Object.fromEntries([rt.fedmesh, rt.ideal, ...Object.values(rt.baselines)].map(p => [p.name, p.loadPerPeer])),
            ...(rt.timeline !== undefined ? { timeline: rt.timeline } : {})
          }
        },
    cache: r.cache === undefined ? null : { ...r.cache },
    reputation: r.reputation === undefined ? null : { ...r.reputation },
    partition: r.partition === undefined ? null : { ...r.partition },
    goals,
    passed: passed(goals),
    resources: r.resources,
    notes: r.notes,
    scenarioConfig: r.config
  }
}

export function buildReport (runs: RunResult[]): ReportDocument {
  const docs = runs.map(single)
  const head: ReportDocument = { ...docs[0] }
  if (docs.length > 1) {
    head.runs = docs
    head.passed = docs.every(d => d.passed)
    const model = runs.find(r => r.mode === 'model')
    const real = runs.find(r => r.mode === 'real-stack')
    if (model !== undefined && real !== undefined) head.crossCheck = crossCheck(model, real)
  }
  return head
}

/** Figures both modes report, side by side; "agree" within 20 % (or both zero). */
export function crossCheck (model: RunResult, real: RunResult): CrossCheckRow[] {
  const pick = (r: RunResult): Record<string, number | null | undefined> => ({
    'routing.meanResponseVsIdeal': r.routing?.fedmesh.meanResponseVsIdeal,
    'routing.p99ResponseVsIdeal': r.routing?.fedmesh.p99ResponseVsIdeal,
    'routing.jainIndex': r.routing?.fedmesh.jainIndex,
    'routing.lost': r.routing?.fedmesh.lost,
    'routing.meanMs': r.routing?.fedmesh.meanMs,
    'routing.p99Ms': r.routing?.fedmesh.p99Ms,
    'routing.random.meanResponseVsIdeal': r.routing?.baselines.random?.meanResponseVsIdeal,
    'routing.powerOfTwo.meanResponseVsIdeal': r.routing?.baselines.powerOfTwo?.meanResponseVsIdeal,
    'cache.coverage': r.cache?.coverage,
    'cache.p99ConvergenceMs': r.cache?.p99ConvergenceMs,
    'reputation.excludedWithinMs': r.reputation?.excludedWithinMs,
    'partition.soloAfterMs': r.partition?.soloAfterMs,
    'partition.reconciledAfterMs': r.partition?.reconciledAfterMs
  })
  const a = pick(model)
  const b = pick(real)
  return Object.keys(a).map(figure => {
    const m = a[figure] ?? null
    const s = b[figure] ?? null
    const ratio = m !== null && s !== null && m !== 0 ? s / m : null
    const agree = m === null || s === null ? null : (m === 0 && s === 0) || (ratio !== null && ratio >= 0.8 && ratio <= 1.25)
    return { figure, model: m, realStack: s, ratio, agree }
  })
}

/** JSON with non-finite numbers as null (JSON has no Infinity). */
export function toJson (doc: unknown): string {
  return JSON.stringify(doc, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)
}
