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
  value: number | null
  status: GoalStatus
}

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
  const add = (id: string, group: string, goal: string, target: string, value: number | null | undefined, ok: (v: number) => boolean): void => {
    const v = value === undefined || value === null || Number.isNaN(value) ? null : value
    const applies = group === 'always' || groups.has(group)
    out.push({ id, group, goal, target, value: v, status: !applies ? 'n/a' : v !== null && ok(v) ? 'pass' : 'fail' })
  }
  const f = r.routing?.fedmesh
  add('routing-mean', 'routing', 'mean response vs ideal', `≤ ${TARGETS.meanVsIdeal}x`, f?.meanResponseVsIdeal, v => v <= TARGETS.meanVsIdeal)
  add('routing-p99', 'routing', 'p99 response vs ideal', `≤ ${TARGETS.p99VsIdeal}x`, f?.p99ResponseVsIdeal, v => v <= TARGETS.p99VsIdeal)
  add('fairness', 'fairness', "Jain's index of per-peer load", `≥ ${TARGETS.jain}`, f?.jainIndex, v => v >= TARGETS.jain)
  add('no-loss', 'always', 'tasks lost (no correct result)', '= 0', f?.lost, v => v === 0)
  add('churn-lost', 'churn', 'tasks lost under churn', '= 0', r.config.faults.churn != null ? f?.lost : undefined, v => v === 0)
  add('cache-coverage', 'cache', 'cache coverage', '= 100%', r.cache?.coverage, v => v >= TARGETS.cacheCoverage)
  add('cache-p99', 'cache', 'cache p99 convergence', `≤ ${TARGETS.cacheP99Ms} ms`, r.cache?.p99ConvergenceMs, v => v <= TARGETS.cacheP99Ms)
  add('cache-forged', 'cache', 'forged entries accepted', '= 0', r.cache?.forgedAccepted, v => v === 0)
  add('malicious-excluded', 'malicious', 'malicious peers excluded within', `≤ ${TARGETS.excludedWithinMs / 1000} s`, r.reputation?.excludedWithinMs, v => v <= TARGETS.excludedWithinMs)
  add('partition-solo', 'partition', 'solo after the cut', `≤ ${TARGETS.soloAfterMs / 1000} s`, r.partition?.soloAfterMs, v => v <= TARGETS.soloAfterMs)
  add('partition-reconciled', 'partition', 'reconciled after the heal', `≤ ${TARGETS.reconciledAfterMs / 1000} s`, r.partition?.reconciledAfterMs, v => v <= TARGETS.reconciledAfterMs)
  return out
}

export function passed (checks: GoalCheck[]): boolean {
  return checks.every(c => c.status !== 'fail')
}
