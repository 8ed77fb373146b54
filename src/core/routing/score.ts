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

/** Why a candidate can never take the task now, whatever its load (undefined: it can). */
export function standingIneligibility (c: CandidateInput): string | undefined {
  if (!c.serves) return 'does not serve this kind'
  if (c.reputationState === 'banned') return 'banned'
  if (c.reputationState === 'avoid') return 'reputation too low'
  if (c.circuitOpen) return 'circuit open after repeated failures'
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
 * Candidates read one at a time, so a ranking over thousands of known peers keeps no object per
 * peer: `read` returns candidate `i` (its own object, or `into` filled in; either may be reused
 * by the next read), or undefined when position `i` holds none to consider (filtered out).
 */
export interface CandidateReader {
  readonly length: number
  read(i: number, into: CandidateInput): CandidateInput | undefined
}

/** A reader over an array (each candidate read as it is). */
export function arrayReader (candidates: readonly CandidateInput[]): CandidateReader {
  return { length: candidates.length, read: (i) => candidates[i] }
}

/** Every candidate of a reader, each in its own object. */
export function readAll (reader: CandidateReader): CandidateInput[] {
  const out: CandidateInput[] = []
  for (let i = 0; i < reader.length; i++) {
    const c = reader.read(i, blankCandidate())
    if (c !== undefined) out.push(c)
  }
  return out
}

/** An object for `CandidateReader.read` to fill. */
export function blankCandidate (): CandidateInput {
  return { peerId: '', local: false, serves: false, queueDepth: 0, running: 0, concurrency: 0, queueLimit: 0, sentSinceAd: 0, meanRunMs: undefined, rttMs: undefined, rttSource: 'default', reputation: 0, reputationState: 'healthy', circuitOpen: false, connected: undefined }
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
 * routing cheap with thousands of peers. A first pass scores every candidate into an array of
 * numbers, a second builds only the kept ones (from a `CandidateReader`, no object per
 * candidate at all). With no eligible candidate the full list is returned (for its reasons).
 */
export function rankCandidates (candidates: readonly CandidateInput[] | CandidateReader, params: ScoreParams = DEFAULT_SCORE_PARAMS, shortlist?: Shortlist): ScoredCandidate[] {
  const reader = isReader(candidates) ? candidates : arrayReader(candidates)
  if (shortlist == null) return scoreAll(reader, params)
  const n = reader.length
  // NaN: nothing at that position (never kept).
  const scores = new Float64Array(n)
  const locals: number[] = []
  const scratch = blankCandidate()
  let best = -1
  let bestScore = Infinity
  let bestLocal = false
  let bestId = ''
  for (let i = 0; i < n; i++) {
    const c = reader.read(i, scratch)
    if (c === undefined) {
      scores[i] = NaN
      continue
    }
    if (c.local) locals.push(i)
    const s = ineligibility(c) == null ? expectedMs(c, params) : Infinity
    scores[i] = s
    if (s !== Infinity && (best < 0 || before(c.local, c.peerId, s, bestLocal, bestId, bestScore))) {
      best = i
      bestScore = s
      bestLocal = c.local
      bestId = c.peerId
    }
  }
  if (best < 0) return scoreAll(reader, params)
  const line = shortlistLine(scoreCandidate(reader.read(best, scratch) as CandidateInput, params), shortlist)
  const kept: ScoredCandidate[] = []
  for (let i = 0; i < n; i++) {
    if (scores[i] <= line || locals.includes(i)) {
      const c = reader.read(i, scratch)
      if (c !== undefined) kept.push(scoreCandidate(c, params))
    }
  }
  return kept.sort(compareScored)
}

function isReader (c: readonly CandidateInput[] | CandidateReader): c is CandidateReader {
  return !Array.isArray(c)
}

function scoreAll (reader: CandidateReader, params: ScoreParams): ScoredCandidate[] {
  const out: ScoredCandidate[] = []
  const scratch = blankCandidate()
  for (let i = 0; i < reader.length; i++) {
    const c = reader.read(i, scratch)
    if (c !== undefined) out.push(scoreCandidate(c, params))
  }
  return out.sort(compareScored)
}

/** compareScored's order between two eligible candidates (a before b). */
function before (aLocal: boolean, aId: string, aScore: number, bLocal: boolean, bId: string, bScore: number): boolean {
  if (aScore !== bScore) return aScore < bScore
  if (aLocal !== bLocal) return aLocal
  return aId < bId
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
