/**
 * The baselines fedmesh is compared with, as `DispatcherInit.planner`s: the real dispatcher runs
 * them (same failover, same candidates from the same adverts), only the choice differs. Each
 * sends directly and lets the task queue (no BUSY bounce, no reservations) and ignores
 * reputation and breakers (the model wires neither for them):
 *
 * - random: a candidate drawn with probability proportional to its slots (uniform draws send a
 *   1-slot peer as much as an 8-slot one and overload it);
 * - roundRobin: each node cycles through its candidates in peer-id order, starting after itself;
 * - powerOfTwo: two random candidates, the one whose advert shows less load per slot.
 */
import { blankCandidate } from '../../src/core/routing/ranking.js'
import type { Plan, PlanContext } from '../../src/core/routing/plan.js'
import type { CandidateReader } from '../../src/core/routing/ranking.js'
import type { CandidateInput, ScoredCandidate } from '../../src/core/routing/score.js'

export type BaselineName = 'random' | 'roundRobin' | 'powerOfTwo'

export type Planner = (candidates: CandidateReader, score: (c: CandidateInput) => ScoredCandidate, random: () => number, context: PlanContext) => Plan

/** A planner for node `selfId` (round-robin keeps its place per node). */
export function baselinePlanner (name: BaselineName, selfId: string): Planner {
  if (name === 'random') return randomBySlots
  if (name === 'powerOfTwo') return powerOfTwo
  let last = selfId
  return (candidates, score) => {
    // The next id after the last one chosen, wrapping to the smallest.
    let next = -1
    let nextId = ''
    let first = -1
    let firstId = ''
    for (let i = 0; i < candidates.length; i++) {
      const c = loadOf(candidates, i, scratch)
      if (c === undefined || !usable(c)) continue
      if (first < 0 || c.peerId < firstId) { first = i; firstId = c.peerId }
      if (c.peerId > last && (next < 0 || c.peerId < nextId)) { next = i; nextId = c.peerId }
    }
    const chosen = next >= 0 ? next : first
    if (chosen < 0) return none
    last = next >= 0 ? nextId : firstId
    return direct(score(candidates.read(chosen, scratch) as CandidateInput))
  }
}

/** Read into and scored at once (planners run one at a time). */
const scratch = blankCandidate()
const other = blankCandidate()

const none: Plan = { mode: 'none', reason: 'no candidates' }

function direct (target: ScoredCandidate): Plan {
  return { mode: 'direct', target, maxWaitMs: 0 }
}

/** Candidate `i`'s id and advertised load only (what the scans above look at), when the reader can say just that. */
function loadOf (candidates: CandidateReader, i: number, into: CandidateInput): CandidateInput | undefined {
  return candidates.readLoad !== undefined ? candidates.readLoad(i, into) : candidates.read(i, into)
}

/** Serves the kind and has slots, whatever its reputation or breaker. */
function usable (c: CandidateInput): boolean {
  return c.serves && c.concurrency > 0
}

const randomBySlots: Planner = (candidates, score, random) => {
  // Per position, the slots of a usable candidate (0: not usable): one read each.
  const slots = new Float64Array(candidates.length)
  let total = 0
  for (let i = 0; i < candidates.length; i++) {
    const c = loadOf(candidates, i, scratch)
    if (c !== undefined && usable(c)) {
      slots[i] = c.concurrency
      total += c.concurrency
    }
  }
  let draw = random() * total
  let last = -1
  for (let i = 0; i < candidates.length; i++) {
    if (slots[i] === 0) continue
    last = i
    draw -= slots[i]
    if (draw < 0) return direct(score(candidates.read(i, scratch) as CandidateInput))
  }
  return last >= 0 ? direct(score(candidates.read(last, scratch) as CandidateInput)) : none
}

const powerOfTwo: Planner = (candidates, score, random) => {
  const usableOnes: number[] = []
  for (let i = 0; i < candidates.length; i++) {
    const c = loadOf(candidates, i, scratch)
    if (c !== undefined && usable(c)) usableOnes.push(i)
  }
  if (usableOnes.length === 0) return none
  const ai = usableOnes[Math.floor(random() * usableOnes.length)]
  const a = candidates.read(ai, scratch) as CandidateInput
  if (usableOnes.length === 1) return direct(score(a))
  let bi = usableOnes[Math.floor(random() * (usableOnes.length - 1))]
  if (bi === ai) bi = usableOnes[usableOnes.length - 1]
  const b = candidates.read(bi, other) as CandidateInput
  return direct(score(loadPerSlot(b) < loadPerSlot(a) ? b : a))
}

/** Load per slot as the (stale) advert shows it; exact for this node. */
function loadPerSlot (c: CandidateInput): number {
  return (c.queueDepth + c.running) / c.concurrency
}
