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
import type { Plan, PlanContext } from '../../src/core/routing/plan.js'
import type { CandidateInput, ScoredCandidate } from '../../src/core/routing/score.js'

export type BaselineName = 'random' | 'roundRobin' | 'powerOfTwo'

export type Planner = (candidates: CandidateInput[], score: (c: CandidateInput) => ScoredCandidate, random: () => number, context: PlanContext) => Plan

/** A planner for node `selfId` (round-robin keeps its place per node). */
export function baselinePlanner (name: BaselineName, selfId: string): Planner {
  if (name === 'random') return randomBySlots
  if (name === 'powerOfTwo') return powerOfTwo
  let last = selfId
  return (candidates, score) => {
    // The next id after the last one chosen, wrapping to the smallest.
    let next: CandidateInput | undefined
    let first: CandidateInput | undefined
    for (const c of candidates) {
      if (!usable(c)) continue
      if (first === undefined || c.peerId < first.peerId) first = c
      if (c.peerId > last && (next === undefined || c.peerId < next.peerId)) next = c
    }
    const chosen = next ?? first
    if (chosen === undefined) return none
    last = chosen.peerId
    return direct(score(chosen))
  }
}

const none: Plan = { mode: 'none', reason: 'no candidates' }

function direct (target: ScoredCandidate): Plan {
  return { mode: 'direct', target, maxWaitMs: 0 }
}

/** Serves the kind and has slots, whatever its reputation or breaker. */
function usable (c: CandidateInput): boolean {
  return c.serves && c.concurrency > 0
}

const randomBySlots: Planner = (candidates, score, random) => {
  let total = 0
  for (const c of candidates) if (usable(c)) total += c.concurrency
  let draw = random() * total
  let last: CandidateInput | undefined
  for (const c of candidates) {
    if (!usable(c)) continue
    last = c
    draw -= c.concurrency
    if (draw < 0) return direct(score(c))
  }
  return last !== undefined ? direct(score(last)) : none
}

const powerOfTwo: Planner = (candidates, score, random) => {
  const usableOnes = candidates.filter(usable)
  if (usableOnes.length === 0) return none
  const a = usableOnes[Math.floor(random() * usableOnes.length)]
  if (usableOnes.length === 1) return direct(score(a))
  let b = usableOnes[Math.floor(random() * (usableOnes.length - 1))]
  if (b === a) b = usableOnes[usableOnes.length - 1]
  return direct(score(loadPerSlot(b) < loadPerSlot(a) ? b : a))
}

/** Load per slot as the (stale) advert shows it; exact for this node. */
function loadPerSlot (c: CandidateInput): number {
  return (c.queueDepth + c.running) / c.concurrency
}
