import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { DEFAULT_PLAN_PARAMS, planDispatch } from '../../../../src/core/routing/plan.js'
import { RankScratch, blankCandidate, rankCandidates, rankShortlist } from '../../../../src/core/routing/ranking.js'
import { DEFAULT_SCORE_PARAMS } from '../../../../src/core/routing/score.js'
import type { CandidateReader } from '../../../../src/core/routing/ranking.js'
import type { CandidateInput, ScoredCandidate } from '../../../../src/core/routing/score.js'

function peer (peerId: string, over: Partial<CandidateInput> = {}): CandidateInput {
  return {
    peerId,
    local: false,
    serves: true,
    queueDepth: 0,
    running: 0,
    concurrency: 2,
    queueLimit: 100,
    sentSinceAd: 0,
    meanRunMs: 100,
    rttMs: 10,
    rttSource: 'ping',
    reputation: 0,
    reputationState: 'healthy',
    circuitOpen: false,
    ...over
  }
}
const self = (over: Partial<CandidateInput> = {}): CandidateInput => peer('self', { local: true, rttMs: 0, rttSource: 'local', ...over })
const busy: Partial<CandidateInput> = { running: 2, queueDepth: 3 }

const rank = (cs: CandidateInput[]): ScoredCandidate[] => rankCandidates(cs)
const never = (): number => { throw new Error('random must not be used') }

describe('planDispatch', () => {
  describe('direct, when the best candidate has a free slot', () => {
    it('goes to this node without spreading and without a wait limit (its load is exact)', () => {
      const plan = planDispatch(rank([peer('a', { rttMs: 1 }), self()]), never)
      expect(plan).toMatchObject({ mode: 'direct', maxWaitMs: 0 })
      expect(plan.mode === 'direct' && plan.target.peerId).toBe('self')
    })

    it('picks at random among remote near-ties only, with the injected random', () => {
      // Scores: a 110, b 115, c 119, d 150; the tie window is max(5 ms, 10% of 110) = 11 ms.
      const ranked = rank([peer('a'), peer('b', { rttMs: 15 }), peer('c', { rttMs: 19 }), peer('d', { rttMs: 50 }), self({ serves: false })])
      const pick = (r: number): string => {
        const plan = planDispatch(ranked, () => r)
        if (plan.mode !== 'direct') throw new Error(`expected direct, got ${plan.mode}`)
        return plan.target.peerId
      }
      expect(pick(0)).toBe('a')
      expect(pick(0.34)).toBe('b')
      expect(pick(0.99)).toBe('c')
      // An out-of-contract random of exactly 1 still picks a tie.
      expect(pick(1)).toBe('c')
      fc.assert(fc.property(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), r => {
        expect(['a', 'b', 'c']).toContain(pick(r))
      }), { numRuns: 500 })
    })

    it('never counts a busy candidate as a tie even when its score is close', () => {
      // b has no free slot (wait 5 ms) but its total ties with a's (20 ms each).
      const ranked = rank([peer('a', { meanRunMs: 10 }), peer('b', { meanRunMs: 10, running: 2, rttMs: 5 })])
      expect(ranked[1].queueWaitMs).toBeGreaterThan(0)
      expect(ranked[1].score - ranked[0].score).toBeLessThanOrEqual(DEFAULT_PLAN_PARAMS.nearTieMs)
      for (const r of [0, 0.5, 0.99]) {
        const plan = planDispatch(ranked, () => r)
        expect(plan.mode === 'direct' && plan.target.peerId).toBe('a')
      }
    })

    it('lets a remote target wait max(minMaxWaitMs, maxWaitFraction × run time)', () => {
      const slow = planDispatch(rank([peer('a', { meanRunMs: 1000 })]), () => 0)
      expect(slow).toMatchObject({ mode: 'direct', maxWaitMs: 500 })
      const fast = planDispatch(rank([peer('a', { meanRunMs: 10 })]), () => 0)
      expect(fast).toMatchObject({ mode: 'direct', maxWaitMs: 20 })
      const custom = planDispatch(rank([peer('a', { meanRunMs: 1000 })]), () => 0, { ...DEFAULT_PLAN_PARAMS, maxWaitFraction: 0.1, minMaxWaitMs: 5 })
      expect(custom).toMatchObject({ mode: 'direct', maxWaitMs: 100 })
    })
  })

  describe('reserve, when every candidate is busy', () => {
    const seq = (...values: number[]): () => number => { let i = 0; return () => values[i++ % values.length] }

    it('reserves on `probes` candidates drawn at random from those near the best, and always on this node too', () => {
      const ranked = rank([peer('a', busy), peer('b', { ...busy, rttMs: 20 }), peer('c', { ...busy, rttMs: 30 }), peer('d', { ...busy, rttMs: 40 }), self({ running: 2, queueDepth: 20 })])
      // Draws from the shrinking pool [a, b, c, d]: the last (d), then the first (a), then the middle of [b, c] (c).
      const plan = planDispatch(ranked, seq(0.99, 0, 0.5), { ...DEFAULT_PLAN_PARAMS, probes: 3, unprovenProbes: 3, probeDraws: 1 })
      expect(plan.mode).toBe('reserve')
      expect(plan.mode === 'reserve' && plan.targets.map(t => t.peerId)).toEqual(['d', 'a', 'c', 'self'])
    })

    it('takes the nearest of `probeDraws` random draws for each probe', () => {
      const ranked = rank([peer('a', { ...busy, rttMs: 50 }), peer('b', { ...busy, rttMs: 20 }), peer('c', { ...busy, rttMs: 80 }), peer('d', { ...busy, rttMs: 5 })])
      const pool = ['a', 'b', 'c', 'd'] // the pool in rank order (equal loads: by score, i.e. RTT)
        .sort((x, y) => (ranked.find(c => c.peerId === x)?.score ?? 0) - (ranked.find(c => c.peerId === y)?.score ?? 0))
      const at = (id: string, of: string[]): number => (of.indexOf(id) + 0.5) / of.length
      // First probe: draws c then a (nearest: a, 50 ms); second: from the rest, draws c then b (b, 20 ms).
      const rest = pool.filter(id => id !== 'a')
      const plan = planDispatch(ranked, seq(at('c', pool), at('a', pool), at('c', rest), at('b', rest)), { ...DEFAULT_PLAN_PARAMS, probes: 2, unprovenProbes: 2, probeDraws: 2 })
      expect(plan.mode === 'reserve' && plan.targets.map(t => t.peerId)).toEqual(['a', 'b'])
      // One draw: whatever is drawn first.
      const one = planDispatch(ranked, seq(at('c', pool), 0), { ...DEFAULT_PLAN_PARAMS, probes: 2, unprovenProbes: 2, probeDraws: 1 })
      expect(one.mode === 'reserve' && one.targets[0].peerId).toBe('c')
    })

    it('only a measured round trip makes a draw nearer: an estimate from advertised coordinates does not', () => {
      // 'v' claims 1 ms by Vivaldi (coordinates it advertises itself); 'm' measured 40 ms by ping.
      const ranked = rank([peer('m', { ...busy, rttMs: 40 }), peer('v', { ...busy, rttMs: 1, rttSource: 'vivaldi' })])
      const ids = ranked.map(c => c.peerId)
      const at = (id: string): number => (ids.indexOf(id) + 0.5) / ids.length
      for (const draws of [[at('v'), at('m')], [at('m'), at('v')]]) {
        const plan = planDispatch(ranked, seq(...draws, 0), { ...DEFAULT_PLAN_PARAMS, probes: 1, unprovenProbes: 2, probeDraws: 2 })
        expect(plan.mode === 'direct' && plan.target.peerId).toBe('m')
      }
    })

    it('draws only among candidates within `spreadRuns` run times of the best score', () => {
      // Run time 100 ms: with spreadRuns 1 the line is best + 100 ms; 'far' is 400 ms of RTT away.
      const ranked = rank([peer('a', busy), peer('b', busy), peer('far', { ...busy, rttMs: 400 })])
      for (const r of [0, 0.5, 0.99]) {
        const plan = planDispatch(ranked, seq(r), { ...DEFAULT_PLAN_PARAMS, probes: 3, spreadRuns: 1 })
        expect(plan.mode === 'reserve' && plan.targets.map(t => t.peerId).sort()).toEqual(['a', 'b'])
      }
    })

    it('holds exactly one place on this node when it is among the best', () => {
      const ranked = rank([peer('a', busy), peer('b', busy), self({ running: 2 })])
      const plan = planDispatch(ranked, seq(0))
      expect(plan.mode === 'reserve' && plan.targets.map(t => t.peerId)).toEqual(['a', 'b', 'self'])
    })

    it('follows `probes`', () => {
      const ranked = rank([peer('a', busy), peer('b', busy), peer('c', busy), peer('d', busy)])
      const plan = planDispatch(ranked, seq(0), { ...DEFAULT_PLAN_PARAMS, probes: 2 })
      expect(plan.mode === 'reserve' && plan.targets.map(t => t.peerId)).toEqual(['a', 'b'])
    })

    it('places at most `unprovenProbes` of them at peers with no good record here; the rest go to proven peers', () => {
      // Four unproven (reputation 0) and two proven peers, all busy alike; draws always take the first left.
      const ranked = rank([peer('u1', busy), peer('u2', busy), peer('u3', busy), peer('u4', busy), peer('p1', { ...busy, reputation: 0.5 }), peer('p2', { ...busy, reputation: 0.2 })])
      const plan = planDispatch(ranked, seq(0), { ...DEFAULT_PLAN_PARAMS, probes: 8, unprovenProbes: 2 })
      expect(plan.mode === 'reserve' && plan.targets.map(t => t.peerId).sort()).toEqual(['p1', 'p2', 'u1', 'u2'])
      // With no proven peer, the unproven ones are still tried (up to the limit): a new mesh works.
      const fresh = planDispatch(rank([peer('u1', busy), peer('u2', busy), peer('u3', busy)]), seq(0), { ...DEFAULT_PLAN_PARAMS, probes: 8, unprovenProbes: 2 })
      expect(fresh.mode === 'reserve' && fresh.targets.map(t => t.peerId)).toEqual(['u1', 'u2'])
    })

    it('only reserves on eligible candidates, and leaves this node out when it does not serve the kind', () => {
      const ranked = rank([peer('a', busy), peer('x', { circuitOpen: true }), peer('b', { ...busy, rttMs: 40 }), self({ serves: false })])
      const plan = planDispatch(ranked, seq(0))
      expect(plan.mode === 'reserve' && plan.targets.map(t => t.peerId).sort()).toEqual(['a', 'b'])
    })

    it('a single busy candidate gets the task directly, queued as long as needed', () => {
      const plan = planDispatch(rank([peer('a', busy)]), seq(0))
      expect(plan).toMatchObject({ mode: 'direct', maxWaitMs: 0 })
    })

    it('binds late after a BUSY bounce even when the table shows a free slot', () => {
      const ranked = rank([peer('a'), peer('b'), self({ running: 2, queueDepth: 1 })])
      expect(planDispatch(ranked, seq(0)).mode).toBe('direct')
      const plan = planDispatch(ranked, seq(0), DEFAULT_PLAN_PARAMS, { bounced: true })
      expect(plan.mode === 'reserve' && plan.targets.map(t => t.peerId)).toEqual(['a', 'b', 'self'])
    })
  })

  describe('none', () => {
    it('with no candidates at all', () => {
      expect(planDispatch([], never)).toEqual({ mode: 'none', reason: 'no candidates' })
    })

    it('with no eligible candidate, giving a reason', () => {
      const plan = planDispatch(rank([peer('a', { reputationState: 'banned' }), self({ serves: false })]), never)
      expect(plan.mode).toBe('none')
      expect(plan.mode === 'none' && plan.reason).toMatch(/^no eligible candidate \((banned|does not serve this kind)\)$/)
    })
  })
})

describe('rankCandidates with a shortlist', () => {
  const candidate = fc.record({
    local: fc.boolean(),
    queueDepth: fc.integer({ min: 0, max: 12 }),
    running: fc.integer({ min: 0, max: 4 }),
    concurrency: fc.integer({ min: 0, max: 4 }),
    meanRunMs: fc.option(fc.integer({ min: 1, max: 2_000 }), { nil: undefined }),
    rttMs: fc.integer({ min: 0, max: 150 }),
    reputation: fc.integer({ min: -30, max: 5 }),
    state: fc.constantFrom('healthy', 'healthy', 'healthy', 'avoid', 'banned'),
    circuitOpen: fc.boolean(),
    serves: fc.boolean()
  })

  it('plans exactly as over the full ranking, with the same random draws', () => {
    // One scratch for every ranking, as the dispatcher keeps one: nothing of the last one leaks.
    const scratch = new RankScratch()
    fc.assert(fc.property(fc.array(candidate, { maxLength: 40 }), fc.boolean(), fc.array(fc.double({ min: 0, max: 0.999, noNaN: true }), { minLength: 12, maxLength: 12 }), (cs, bounced, draws) => {
      let localSeen = false
      const inputs = cs.map((c, i) => {
        const local = c.local && !localSeen
        localSeen ||= local
        return local
          ? self({ queueDepth: c.queueDepth, running: c.running, concurrency: Math.max(1, c.concurrency), meanRunMs: c.meanRunMs })
          : peer(`p${i}`, { queueDepth: c.queueDepth, running: c.running, concurrency: c.concurrency, meanRunMs: c.meanRunMs, rttMs: c.rttMs, reputation: c.reputation, reputationState: c.state as CandidateInput['reputationState'], circuitOpen: c.circuitOpen, serves: c.serves })
      })
      const stream = (): (() => number) => { let k = 0; return () => draws[k++ % draws.length] }
      const full = planDispatch(rankCandidates(inputs), stream(), DEFAULT_PLAN_PARAMS, { bounced })
      const short = rankCandidates(inputs, undefined, { plan: DEFAULT_PLAN_PARAMS, bounced })
      expect(planDispatch(short, stream(), DEFAULT_PLAN_PARAMS, { bounced })).toEqual(full)
      expect(short.length).toBeLessThanOrEqual(inputs.length)
      // As the dispatcher ranks: from a reader that refills one object, candidates built only when picked.
      const reader: CandidateReader = { length: inputs.length, read: (i, into) => Object.assign(into, blankCandidate(), inputs[i]) }
      expect(planDispatch(rankShortlist(reader, DEFAULT_SCORE_PARAMS, { plan: DEFAULT_PLAN_PARAMS, bounced }), stream(), DEFAULT_PLAN_PARAMS, { bounced })).toEqual(full)
      expect(planDispatch(rankShortlist(reader, DEFAULT_SCORE_PARAMS, { plan: DEFAULT_PLAN_PARAMS, bounced }, scratch), stream(), DEFAULT_PLAN_PARAMS, { bounced })).toEqual(full)
    }), { numRuns: 500 })
  })

  it('keeps only what the plan can pick: a far-off crowd is not sorted', () => {
    const crowd = Array.from({ length: 50 }, (_, i) => peer(`far${i}`, { rttMs: 140, ...busy }))
    const short = rankCandidates([peer('near', { rttMs: 2 }), ...crowd, self(busy)], undefined, { plan: DEFAULT_PLAN_PARAMS, bounced: false })
    expect(short.map(c => c.peerId)).toEqual(['near', 'self'])
  })
})
