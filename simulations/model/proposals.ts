/**
 * Candidate rule changes to `core/routing/plan.ts`, tried in the harness without touching core,
 * so the report can show with figures which change would close the gap to the ideal. Each is
 * the core plan with one rule replaced:
 *
 * - `randomReserve`: reserve on `probes` candidates drawn at random from the eligible ones within
 *   `spreadRuns` run times of the best score, instead of the top `probes` of the ranking. With
 *   stale adverts every node ranks the same few peers first, so top-k reservations herd onto
 *   them; random probes spread the reservation queues, which is what Sparrow's late binding
 *   relies on.
 * - `reserveAfterBounce`: after a BUSY bounce, reserve (late binding) rather than guess another
 *   free-looking peer from the same stale table.
 */
import { planDispatch } from '../../src/core/routing/plan.js'
import type { Plan, PlanParams } from '../../src/core/routing/plan.js'
import type { ScoredCandidate } from '../../src/core/routing/score.js'

export interface ProposalParams {
  randomReserve?: boolean
  /** Reservation pool: eligible candidates within this many run times of the best score. Default 1. */
  spreadRuns?: number
  reserveAfterBounce?: boolean
}

export function proposedPlan (ranked: ScoredCandidate[], random: () => number, params: PlanParams, p: ProposalParams, bounced: boolean): Plan {
  const core = planDispatch(ranked, random, params)
  const wantReserve = core.mode === 'reserve' || (p.reserveAfterBounce === true && bounced && core.mode === 'direct' && !core.target.local)
  if (!wantReserve || p.randomReserve !== true) {
    if (wantReserve && core.mode === 'direct') return { mode: 'reserve', targets: withLocal(ranked.filter(c => c.eligible).slice(0, Math.max(1, params.probes)), ranked) }
    return core
  }
  const eligible = ranked.filter(c => c.eligible)
  const best = eligible[0]
  const line = best.score + (p.spreadRuns ?? 1) * best.runMs
  const pool = eligible.filter(c => !c.local && c.score <= line)
  const k = Math.max(1, params.probes)
  const targets: ScoredCandidate[] = []
  for (let i = 0; i < k && pool.length > 0; i++) targets.push(pool.splice(Math.floor(random() * pool.length), 1)[0])
  if (targets.length === 0) return core
  const all = withLocal(targets, ranked)
  return all.length === 1 ? { mode: 'direct', target: all[0], maxWaitMs: 0 } : { mode: 'reserve', targets: all }
}

/** Late binding also holds a place locally when this node is eligible (as plan.ts does). */
function withLocal (targets: ScoredCandidate[], ranked: ScoredCandidate[]): ScoredCandidate[] {
  const local = ranked.find(c => c.local && c.eligible)
  return local !== undefined && !targets.includes(local) ? [...targets, local] : targets
}
