/**
 * Where a task goes, per policy. `fedmesh` builds the same `CandidateInput`s as
 * `services/tasks/candidates.ts` (this node with its exact load, every peer with a fresh advert
 * corrected by `sentSinceAd`, RTT, reputation, breaker) and asks the real `rankCandidates` and
 * `planDispatch`. The baselines see the same adverts and differ only in the rule:
 *
 * - random: any known peer (or this node), uniformly;
 * - roundRobin: each node cycles through the peers it knows;
 * - powerOfTwo: two random known peers, the one whose (stale) advert shows less load per slot.
 *
 * Baselines always queue (no BUSY bounce, no reservations) and ignore reputation; they fail over
 * like the dispatcher when a peer is lost.
 */
import { planDispatch } from '../../src/core/routing/plan.js'
import { rankCandidates, scoreCandidate } from '../../src/core/routing/score.js'
import type { CandidateInput, ReputationState, ScoreParams } from '../../src/core/routing/score.js'
import type { PlanParams } from '../../src/core/routing/plan.js'
import type { Rng } from '../prng.js'
import { proposedPlan } from './proposals.js'
import type { VisibleAd } from './ads.js'
import type { ProposalParams } from './proposals.js'

export type PolicyName = 'fedmesh' | 'random' | 'roundRobin' | 'powerOfTwo'

export type SimPlan =
  | { mode: 'direct', target: number, maxWaitMs: number, adAgeMs: number }
  | { mode: 'reserve', targets: number[] }
  | { mode: 'none', reason: string }

/** What a policy may ask about the node that decides and the peers it knows. */
export interface DecisionContext {
  origin: number
  now: number
  /** Peers this node knows (its view), without itself. */
  known: ArrayLike<number>
  exclude: ReadonlySet<number>
  /** This task was bounced BUSY before. */
  bounced: boolean
  ad: (peer: number) => VisibleAd | undefined
  /** Tasks sent to the peer since its current advert. */
  sentSinceAd: (peer: number, seq: number) => number
  rttMs: (peer: number) => number
  reputation: (peer: number) => { score: number, state: ReputationState }
  breakerOpen: (peer: number) => boolean
  local: { queueDepth: number, running: number, concurrency: number, queueLimit: number, meanRunMs: number | undefined }
  rng: Rng
  ids: readonly string[]
  idIndex: ReadonlyMap<string, number>
}

export interface Policy {
  readonly name: PolicyName
  choose: (ctx: DecisionContext, rrState: { next: number }) => SimPlan
}

export function fedmeshPolicy (score: ScoreParams, plan: PlanParams, proposal?: ProposalParams): Policy {
  return {
    name: 'fedmesh',
    choose (ctx) {
      const inputs: CandidateInput[] = []
      if (!ctx.exclude.has(ctx.origin)) {
        const l = ctx.local
        inputs.push({
          peerId: ctx.ids[ctx.origin], local: true, serves: true, queueDepth: l.queueDepth, running: l.running,
          concurrency: l.concurrency, queueLimit: l.queueLimit, meanRunMs: l.meanRunMs, sentSinceAd: 0,
          rttMs: 0, rttSource: 'local', reputation: 0, reputationState: 'healthy', circuitOpen: false
        })
      }
      for (let k = 0; k < ctx.known.length; k++) {
        const p = ctx.known[k]
        if (ctx.exclude.has(p)) continue
        const ad = ctx.ad(p)
        if (ad === undefined) continue
        const rep = ctx.reputation(p)
        inputs.push({
          peerId: ctx.ids[p],
          local: false,
          serves: true,
          queueDepth: ad.queueDepth,
          running: ad.running,
          concurrency: ad.concurrency,
          queueLimit: ad.queueLimit,
          sentSinceAd: ctx.sentSinceAd(p, ad.seq),
          meanRunMs: ad.meanRunMs,
          rttMs: ctx.rttMs(p),
          rttSource: 'ping',
          reputation: rep.score,
          reputationState: rep.state,
          circuitOpen: ctx.breakerOpen(p)
        })
      }
      // A proposal's random reservation pool reaches past the shortlist: rank everything then.
      const ranked = rankCandidates(proposal?.randomReserve === true ? inputs : shortlist(inputs, score, plan), score)
      const p = proposal === undefined
        ? planDispatch(ranked, () => ctx.rng.float(), plan)
        : proposedPlan(ranked, () => ctx.rng.float(), plan, proposal, ctx.bounced)
      if (p.mode === 'none') return p
      if (p.mode === 'direct') {
        const target = ctx.idIndex.get(p.target.peerId) as number
        const ad = p.target.local ? undefined : ctx.ad(target)
        return { mode: 'direct', target, maxWaitMs: p.maxWaitMs, adAgeMs: ad === undefined ? 0 : ctx.now - ad.publishedAt }
      }
      return { mode: 'reserve', targets: p.targets.map(t => ctx.idIndex.get(t.peerId) as number) }
    }
  }
}

/**
 * The candidates `planDispatch` can possibly look at, so the real `rankCandidates` sorts a
 * handful instead of every peer (a 300-peer sort per task dominated the run time). planDispatch
 * reads the best eligible candidate, the free ones within the near-tie margin of it, and the
 * best `probes`; keeping every eligible candidate scored at most max(tie line, probes-th best
 * score), ties included, keeps exactly those, so the plan is the same as over the full list;
 * this node itself is always kept (late binding also reserves locally when it is eligible).
 * With no eligible candidate at all the full list goes through (for its reasons).
 */
function shortlist (inputs: CandidateInput[], score: ScoreParams, plan: PlanParams): CandidateInput[] {
  const k = Math.max(1, plan.probes)
  const top: number[] = [] // the k smallest eligible scores, ascending
  const scores = new Float64Array(inputs.length)
  for (let i = 0; i < inputs.length; i++) {
    const s = scoreCandidate(inputs[i], score)
    scores[i] = s.eligible ? s.score : Infinity
    if (!s.eligible) continue
    if (top.length < k || s.score < top[top.length - 1]) {
      let j = top.length < k ? top.length : top.length - 1
      top[j] = s.score
      while (j > 0 && top[j - 1] > top[j]) { const t = top[j]; top[j] = top[j - 1]; top[j - 1] = t; j-- }
    }
  }
  if (top.length === 0) return inputs
  const best = top[0]
  const line = Math.max(best + Math.max(plan.nearTieMs, best * plan.nearTieFraction), top[top.length - 1])
  const out: CandidateInput[] = []
  for (let i = 0; i < inputs.length; i++) if (scores[i] <= line || inputs[i].local) out.push(inputs[i])
  return out
}

/** Known peers with a fresh advert, plus this node, minus the excluded. */
function candidates (ctx: DecisionContext): number[] {
  const out: number[] = []
  if (!ctx.exclude.has(ctx.origin)) out.push(ctx.origin)
  for (let k = 0; k < ctx.known.length; k++) {
    const p = ctx.known[k]
    if (!ctx.exclude.has(p) && ctx.ad(p) !== undefined) out.push(p)
  }
  return out
}

function direct (ctx: DecisionContext, target: number): SimPlan {
  const ad = target === ctx.origin ? undefined : ctx.ad(target)
  return { mode: 'direct', target, maxWaitMs: 0, adAgeMs: ad === undefined ? 0 : ctx.now - ad.publishedAt }
}

export const randomPolicy: Policy = {
  name: 'random',
  choose (ctx) {
    const c = candidates(ctx)
    return c.length === 0 ? { mode: 'none', reason: 'no candidates' } : direct(ctx, c[ctx.rng.int(c.length)])
  }
}

export const roundRobinPolicy: Policy = {
  name: 'roundRobin',
  choose (ctx, rr) {
    const c = candidates(ctx)
    if (c.length === 0) return { mode: 'none', reason: 'no candidates' }
    const target = c[rr.next % c.length]
    rr.next = (rr.next + 1) % Math.max(1, c.length)
    return direct(ctx, target)
  }
}

export const powerOfTwoPolicy: Policy = {
  name: 'powerOfTwo',
  choose (ctx) {
    const c = candidates(ctx)
    if (c.length === 0) return { mode: 'none', reason: 'no candidates' }
    const a = c[ctx.rng.int(c.length)]
    let b = c[ctx.rng.int(c.length)]
    if (c.length > 1) while (b === a) b = c[ctx.rng.int(c.length)]
    return direct(ctx, loadOf(ctx, b) < loadOf(ctx, a) ? b : a)
  }
}

/** Load per slot as this node believes it: exact for itself, the stale advert for others. */
function loadOf (ctx: DecisionContext, p: number): number {
  if (p === ctx.origin) return (ctx.local.queueDepth + ctx.local.running) / ctx.local.concurrency
  const ad = ctx.ad(p)
  return ad === undefined ? Infinity : (ad.queueDepth + ad.running) / ad.concurrency
}

export function baselinePolicy (name: 'random' | 'roundRobin' | 'powerOfTwo'): Policy {
  return name === 'random' ? randomPolicy : name === 'roundRobin' ? roundRobinPolicy : powerOfTwoPolicy
}
