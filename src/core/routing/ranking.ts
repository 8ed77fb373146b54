/**
 * Ranking candidates by score (score.ts), best first: the whole list for display, or the
 * shortlist `planDispatch` can pick from, built so a node that knows thousands of peers pays a
 * few numbers per peer per decision and an object only for the candidates the plan takes.
 * Pure: the same inputs always give the same order (ties: local first, then by peer id).
 */
import { DEFAULT_SPREAD_RUNS, rankingOf } from './plan.js'
import { DEFAULT_SCORE_PARAMS, expectedMs, ineligibility, queueWaitMs, scoreCandidate } from './score.js'
import type { PlanParams, Ranking } from './plan.js'
import type { CandidateInput, ScoreParams, ScoredCandidate } from './score.js'

/**
 * Candidates read one at a time, so a ranking over thousands of known peers keeps no object per
 * peer: `read` returns candidate `i` (its own object, or `into` filled in; either may be reused
 * by the next read), or undefined when position `i` holds none to consider (filtered out).
 */
export interface CandidateReader {
  readonly length: number
  read(i: number, into: CandidateInput): CandidateInput | undefined
  /**
   * Candidate `i` with only its id, `local`, `serves` and advertised load (`queueDepth`,
   * `running`, `concurrency`, `queueLimit`) filled in, for choices that score nothing (the
   * simulator's baselines read every candidate per decision). Optional: `read` does as well.
   */
  readLoad?(i: number, into: CandidateInput): CandidateInput | undefined
  /**
   * `readLoad` plus what decides standing (`reputationState`, `circuitOpen`, `noWork`), for the
   * admission window, which reads every candidate per submitted task and scores none. Optional:
   * `read` does as well.
   */
  readStanding?(i: number, into: CandidateInput): CandidateInput | undefined
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
 * same as in the full ranking. With no eligible candidate the full list is returned (for its
 * reasons).
 */
export function rankCandidates (candidates: readonly CandidateInput[] | CandidateReader, params: ScoreParams = DEFAULT_SCORE_PARAMS, shortlist?: Shortlist): ScoredCandidate[] {
  const reader = isReader(candidates) ? candidates : arrayReader(candidates)
  if (shortlist == null) return scoreAll(reader, params)
  const ranking = rankShortlist(reader, params, shortlist)
  return Array.from({ length: ranking.length }, (_, i) => ranking.at(i))
}

/**
 * `rankCandidates` with a shortlist, as a `Ranking`: a first pass scores every candidate into an
 * array of numbers, a second keeps the shortlist's positions and what the plan compares, sorted;
 * a candidate object is built only when the plan asks for it (`at`). Sorting numbers instead of
 * building and sorting an object per known peer is what keeps routing cheap with thousands of
 * peers (under load a reservation's pool holds most of them). The reader must not change while
 * the ranking is read; with a `scratch`, the ranking holds until the next one built in it.
 */
export function rankShortlist (reader: CandidateReader, params: ScoreParams, shortlist: Shortlist, scratch: RankScratch = new RankScratch()): Ranking {
  const n = reader.length
  // Per position, what the plan compares (NaN score: nothing there, never kept).
  const { scores, waits, isLocal, ids, kept, into } = scratch.fit(n)
  let best = -1
  for (let i = 0; i < n; i++) {
    const c = reader.read(i, into)
    if (c === undefined) {
      scores[i] = NaN
      isLocal[i] = 0
      continue
    }
    const s = ineligibility(c) == null ? expectedMs(c, params) : Infinity
    scores[i] = s
    waits[i] = queueWaitMs(c, c.meanRunMs ?? params.defaultRunMs)
    isLocal[i] = c.local ? 1 : 0
    ids[i] = c.peerId
    if (s !== Infinity && (best < 0 || before(scores, isLocal, ids, i, best))) best = i
  }
  if (best < 0) return rankingOf(scoreAll(reader, params))
  const line = shortlistLine(scoreCandidate(reader.read(best, into) as CandidateInput, params), shortlist)
  // This node is always kept (the plan holds a place there too).
  let length = 0
  for (let i = 0; i < n; i++) if (isLocal[i] === 1 || scores[i] <= line) kept[length++] = i
  sortPositions(kept, length, scratch.merge, scores, isLocal, ids)
  const built: Array<ScoredCandidate | undefined> = new Array(length)
  return {
    length,
    at: (i) => {
      let c = built[i]
      if (c === undefined) {
        c = scoreCandidate(reader.read(kept[i], into) as CandidateInput, params)
        built[i] = c
      }
      return c
    },
    eligible: (i) => scores[kept[i]] !== Infinity,
    score: (i) => scores[kept[i]],
    queueWaitMs: (i) => waits[kept[i]],
    local: (i) => isLocal[kept[i]] === 1
  }
}

/**
 * The arrays a ranking works in, kept by a caller that ranks again and again (the dispatcher):
 * a node that knows thousands of peers then allocates nothing per peer per decision. A ranking
 * built in a scratch is valid until the next one is built in it.
 */
export class RankScratch {
  scores = new Float64Array(0)
  waits = new Float64Array(0)
  isLocal = new Uint8Array(0)
  ids: string[] = []
  kept = new Int32Array(0)
  merge = new Int32Array(0)
  readonly into = blankCandidate()

  /** Room for `n` candidates. */
  fit (n: number): this {
    if (this.scores.length < n) {
      const size = Math.max(n, this.scores.length * 2)
      this.scores = new Float64Array(size)
      this.waits = new Float64Array(size)
      this.isLocal = new Uint8Array(size)
      this.kept = new Int32Array(size)
      this.merge = new Int32Array(size)
    }
    if (this.ids.length < n) this.ids.length = n
    return this
  }
}

/** compareScored's order between positions a and b (a before b): score, then local, then id. */
function before (scores: Float64Array, isLocal: Uint8Array, ids: readonly string[], a: number, b: number): boolean {
  if (scores[a] !== scores[b]) return scores[a] < scores[b]
  if (isLocal[a] !== isLocal[b]) return isLocal[a] === 1
  return ids[a] < ids[b]
}

/**
 * Sort `pos[0..n)` by `before` (a merge sort over positions, the comparisons inline: a sort
 * with a comparator function pays a call per comparison, the largest cost of a ranking). The
 * order is total (ids differ), so any correct sort gives the same one.
 */
function sortPositions (pos: Int32Array, n: number, tmp: Int32Array, scores: Float64Array, isLocal: Uint8Array, ids: readonly string[]): void {
  // Runs of 8 by insertion, then merged pairwise, back and forth between pos and tmp.
  const RUN = 8
  for (let lo = 0; lo < n; lo += RUN) {
    const hi = Math.min(n, lo + RUN)
    for (let i = lo + 1; i < hi; i++) {
      const v = pos[i]
      let j = i - 1
      while (j >= lo && before(scores, isLocal, ids, v, pos[j])) {
        pos[j + 1] = pos[j]
        j--
      }
      pos[j + 1] = v
    }
  }
  let src = pos
  let dst = tmp
  for (let width = RUN; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(n, lo + width)
      const hi = Math.min(n, lo + 2 * width)
      let i = lo
      let j = mid
      let k = lo
      while (i < mid && j < hi) dst[k++] = before(scores, isLocal, ids, src[j], src[i]) ? src[j++] : src[i++]
      while (i < mid) dst[k++] = src[i++]
      while (j < hi) dst[k++] = src[j++]
    }
    const t = src
    src = dst
    dst = t
  }
  if (src !== pos) pos.set(src.subarray(0, n))
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
