/**
 * Where a task goes, per policy. `fedmesh` builds the same `CandidateInput`s as
 * `services/tasks/candidates.ts` (this node with its exact load, every peer with a fresh advert
 * corrected by `sentSinceAd`, RTT, reputation, breaker; a peer, or this node, that has not
 * measured the kind yet gets the median advertised run time) and asks the real `rankCandidates`
 * and `planDispatch(ranked, random, params, { bounced })`, as `services/tasks/dispatcher.ts`
 * does. The baselines see the same adverts and differ only in the rule:
 *
 * - random: any known peer (or this node), uniformly;
 * - roundRobin: each node cycles through the peers it knows;
 * - powerOfTwo: two random known peers, the one whose (stale) advert shows less load per slot.
 *
 * Baselines always queue (no BUSY bounce, no reservations) and ignore reputation; they fail over
 * like the dispatcher when a peer is lost (but wait the whole budget for an attempt: they have
 * no expected completion time to scale a timeout by).
 */
import { DEFAULT_PLAN_PARAMS, planDispatch } from '../../src/core/routing/plan.js'
import { rankCandidates, scoreCandidate } from '../../src/core/routing/score.js'
import type { CandidateInput, ReputationState, ScoreParams, ScoredCandidate } from '../../src/core/routing/score.js'
import type { PlanParams } from '../../src/core/routing/plan.js'
import type { Rng } from '../prng.js'
import type { VisibleAd } from './ads.js'

export type PolicyName = 'fedmesh' | 'random' | 'roundRobin' | 'powerOfTwo'

export type SimPlan =
  /**
   * `expectedMs` (the target's score; a reservation race's best) and `runMs` (its run-time
   * estimate) are the dispatcher's: the attempt's patience scales with the first, the request's `expectedRunMs` is the second.
   * Baselines leave them out.
   */
  | { mode: 'direct', target: number, maxWaitMs: number, adAgeMs: number, expectedMs?: number, runMs?: number }
  | { mode: 'reserve', targets: number[], runMs?: number[], rttMs?: number[], expectedMs?: number }
  | { mode: 'none', reason: string }

/** What a policy may ask about the node that decides and the peers it knows. */
export interface DecisionContext {
  origin: number
  now: number
  /** Peers this node knows (its view), without itself. */
  known: ArrayLike<number>
  exclude: ReadonlySet<number>
  /** A try of this task was refused (BUSY, QUEUE_FULL, ...) before: the dispatcher's `bounced`. */
  bounced: boolean
  ad: (peer: number) => VisibleAd | undefined
  /** The capacity table's correction to the peer's advert `ad` (its current one). */
  sentSinceAd: (peer: number, ad: VisibleAd) => number
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

/** Counters of how often the model took each shortcut (for the profile, not the report). */
export const policyStats = { decisions: 0, rankedCandidates: 0, medians: 0 }

export function fedmeshPolicy (score: ScoreParams, plan: PlanParams): Policy {
  return {
    name: 'fedmesh',
    choose (ctx) {
      const inputs: CandidateInput[] = []
      // Run times of this node and of every fresh advert, for the median (candidates.ts).
      const runTimes: number[] = []
      if (ctx.local.meanRunMs !== undefined) runTimes.push(ctx.local.meanRunMs)
      let cold = false
      if (!ctx.exclude.has(ctx.origin)) {
        const l = ctx.local
        if (l.meanRunMs === undefined) cold = true
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
        if (ad.meanRunMs === undefined) cold = true
        else runTimes.push(ad.meanRunMs)
        const rep = ctx.reputation(p)
        inputs.push({
          peerId: ctx.ids[p],
          local: false,
          serves: true,
          queueDepth: ad.queueDepth,
          running: ad.running,
          concurrency: ad.concurrency,
          queueLimit: ad.queueLimit,
          sentSinceAd: ctx.sentSinceAd(p, ad),
          meanRunMs: ad.meanRunMs,
          rttMs: ctx.rttMs(p),
          rttSource: 'ping',
          reputation: rep.score,
          reputationState: rep.state,
          circuitOpen: ctx.breakerOpen(p)
        })
      }
      if (cold) {
        // candidates.ts: whoever has not run the kind yet is assumed as fast as the median of
        // this node's own and every fresh advert's run time (excluded peers included).
        const typical = medianRunMs(ctx, runTimes)
        for (const c of inputs) c.meanRunMs ??= typical
      }
      policyStats.decisions++
      const short = shortlist(inputs, score, plan, ctx.bounced)
      policyStats.rankedCandidates += short.length
      const ranked = rankCandidates(short, score)
      const p = planDispatch(ranked, () => ctx.rng.float(), plan, { bounced: ctx.bounced })
      if (p.mode === 'none') return p
      if (p.mode === 'direct') {
        const target = ctx.idIndex.get(p.target.peerId) as number
        const ad = p.target.local ? undefined : ctx.ad(target)
        return { mode: 'direct', target, maxWaitMs: p.maxWaitMs, adAgeMs: ad === undefined ? 0 : ctx.now - ad.publishedAt, expectedMs: p.target.score, runMs: p.target.runMs }
      }
      return {
        mode: 'reserve',
        targets: p.targets.map(t => ctx.idIndex.get(t.peerId) as number),
        runMs: p.targets.map(t => t.runMs),
        rttMs: p.targets.map(t => t.rttMs),
        // The race's patience scales with its best target (dispatcher.ts).
        expectedMs: Math.min(...p.targets.map(t => t.score))
      }
    }
  }
}

/**
 * candidates.ts `medianRunMs`: the upper median of this node's and the fresh adverts' run times.
 * `values` holds this node's and the candidates' already; the excluded peers' are added here.
 */
function medianRunMs (ctx: DecisionContext, values: number[]): number | undefined {
  policyStats.medians++
  for (const p of ctx.exclude) {
    if (p === ctx.origin) continue
    const v = ctx.ad(p)?.meanRunMs
    if (v !== undefined && v > 0) values.push(v)
  }
  if (values.length === 0) return undefined
  values.sort((a, b) => a - b)
  return values[values.length >> 1]
}

/**
 * The candidates `planDispatch` can possibly look at, so the real `rankCandidates` sorts a
 * handful instead of every peer (a 300-peer sort per task dominated the run time). planDispatch
 * reads the best eligible candidate and then either (direct) the free ones within the near-tie
 * margin of it, or (reserve) the ones within `spreadRuns` run times of it, from which it draws
 * its probes at random by position in the ranking. Keeping every eligible candidate scored at
 * most that line, in ranking order, keeps exactly those, so the plan, and the random draws it
 * makes, are the same as over the full list; this node itself is always kept (late binding
 * also reserves locally). With no eligible candidate at all the full list goes through (for
 * its reasons).
 */
function shortlist (inputs: CandidateInput[], score: ScoreParams, plan: PlanParams, bounced: boolean): CandidateInput[] {
  const scored = new Array<ScoredCandidate>(inputs.length)
  let best: ScoredCandidate | undefined
  for (let i = 0; i < inputs.length; i++) {
    const s = scoreCandidate(inputs[i], score)
    scored[i] = s
    if (s.eligible && (best === undefined || before(s, best))) best = s
  }
  if (best === undefined) return inputs
  let line: number
  if (best.local && best.queueWaitMs === 0) line = best.score
  else if (best.queueWaitMs === 0 && !bounced) line = best.score + Math.max(plan.nearTieMs, best.score * plan.nearTieFraction)
  else line = best.score + (plan.spreadRuns ?? DEFAULT_PLAN_PARAMS.spreadRuns ?? 8) * best.runMs
  const out: CandidateInput[] = []
  for (let i = 0; i < inputs.length; i++) {
    const s = scored[i]
    if (inputs[i].local || (s.eligible && s.score <= line)) out.push(inputs[i])
  }
  return out
}

/** rankCandidates' order among eligible candidates: score, then this node, then peer id. */
function before (a: ScoredCandidate, b: ScoredCandidate): boolean {
  if (a.score !== b.score) return a.score < b.score
  if (a.local !== b.local) return a.local
  return a.peerId < b.peerId
}

/** A candidate for the baselines: this node, or a known peer with a fresh advert; not excluded. */
function usable (ctx: DecisionContext, p: number): boolean {
  return !ctx.exclude.has(p) && (p === ctx.origin || ctx.ad(p) !== undefined)
}

/** The k-th of this node and its known peers (k = known.length is this node). */
function nth (ctx: DecisionContext, k: number): number {
  return k === ctx.known.length ? ctx.origin : ctx.known[k]
}

/**
 * A uniformly random candidate: draw among this node and every known peer, redraw while the
 * draw is not a candidate (so a decision costs a few advert lookups, not one per known peer),
 * and after 16 misses draw among the candidates listed in full.
 */
function randomCandidate (ctx: DecisionContext, not = -1): number | undefined {
  const n = ctx.known.length + 1
  for (let tries = 0; tries < 16; tries++) {
    const p = nth(ctx, ctx.rng.int(n))
    if (p !== not && usable(ctx, p)) return p
  }
  const c: number[] = []
  for (let k = 0; k < n; k++) {
    const p = nth(ctx, k)
    if (p !== not && usable(ctx, p)) c.push(p)
  }
  return c.length === 0 ? undefined : c[ctx.rng.int(c.length)]
}

function direct (ctx: DecisionContext, target: number): SimPlan {
  const ad = target === ctx.origin ? undefined : ctx.ad(target)
  return { mode: 'direct', target, maxWaitMs: 0, adAgeMs: ad === undefined ? 0 : ctx.now - ad.publishedAt }
}

export const randomPolicy: Policy = {
  name: 'random',
  choose (ctx) {
    const p = randomCandidate(ctx)
    return p === undefined ? { mode: 'none', reason: 'no candidates' } : direct(ctx, p)
  }
}

/** Each node walks its list of known peers (and itself) in order, skipping non-candidates. */
export const roundRobinPolicy: Policy = {
  name: 'roundRobin',
  choose (ctx, rr) {
    const n = ctx.known.length + 1
    for (let step = 0; step < n; step++) {
      const k = (rr.next + step) % n
      const p = nth(ctx, k)
      if (!usable(ctx, p)) continue
      rr.next = (k + 1) % n
      return direct(ctx, p)
    }
    return { mode: 'none', reason: 'no candidates' }
  }
}

export const powerOfTwoPolicy: Policy = {
  name: 'powerOfTwo',
  choose (ctx) {
    const a = randomCandidate(ctx)
    if (a === undefined) return { mode: 'none', reason: 'no candidates' }
    const b = randomCandidate(ctx, a)
    return direct(ctx, b !== undefined && loadOf(ctx, b) < loadOf(ctx, a) ? b : a)
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
