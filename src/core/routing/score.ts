/**
 * Routing scores: the expected completion time of a task on each candidate, from what this node
 * knows now. Pure: the same inputs always give the same ranking (DESIGN.md "Routing").
 *
 *   expected = queue wait + round trip (+ a dial when not connected) + run time + reputation penalty
 *
 * Queue wait comes from the candidate's last advertisement, corrected by the tasks this node
 * sent it since (the advertisement cannot know them yet).
 */

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
  /**
   * When it advertised every slot taken: its own estimate of how long until one frees, ms, from
   * how long its runs have lasted (0 or undefined: unknown; the mean run time over its slots is
   * assumed, right for memoryless run times, far too hopeful behind long heavy-tailed runs).
   */
  firstFreeMs?: number
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

/**
 * Expected wait for a free slot: the first slot to free (the peer's own estimate when every slot
 * is taken and it gave one, else a run over `concurrency`), then tasks ahead beyond the free
 * slots, drained `concurrency` at a time.
 */
export function queueWaitMs (c: Pick<CandidateInput, 'queueDepth' | 'running' | 'concurrency' | 'sentSinceAd' | 'firstFreeMs'>, runMs: number): number {
  const concurrency = Math.max(1, c.concurrency)
  // A negative correction (our tasks there finished) empties the queue first, then frees slots.
  const corrected = c.queueDepth + c.sentSinceAd
  const running = corrected < 0 ? Math.max(0, c.running + corrected) : c.running
  const ahead = Math.max(0, corrected)
  const free = Math.max(0, concurrency - running)
  if (ahead < free) return 0
  const first = free === 0 && c.firstFreeMs !== undefined && c.firstFreeMs > 0 ? c.firstFreeMs : runMs / concurrency
  return first + ((ahead - free) / concurrency) * runMs
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

/** Why a candidate cannot take the task now (undefined: it can); scoreCandidate's `reason`. */
export function ineligibility (c: CandidateInput): string | undefined {
  const standing = standingIneligibility(c)
  if (standing != null) return standing
  if (!c.local && c.queueDepth + c.sentSinceAd >= c.queueLimit && c.queueLimit > 0) return 'queue full'
  return undefined
}

/** The expected completion time of an eligible candidate, ms (scoreCandidate's `score`). */
export function expectedMs (c: CandidateInput, params: ScoreParams): number {
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
    // One formula for the expected time: the shortlist ranks by expectedMs, picks are built here.
    score: why == null ? expectedMs(c, params) : Infinity
  }
}
