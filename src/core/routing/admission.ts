import { arrayReader, blankCandidate } from './ranking.js'
import { standingIneligibility } from './score.js'
import type { CandidateReader } from './ranking.js'
import type { CandidateInput } from './score.js'

/**
 * How many of this node's own tasks of one kind may be out in the mesh at once. Beyond that they
 * wait in the node's admission queue instead of being pushed at peers that can only refuse them
 * (which used to end as QUEUE_FULL errors for the user). The window counts every slot that can
 * run the kind — this node's and its peers' — whatever their load now: load changes by the
 * millisecond and is what the window paces against, so only standing (kind served, reputation,
 * circuit breaker) decides which slots count. `depth` tasks per slot keep every slot fed while
 * the next task travels (one running, one ready in the queue behind it).
 */

export interface AdmissionParams {
  /** This node's tasks in flight per slot of the mesh. Default 2. */
  depth: number
}

export const DEFAULT_ADMISSION_PARAMS: AdmissionParams = { depth: 2 }

/**
 * `candidates` as an array, or read one at a time into one object (it runs for every task this
 * node submits: no array, no object per candidate).
 */
export function admissionWindow (candidates: readonly CandidateInput[] | CandidateReader, params: AdmissionParams = DEFAULT_ADMISSION_PARAMS): number {
  const reader = isReader(candidates) ? candidates : arrayReader(candidates)
  let slots = 0
  for (let i = 0; i < reader.length; i++) {
    const c = reader.readStanding != null ? reader.readStanding(i, SCRATCH) : reader.read(i, SCRATCH)
    if (c !== undefined && standingIneligibility(c) == null) slots += c.concurrency
  }
  return Math.ceil(slots * Math.max(1, params.depth))
}

function isReader (c: readonly CandidateInput[] | CandidateReader): c is CandidateReader {
  return !Array.isArray(c)
}

/** Where candidates are read (at once, never across an await): one object for the thread. */
const SCRATCH = blankCandidate()
