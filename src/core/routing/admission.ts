import { standingIneligibility } from './score.js'
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

export function admissionWindow (candidates: CandidateInput[], params: AdmissionParams = DEFAULT_ADMISSION_PARAMS): number {
  let slots = 0
  for (const c of candidates) {
    if (standingIneligibility(c) == null) slots += c.concurrency
  }
  return Math.ceil(slots * Math.max(1, params.depth))
}
