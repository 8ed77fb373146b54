/**
 * The report's first paragraph: what happened in the run and whether it met its goals, in a few
 * sentences a reader can take in before the tables (the figures are the same as theirs).
 */
import { unexpectedMisses } from './goals.js'
import type { GoalCheck } from './goals.js'
import type { RunResult } from './types.js'

export function verdict (r: RunResult, goals: GoalCheck[]): string {
  const parts: string[] = []
  const rt = r.routing
  if (rt !== undefined) {
    const f = rt.fedmesh
    parts.push(`fedmesh routed ${count(f.tasks)} measured tasks over ${count(r.peers)} peers at ${pct(rt.offeredLoad)} offered load (${r.mode} mode): mean response ${f.meanMs.toFixed(0)} ms, ${f.meanResponseVsIdeal.toFixed(3)}x the ideal scheduler's, p99 ${f.p99ResponseVsIdeal.toFixed(3)}x, Jain's index ${f.jainIndex.toFixed(3)}, ${count(f.lost)} lost${(f.beyondBudget ?? 0) > 0 ? ` (and ${count(f.beyondBudget ?? 0)} whose run alone is longer than their budget on any peer)` : ''}.`)
    const best = Object.values(rt.baselines).sort((a, b) => a.meanResponseVsIdeal - b.meanResponseVsIdeal)[0]
    if (best !== undefined) parts.push(`The best baseline, ${best.name}, came to ${best.meanResponseVsIdeal.toFixed(3)}x.`)
  }
  const c = r.cache
  if (c !== undefined) {
    parts.push(`Cache entries reached ${pct(c.coverage, 2)} of (peer, entry) pairs among ${count(c.peers)} peers, p99 in ${c.p99ConvergenceMs.toFixed(0)} ms; ${count(c.forgedAccepted)} of ${count(c.forgedPublished)} forged entries accepted.`)
  }
  const rep = r.reputation
  if (rep !== undefined) {
    parts.push(rep.excludedWithinMs === null
      ? `The ${count(rep.maliciousPeers)} malicious peers were not all excluded by every honest node within the run${excludedByKind(rep)}.`
      : `Every honest node excluded the ${count(rep.maliciousPeers)} malicious peers within ${(rep.excludedWithinMs / 1000).toFixed(1)} s.`)
  }
  const p = r.partition
  if (p !== undefined) {
    parts.push(`Through the partition, isolated nodes went solo within ${p.soloAfterMs === null ? 'no measured time' : `${p.soloAfterMs.toFixed(0)} ms`} and were federated again ${p.federatedAfterHealMs === null ? 'not within the run' : `${p.federatedAfterHealMs.toFixed(0)} ms after the heal`}.`)
  }
  parts.push(judgement(goals))
  return parts.join(' ')
}

function judgement (goals: GoalCheck[]): string {
  const applied = goals.filter(g => g.status !== 'n/a')
  const missed = unexpectedMisses(applied)
  const expected = applied.filter(g => g.status === 'fail' && g.expected !== undefined)
  const nowMet = applied.filter(g => g.status === 'pass' && g.expected !== undefined)
  const out: string[] = []
  if (missed.length === 0) out.push(`Verdict: ${applied.length - expected.length} of ${applied.length} goals met`)
  else out.push(`Verdict: ${missed.length} of ${applied.length} goals missed (${missed.map(g => `${g.goal} ${g.shown}, goal ${g.target}`).join('; ')})`)
  if (expected.length > 0) out.push(`${expected.length} missed as this scenario expects (${expected.map(g => `${g.goal} ${g.shown}: ${g.expected ?? ''}`).join('; ')})`)
  if (nowMet.length > 0) out.push(`expected to miss but met: ${nowMet.map(g => g.goal).join(', ')}`)
  return `${out.join('; ')}.`
}

function count (n: number): string {
  return Math.round(n).toLocaleString('en-US')
}

function pct (fraction: number, digits = 0): string {
  return `${(fraction * 100).toFixed(digits)} %`
}

/** ` (pairs excluded at the end: blackhole 3 %, wrong 100 %)`, or nothing without per-kind series. */
function excludedByKind (rep: NonNullable<RunResult['reputation']>): string {
  const byKind = Object.entries(rep.series.excludedFractionByKind ?? {}).filter(([, v]) => v.length > 0)
  if (byKind.length === 0) return ''
  return ` (pairs excluded at the end: ${byKind.map(([k, v]) => `${k} ${pct(v.at(-1) as number, 0)}`).join(', ')})`
}
