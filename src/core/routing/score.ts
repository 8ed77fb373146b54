/**
 * Routing scores: the expected completion time of a task on each candidate, from what this node
 * knows now. Pure: the same inputs always give the same ranking (DESIGN.md "Routing").
 *
 *   expected = queue wait + round trip (+ a dial when not connected) + run time + reputation penalty
 *
 * Queue wait comes from the candidate's last advertisement, corrected by the tasks this node
 * sent it since (the advertisement cannot know them yet).
 */

import { DEFAULT_SPREAD_RUNS } from './plan.js'
import type { PlanParams } from './plan.js'

export type RttSource = 'local' | 'ping' | 'vivaldi' | 'default'
export type ReputationState = 'healthy' | 'avoid' | 'banned'

export interface CandidateInput {
  peerId: string
  /** This node itself: exact, fresh load and no network. */
  local: boolean
  /** The candidate advertises the task's kind. */
  serves: boolean
  queueDepth: number
  running: number
  concurrency: number
  queueLimit: number
  /**
   * Correction to the advertised queue from this node's own traffic: tasks it sent the
   * candidate since the advertisement minus its tasks the candidate finished since (may be
   * negative).
   */
  sentSinceAd: number
  /** Mean run time of this kind there, ms (undefined: not observed). */
  meanRunMs?: number
  rttMs?: number
  rttSource: RttSource
  reputation: number
  reputationState: ReputationState
  /** Repeated recent failures: do not send until the breaker half-opens. */
  circuitOpen: boolean
  /** This node has a connection to it (else a task pays for a dial first). Default: connected. */
  connected?: boolean
  /** It takes no work from peers now (its owner's policy), and why (e.g. `paused`, `on-battery`): never sent a task. */
  noWork?: string
}

export interface ScoreParams {
  /** Run time assumed for a kind nobody has measured, ms. Default 100. */
  defaultRunMs: number
  /** RTT assumed when neither ping nor Vivaldi knows, ms. Default 100. */
  defaultRttMs: number
  /** Penalty per point of negative reputation, ms. Default 5 (score -20 → +100 ms). */
  penaltyMsPerPoint: number
  /** Round trips a dial costs (TCP, Noise, multistream) when not connected yet. Default 2. */
  dialRtts: number
  /** Plus this much for the handshake's CPU (Noise, identify), ms. Default 20. */
  dialFixedMs?: number
}

export const DEFAULT_SCORE_PARAMS: ScoreParams = {
  defaultRunMs: 100,
  defaultRttMs: 100,
  penaltyMsPerPoint: 5,
  dialRtts: 2,
  dialFixedMs: 20
}

export interface ScoredCandidate {
  peerId: string
  local: boolean
  eligible: boolean
  /** Why it is (not) eligible, for `fedmesh route`. */
  reason: string
  queueWaitMs: number
  rttMs: number
  rttSource: RttSource
  /** Extra time to connect first, ms (0 when connected). */
  dialMs: number
  runMs: number
  reputation: number
  reputationPenaltyMs: number
  /** Tasks ahead of a new one there (advertised queue + running beyond free slots + our recent sends). */
  load: number
  /** Expected completion time, ms (lower is better); Infinity when not eligible. */
  score: number
}

/** Expected wait for a free slot: tasks ahead beyond the free slots, drained `concurrency` at a time. */
export function queueWaitMs (c: Pick<CandidateInput, 'queueDepth' | 'running' | 'concurrency' | 'sentSinceAd'>, runMs: number): number {
  const concurrency = Math.max(1, c.concurrency)
  // A negative correction (our tasks there finished) empties the queue first, then frees slots.
  const corrected = c.queueDepth + c.sentSinceAd
  const running = corrected < 0 ? Math.max(0, c.running + corrected) : c.running
  const ahead = Math.max(0, corrected)
  const free = Math.max(0, concurrency - running)
  if (ahead < free) return 0
  return ((ahead - free + 1) / concurrency) * runMs
}

/** The reason given for a candidate that does not serve the kind (`fedmesh route` exits 4 when every one says it). */
export const NOT_SERVED_REASON = 'does not serve this kind'

/** Why a candidate can never take the task now, whatever its load (undefined: it can). */
export function standingIneligibility (c: CandidateInput): string | undefined {
  if (!c.serves) return NOT_SERVED_REASON
  if (c.reputationState === 'banned') return 'banned'
  if (c.reputationState === 'avoid') return 'reputation too low'
  if (c.circuitOpen) return 'circuit open after repeated failures'
  if (c.noWork != null) return `takes no work: ${c.noWork}`
  if (c.concurrency <= 0) return 'advertises no slots'
  return undefined
}

function ineligibility (c: CandidateInput): string | undefined {
  const standing = standingIneligibility(c)
  if (standing != null) return standing
  if (!c.local && c.queueDepth + c.sentSinceAd >= c.queueLimit && c.queueLimit > 0) return 'queue full'
  return undefined
}

/** The expected completion time of an eligible candidate, ms (scoreCandidate's `score`). */
function expectedMs (c: CandidateInput, params: ScoreParams): number {
  const runMs = c.meanRunMs ?? params.defaultRunMs
  const rttMs = c.local ? 0 : c.rttMs ?? params.defaultRttMs
  return queueWaitMs(c, runMs) + rttMs + dialMsOf(c, rttMs, params) + runMs + Math.max(0, -c.reputation) * params.penaltyMsPerPoint
}

function dialMsOf (c: CandidateInput, rttMs: number, params: ScoreParams): number {
  return c.local || c.connected !== false ? 0 : rttMs * (params.dialRtts ?? DEFAULT_SCORE_PARAMS.dialRtts) + (params.dialFixedMs ?? 20)
}

export function scoreCandidate (c: CandidateInput, params: ScoreParams = DEFAULT_SCORE_PARAMS): ScoredCandidate {
  const runMs = c.meanRunMs ?? params.defaultRunMs
  const rttMs = c.local ? 0 : c.rttMs ?? params.defaultRttMs
  const wait = queueWaitMs(c, runMs)
  const penalty = Math.max(0, -c.reputation) * params.penaltyMsPerPoint
  const dialMs = dialMsOf(c, rttMs, params)
  const why = ineligibility(c)
  const load = Math.max(0, c.queueDepth + c.running + c.sentSinceAd - c.concurrency)
  // (load: tasks beyond its slots, as this node estimates them)
  return {
    peerId: c.peerId,
    local: c.local,
    eligible: why == null,
    reason: why ?? (c.local ? 'this node' : 'eligible'),
    queueWaitMs: wait,
    rttMs,
    rttSource: c.local ? 'local' : c.rttMs == null ? 'default' : c.rttSource,
    dialMs,
    runMs,
    reputation: c.reputation,
    reputationPenaltyMs: penalty,
    load,
    score: why == null ? wait + rttMs + dialMs + runMs + penalty : Infinity
  }
}

/** What `planDispatch` will do with the ranking: only the candidates it can look at are kept. */
export interface Shortlist {
  plan: Pick<PlanParams, 'nearTieMs' | 'nearTieFraction' | 'spreadRuns'>
  /** The plan binds late whatever the best looks like (planDispatch's `bounced`). */
  bounced: boolean
}

/**
 * Score every candidate and sort best first (ties: local first, then by peer id so the order is
 * deterministic). Ineligible candidates stay in the list, last, with their reason.
 *
 * With `shortlist`, only the candidates `planDispatch` can look at are sorted and returned: this
 * node, and every eligible candidate scored at most the line it draws from (the best's score for
 * a free local node, the near-tie margin for a direct send, `spreadRuns` run times of the best
 * for reservations). Their order, and so every random draw the plan makes by position, is the
 * same as in the full ranking; sorting a handful instead of every known peer is what keeps
 * routing cheap with thousands of peers. With no eligible candidate the full list is returned
 * (for its reasons).
 */
export function rankCandidates (candidates: CandidateInput[], params: ScoreParams = DEFAULT_SCORE_PARAMS, shortlist?: Shortlist): ScoredCandidate[] {
  if (shortlist == null) return candidates.map(c => scoreCandidate(c, params)).sort(compareScored)
  // Scores first (no objects), then only the kept candidates in full.
  const scores = new Float64Array(candidates.length)
  let best = -1
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i]
    scores[i] = ineligibility(c) == null ? expectedMs(c, params) : Infinity
    if (scores[i] !== Infinity && (best < 0 || before(c, scores[i], candidates[best], scores[best]))) best = i
  }
  if (best < 0) return candidates.map(c => scoreCandidate(c, params)).sort(compareScored)
  const line = shortlistLine(scoreCandidate(candidates[best], params), shortlist)
  const kept: ScoredCandidate[] = []
  for (let i = 0; i < candidates.length; i++) {
    if (candidates[i].local || scores[i] <= line) kept.push(scoreCandidate(candidates[i], params))
  }
  return kept.sort(compareScored)
}

/** compareScored's order between two eligible candidates. */
function before (a: CandidateInput, aScore: number, b: CandidateInput, bScore: number): boolean {
  if (aScore !== bScore) return aScore < bScore
  if (a.local !== b.local) return a.local
  return a.peerId < b.peerId
}

/** The worst score planDispatch can pick given the best eligible candidate (plan.ts's rules). */
function shortlistLine (best: ScoredCandidate, { plan, bounced }: Shortlist): number {
  if (best.local && best.queueWaitMs === 0) return best.score
  if (best.queueWaitMs === 0 && !bounced) return best.score + Math.max(plan.nearTieMs, best.score * plan.nearTieFraction)
  return best.score + (plan.spreadRuns ?? DEFAULT_SPREAD_RUNS) * best.runMs
}

function compareScored (a: ScoredCandidate, b: ScoredCandidate): number {
  if (a.eligible !== b.eligible) return a.eligible ? -1 : 1
  if (a.score !== b.score) return a.score - b.score
  if (a.local !== b.local) return a.local ? -1 : 1
  return a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0
}
