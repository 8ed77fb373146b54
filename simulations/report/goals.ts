/**
 * The goals a run is judged against (DESIGN.md "Targets" and the mission), each pass, fail or
 * n/a. A scenario lists the goal groups that apply to it (`goals` in the scenario file); the
 * rest are shown as n/a so every report has the same rows. Losing a task fails every run.
 */
import type { RunResult } from './types.js'

export type GoalStatus = 'pass' | 'fail' | 'n/a'

export interface GoalCheck {
  id: string
  group: string
  goal: string
  target: string
  /** The measured value in its raw unit (ms for times, a fraction for coverage, a ratio, a count). */
  value: number | null
  /** The value in the target's unit, as the report shows it beside the target ("42.1 s", "100 %"). */
  shown: string
  status: GoalStatus
  /** Why the scenario expects this goal to be missed today (its `expectedMisses`). */
  expected?: string
}

/** How a value reads next to its target. */
type Unit = 'x' | 'ratio' | 'count' | 'percent' | 'ms' | 's'

export const TARGETS = {
  meanVsIdeal: 1.10,
  p99VsIdeal: 1.25,
  jain: 0.98,
  cacheCoverage: 1,
  cacheP99Ms: 1_000,
  excludedWithinMs: 60_000,
  soloAfterMs: 3_000,
  reconciledAfterMs: 5_000
} as const

export function evaluateGoals (r: RunResult): GoalCheck[] {
  const groups = new Set<string>(r.config.goals)
  const out: GoalCheck[] = []
  const expected: Partial<Record<string, string>> = r.config.expectedMisses ?? {}
  const add = (id: string, group: string, goal: string, target: string, unit: Unit, value: number | null | undefined, ok: (v: number) => boolean): void => {
    const v = value === undefined || value === null || Number.isNaN(value) ? null : value
    const applies = group === 'always' || groups.has(group)
    const why = expected[id]
    out.push({ id, group, goal, target, value: v, shown: show(v, unit), status: !applies ? 'n/a' : v !== null && ok(v) ? 'pass' : 'fail', ...(applies && why !== undefined ? { expected: why } : {}) })
  }
  const f = r.routing?.fedmesh
  add('routing-mean', 'routing', 'mean response vs ideal', `≤ ${TARGETS.meanVsIdeal}x`, 'x', f?.meanResponseVsIdeal, v => v <= TARGETS.meanVsIdeal)
  add('routing-p99', 'routing', 'p99 response vs ideal', `≤ ${TARGETS.p99VsIdeal}x`, 'x', f?.p99ResponseVsIdeal, v => v <= TARGETS.p99VsIdeal)
  add('fairness', 'fairness', "Jain's index of per-peer load", `≥ ${TARGETS.jain}`, 'ratio', f?.jainIndex, v => v >= TARGETS.jain)
  add('no-loss', 'always', 'tasks lost (no correct result)', '= 0', 'count', f?.lost, v => v === 0)
  add('churn-lost', 'churn', 'tasks lost under churn', '= 0', 'count', r.config.faults.churn != null ? f?.lost : undefined, v => v === 0)
  add('cache-coverage', 'cache', 'cache coverage', '= 100 %', 'percent', r.cache?.coverage, v => v >= TARGETS.cacheCoverage)
  add('cache-p99', 'cache', 'cache p99 convergence', `≤ ${TARGETS.cacheP99Ms} ms`, 'ms', r.cache?.p99ConvergenceMs, v => v <= TARGETS.cacheP99Ms)
  add('cache-forged', 'cache', 'forged entries accepted', '= 0', 'count', r.cache?.forgedAccepted, v => v === 0)
  add('malicious-excluded', 'malicious', 'malicious peers excluded within', `≤ ${TARGETS.excludedWithinMs / 1000} s`, 's', r.reputation?.excludedWithinMs, v => v <= TARGETS.excludedWithinMs)
  add('honest-excluded', 'malicious', 'honest peers wrongly excluded (pairs, most at once)', '= 0', 'count', r.reputation?.honestExcludedMax, v => v === 0)
  add('partition-solo', 'partition', 'solo after the cut', `≤ ${TARGETS.soloAfterMs / 1000} s`, 's', r.partition?.soloAfterMs, v => v <= TARGETS.soloAfterMs)
  add('partition-reconciled', 'partition', 'reconciled after the heal', `≤ ${TARGETS.reconciledAfterMs / 1000} s`, 's', r.partition?.reconciledAfterMs, v => v <= TARGETS.reconciledAfterMs)
  return out
}

/** A value as it reads beside its target: times in the target's unit, coverage in percent. */
function show (v: number | null, unit: Unit): string {
  if (v === null) return 'not reached'
  if (!Number.isFinite(v)) return '∞'
  switch (unit) {
    case 'x': return `${round(v, 3)}x`
    case 'ratio': return String(round(v, 3))
    case 'count': return String(Math.round(v))
    case 'percent': return `${round(v * 100, 2)} %`
    case 'ms': return `${round(v, 0)} ms`
    case 's': return `${round(v / 1000, 1)} s`
  }
}

function round (v: number, digits: number): number {
  return Math.round(v * 10 ** digits) / 10 ** digits
}

/** Every goal met, or missed as the scenario expects. */
export function passed (checks: GoalCheck[]): boolean {
  return unexpectedMisses(checks).length === 0
}

/** Goals missed that the scenario did not expect to miss. */
export function unexpectedMisses (checks: GoalCheck[]): GoalCheck[] {
  return checks.filter(c => c.status === 'fail' && c.expected === undefined)
}
