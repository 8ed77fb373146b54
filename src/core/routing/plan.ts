import type { ScoredCandidate } from './score.js'

/**
 * How to dispatch one task, given the ranked candidates. Two moves:
 *
 * - direct: when a candidate is predicted to have a free slot, send it the task at once (one
 *   round trip). To avoid herding on the same idle-looking peer with stale information, pick at
 *   random among the near-best free candidates, and let the target refuse (BUSY) rather than
 *   queue longer than `maxWaitMs` — a wrong guess then costs one round trip, not a queue.
 * - reserve: when every candidate is predicted busy, or after a BUSY bounce showed the table is
 *   stale, late binding (Sparrow): reserve a place on a few candidates drawn at random from
 *   those scoring within `spreadRuns` run times of the best (and always on this node, where a
 *   reservation is free), bind the task to the first that holds a free slot, cancel the rest.
 *   Random probes matter: with adverts a second old every node ranks the same peers first, and
 *   top-k reservations herd onto them (measured in the harness: 2.4x the ideal's mean response
 *   with top-k, 1.1x with random probes).
 */

export interface PlanParams {
  /** Reservations placed when every candidate is busy. Default 8. */
  probes: number
  /**
   * Of those, at most this many at peers with no good record here (reputation ≤ 0). Default 2.
   * A peer that lies "ready" (a black hole) wins every late-binding race it is in, so most probes
   * go only to peers that have done good work for this node. sybil-forger (10 % malicious),
   * seeds 11-13, mean/ideal: 8 probes without the limit 1.64 (seed 11), at most 4 unproven 1.41-1.64, at most 2
   * unproven 1.25-1.29 (lost 390-570 of ~33,000; 4 probes as before: 1.39-1.55, 540-949 lost).
   */
  unprovenProbes?: number
  /** Reservation targets are drawn from candidates within this many run times of the best score. Default 8. */
  spreadRuns?: number
  /**
   * Each reservation target is the nearest (lowest measured round trip) of this many candidates
   * drawn at random from that pool. Default 3. The draw stays random, so routers do not herd (each one's
   * nearest peers differ), while the winner is more often near: a race costs a round trip more
   * than a direct send (RESERVE, READY, then the task), and the READY slot idles until the task
   * arrives. Seed 11, 300 peers, mean/ideal with 1 → 3 draws: load-90 1.089 → 1.056, steady
   * 1.024 → 1.019, lognormal-90 1.058 → 1.042, pareto-90 1.059 → 1.050, mixed-90 1.041 → 1.024.
   */
  probeDraws?: number
  /** Free candidates within this of the best score count as ties, ms (at least). Default 5. */
  nearTieMs: number
  /** ... or within this fraction of the best score. Default 0.1. */
  nearTieFraction: number
  /** A direct send may wait this long at its target before the target refuses it, ms (at least). Default 20. */
  minMaxWaitMs: number
  /** ... or this fraction of the task's run time. Default 0.5. */
  maxWaitFraction: number
}

/** Default `unprovenProbes`. */
export const DEFAULT_UNPROVEN_PROBES = 2

/** Default `probeDraws`. */
export const DEFAULT_PROBE_DRAWS = 3

/** Default `spreadRuns`. */
export const DEFAULT_SPREAD_RUNS = 8

export const DEFAULT_PLAN_PARAMS: PlanParams = {
  // Measured in the harness (300 peers, adverts 1 s stale, seed 11; mean/ideal with 4 probes ->
  // 8 probes, at most 2 at peers with no good record here): steady 80 % 1.066 -> 1.027, load-90
  // 1.145 -> 1.119, bounded Pareto at 90 % 1.138 -> 1.063, lognormal σ=2 at 90 % 1.222 -> 1.059,
  // mixed kinds at 90 % 1.104 -> 1.073, churn 1.172 -> 1.131, partition-heal 1.087 -> 1.066,
  // 1,000 peers 1.155 -> 1.140. Heavy tails gain most: with more places held, one that frees
  // soon is among them. Each probe costs a RESERVE and, unless bound, a CANCEL (small frames).
  probes: 8,
  spreadRuns: DEFAULT_SPREAD_RUNS,
  probeDraws: DEFAULT_PROBE_DRAWS,
  nearTieMs: 5,
  nearTieFraction: 0.1,
  minMaxWaitMs: 20,
  maxWaitFraction: 0.5
}

export type Plan =
  | { mode: 'direct', target: ScoredCandidate, maxWaitMs: number }
  | { mode: 'reserve', targets: ScoredCandidate[] }
  | { mode: 'none', reason: string }

export interface PlanContext {
  /** A direct send of this task was just refused BUSY: the table is stale, bind late. */
  bounced?: boolean
}

/**
 * Ranked candidates, best first, as `planDispatch` reads them: what it compares by position, and
 * the candidate itself only for the ones it picks (built on demand).
 */
export interface Ranking {
  readonly length: number
  /** The candidate at rank `i`. */
  at(i: number): ScoredCandidate
  eligible(i: number): boolean
  score(i: number): number
  queueWaitMs(i: number): number
  local(i: number): boolean
}

/** A ranking over a ranked array. */
export function rankingOf (ranked: readonly ScoredCandidate[]): Ranking {
  return {
    length: ranked.length,
    at: (i) => ranked[i],
    eligible: (i) => ranked[i].eligible,
    score: (i) => ranked[i].score,
    queueWaitMs: (i) => ranked[i].queueWaitMs,
    local: (i) => ranked[i].local
  }
}

/**
 * `ranked`: best first, as `rankCandidates` sorts them (an array, or a `Ranking` whose
 * candidates are built only when picked).
 */
export function planDispatch (ranked: readonly ScoredCandidate[] | Ranking, random: () => number, params: PlanParams = DEFAULT_PLAN_PARAMS, context: PlanContext = {}): Plan {
  const r = isRanking(ranked) ? ranked : rankingOf(ranked)
  // Positions are walked, not collected: a plan costs no array per known peer.
  let best = -1
  for (let i = 0; i < r.length && best < 0; i++) if (r.eligible(i)) best = i
  if (best < 0) {
    return { mode: 'none', reason: r.length === 0 ? 'no candidates' : `no eligible candidate (${r.at(0).reason})` }
  }
  const bestScore = r.score(best)
  // The local node's load is exact, not a stale advertisement: no need to spread.
  if (r.local(best) && r.queueWaitMs(best) === 0) return { mode: 'direct', target: r.at(best), maxWaitMs: 0 }
  if (r.queueWaitMs(best) === 0 && context.bounced !== true) {
    const tie = Math.max(params.nearTieMs, bestScore * params.nearTieFraction)
    const isTie = (i: number): boolean => r.eligible(i) && r.queueWaitMs(i) === 0 && r.score(i) <= bestScore + tie
    let ties = 0
    for (let i = best; i < r.length; i++) if (isTie(i)) ties++
    // The draw picks the k-th tie, best first.
    let k = Math.min(ties - 1, Math.floor(random() * ties))
    let pick = best
    for (let i = best; i < r.length; i++) {
      if (isTie(i) && k-- === 0) {
        pick = i
        break
      }
    }
    const target = r.at(pick)
    return { mode: 'direct', target, maxWaitMs: maxWaitFor(target, params) }
  }
  const line = bestScore + (params.spreadRuns ?? DEFAULT_SPREAD_RUNS) * r.at(best).runMs
  const pool: number[] = []
  let local = -1
  for (let i = best; i < r.length; i++) {
    if (!r.eligible(i)) continue
    if (r.local(i)) {
      if (local < 0) local = i
    } else if (r.score(i) <= line) pool.push(i)
  }
  const targets: ScoredCandidate[] = []
  const maxUnproven = params.unprovenProbes ?? DEFAULT_UNPROVEN_PROBES
  let unproven = 0
  const draws = Math.max(1, params.probeDraws ?? DEFAULT_PROBE_DRAWS)
  while (targets.length < Math.max(1, params.probes) && pool.length > 0) {
    let at = drawFrom(pool, random)
    for (let d = 1; d < draws && pool.length > 1; d++) {
      const other = drawFrom(pool, random)
      if (measuredRtt(r.at(pool[other])) < measuredRtt(r.at(pool[at]))) at = other
    }
    const c = r.at(pool.splice(at, 1)[0])
    if (c.reputation <= 0) {
      if (unproven >= maxUnproven) continue
      unproven++
    }
    targets.push(c)
  }
  // A reservation here costs no network: always hold a place locally too, so this node's own
  // slots are never idle while its tasks queue elsewhere.
  if (local >= 0) targets.push(r.at(local))
  if (targets.length === 1) {
    return { mode: 'direct', target: targets[0], maxWaitMs: 0 }
  }
  return { mode: 'reserve', targets }
}

/**
 * A candidate's round trip as measured by ping; an estimate (Vivaldi, from coordinates the peer
 * itself advertises) or a default counts as no nearer than any: a forged coordinate must not buy
 * a peer more probes.
 */
function measuredRtt (c: ScoredCandidate): number {
  return c.rttSource === 'ping' ? c.rttMs : Infinity
}

/** A random position in `pool`. */
function drawFrom (pool: readonly number[], random: () => number): number {
  return Math.min(pool.length - 1, Math.floor(random() * pool.length))
}

function isRanking (r: readonly ScoredCandidate[] | Ranking): r is Ranking {
  return !Array.isArray(r)
}

function maxWaitFor (c: ScoredCandidate, params: PlanParams): number {
  return Math.max(params.minMaxWaitMs, Math.round(c.runMs * params.maxWaitFraction))
}
