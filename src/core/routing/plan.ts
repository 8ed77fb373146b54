import type { ScoredCandidate } from './score.js'

/**
 * How to dispatch one task, given the ranked candidates. Two moves:
 *
 * - direct: when a candidate is predicted to have a free slot, send it the task at once (one
 *   round trip). To avoid herding on the same idle-looking peer with stale information, pick at
 *   random among the near-best free candidates, and let the target refuse (BUSY) rather than
 *   queue longer than `maxWaitMs` — a wrong guess then costs one round trip, not a queue.
 * - reserve: when every candidate is predicted busy, late binding (Sparrow): reserve a place on
 *   the best few (and always on this node, where a reservation is free), bind the task to the
 *   first that holds a free slot, cancel the rest.
 */

export interface PlanParams {
  /** Reservations placed when every candidate is busy. Default 2 (Sparrow's d). */
  probes: number
  /** Free candidates within this of the best score count as ties, ms (at least). Default 5. */
  nearTieMs: number
  /** ... or within this fraction of the best score. Default 0.1. */
  nearTieFraction: number
  /** A direct send may wait this long at its target before the target refuses it, ms (at least). Default 20. */
  minMaxWaitMs: number
  /** ... or this fraction of the task's run time. Default 0.5. */
  maxWaitFraction: number
}

export const DEFAULT_PLAN_PARAMS: PlanParams = {
  probes: 2,
  nearTieMs: 5,
  nearTieFraction: 0.1,
  minMaxWaitMs: 20,
  maxWaitFraction: 0.5
}

export type Plan =
  | { mode: 'direct', target: ScoredCandidate, maxWaitMs: number }
  | { mode: 'reserve', targets: ScoredCandidate[] }
  | { mode: 'none', reason: string }

export function planDispatch (ranked: ScoredCandidate[], random: () => number, params: PlanParams = DEFAULT_PLAN_PARAMS): Plan {
  const eligible = ranked.filter(c => c.eligible)
  if (eligible.length === 0) {
    return { mode: 'none', reason: ranked.length === 0 ? 'no candidates' : `no eligible candidate (${ranked[0].reason})` }
  }
  const best = eligible[0]
  if (best.queueWaitMs === 0) {
    // The local node's load is exact, not a stale advertisement: no need to spread.
    if (best.local) return { mode: 'direct', target: best, maxWaitMs: 0 }
    const tie = Math.max(params.nearTieMs, best.score * params.nearTieFraction)
    const ties = eligible.filter(c => c.queueWaitMs === 0 && c.score <= best.score + tie)
    const target = ties[Math.min(ties.length - 1, Math.floor(random() * ties.length))]
    return { mode: 'direct', target, maxWaitMs: maxWaitFor(target, params) }
  }
  const targets = eligible.slice(0, Math.max(1, params.probes))
  // A reservation here costs no network: always hold a place locally too, so this node's own
  // slots are never idle while its tasks queue elsewhere.
  const local = eligible.find(c => c.local)
  if (local != null && !targets.includes(local)) targets.push(local)
  if (targets.length === 1) {
    return { mode: 'direct', target: targets[0], maxWaitMs: 0 }
  }
  return { mode: 'reserve', targets }
}

function maxWaitFor (c: ScoredCandidate, params: PlanParams): number {
  return Math.max(params.minMaxWaitMs, Math.round(c.runMs * params.maxWaitFraction))
}
