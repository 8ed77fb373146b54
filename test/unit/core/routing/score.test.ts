import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { rankCandidates } from '../../../../src/core/routing/ranking.js'
import { DEFAULT_SCORE_PARAMS, queueWaitMs, scoreCandidate } from '../../../../src/core/routing/score.js'
import type { CandidateInput } from '../../../../src/core/routing/score.js'

/** An idle, healthy, measured remote peer: run 100 ms, RTT 10 ms, 4 slots, nothing queued. */
function peer (peerId: string, over: Partial<CandidateInput> = {}): CandidateInput {
  return {
    peerId,
    local: false,
    serves: true,
    queueDepth: 0,
    running: 0,
    concurrency: 4,
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

describe('scoreCandidate', () => {
  // expected = queue wait + rtt + run + penalty; run 100 ms and RTT 10 ms unless the row says otherwise.
  const eligibleRows: Array<{ name: string, input: Partial<CandidateInput>, wait: number, rtt: number, penalty: number, score: number, load: number }> = [
    { name: 'idle', input: {}, wait: 0, rtt: 10, penalty: 0, score: 110, load: 0 },
    { name: 'one slot left', input: { running: 3 }, wait: 0, rtt: 10, penalty: 0, score: 110, load: 0 },
    { name: 'all slots busy, empty queue', input: { running: 4 }, wait: 25, rtt: 10, penalty: 0, score: 135, load: 0 },
    { name: 'loaded (4 running, 4 queued)', input: { running: 4, queueDepth: 4 }, wait: 125, rtt: 10, penalty: 0, score: 235, load: 4 },
    { name: 'looks idle but we sent it 6 since its ad', input: { sentSinceAd: 6 }, wait: 75, rtt: 10, penalty: 0, score: 185, load: 2 },
    { name: 'far', input: { rttMs: 200 }, wait: 0, rtt: 200, penalty: 0, score: 300, load: 0 },
    { name: 'untrusted (reputation -20)', input: { reputation: -20 }, wait: 0, rtt: 10, penalty: 100, score: 210, load: 0 },
    { name: 'good reputation earns no bonus', input: { reputation: 50 }, wait: 0, rtt: 10, penalty: 0, score: 110, load: 0 },
    { name: 'slow kind there', input: { meanRunMs: 1000 }, wait: 0, rtt: 10, penalty: 0, score: 1010, load: 0 }
  ]

  it.each(eligibleRows)('$name: wait $wait + rtt $rtt + penalty $penalty → $score', ({ input, wait, rtt, penalty, score, load }) => {
    const s = scoreCandidate(peer('p', input))
    expect(s).toMatchObject({ eligible: true, reason: 'eligible', queueWaitMs: wait, rttMs: rtt, reputationPenaltyMs: penalty, score, load })
  })

  const ineligibleRows: Array<{ name: string, input: Partial<CandidateInput>, reason: RegExp }> = [
    { name: 'not serving the kind', input: { serves: false }, reason: /does not serve/ },
    { name: 'banned', input: { reputationState: 'banned', reputation: -90 }, reason: /banned/ },
    { name: 'avoid', input: { reputationState: 'avoid', reputation: -60 }, reason: /reputation too low/ },
    { name: 'circuit open', input: { circuitOpen: true }, reason: /circuit open/ },
    { name: 'no slots advertised', input: { concurrency: 0 }, reason: /no slots/ },
    { name: 'queue full counting our sends', input: { queueDepth: 98, sentSinceAd: 2, running: 4 }, reason: /queue full/ }
  ]

  it.each(ineligibleRows)('$name → ineligible with a reason, score Infinity', ({ input, reason }) => {
    const s = scoreCandidate(peer('p', input))
    expect(s.eligible).toBe(false)
    expect(s.reason).toMatch(reason)
    expect(s.score).toBe(Infinity)
  })

  it('a queue one short of its limit is still eligible; queueLimit 0 means no advertised limit', () => {
    expect(scoreCandidate(peer('p', { queueDepth: 98, sentSinceAd: 1, running: 4 })).eligible).toBe(true)
    expect(scoreCandidate(peer('p', { queueDepth: 500, running: 4, queueLimit: 0 })).eligible).toBe(true)
  })

  it('the local candidate has RTT 0 whatever it is given, and is not refused for a long queue', () => {
    const s = scoreCandidate(peer('me', { local: true, rttMs: 50, rttSource: 'ping', queueDepth: 200, running: 4, queueLimit: 100 }))
    expect(s).toMatchObject({ eligible: true, reason: 'this node', rttMs: 0, rttSource: 'local' })
    // 200 ahead, none free: (200 + 1) / 4 * 100
    expect(s.queueWaitMs).toBe(5025)
    expect(s.score).toBe(5025 + 100)
  })

  it('unknown RTT and run time fall back to the defaults, and say so', () => {
    const s = scoreCandidate(peer('p', { rttMs: undefined, rttSource: 'vivaldi', meanRunMs: undefined }))
    expect(s.rttSource).toBe('default')
    expect(s.rttMs).toBe(DEFAULT_SCORE_PARAMS.defaultRttMs)
    expect(s.runMs).toBe(DEFAULT_SCORE_PARAMS.defaultRunMs)
    expect(s.score).toBe(DEFAULT_SCORE_PARAMS.defaultRttMs + DEFAULT_SCORE_PARAMS.defaultRunMs)
  })

  it('uses the given parameters', () => {
    const s = scoreCandidate(peer('p', { reputation: -10, rttMs: undefined, meanRunMs: undefined }), { ...DEFAULT_SCORE_PARAMS, defaultRunMs: 7, defaultRttMs: 3, penaltyMsPerPoint: 2 })
    expect(s.score).toBe(7 + 3 + 20)
  })
})

describe('queueWaitMs', () => {
  const rows: Array<[string, { queueDepth: number, running: number, concurrency: number, sentSinceAd: number }, number]> = [
    ['idle', { queueDepth: 0, running: 0, concurrency: 4, sentSinceAd: 0 }, 0],
    ['one free slot', { queueDepth: 0, running: 3, concurrency: 4, sentSinceAd: 0 }, 0],
    ['no free slot', { queueDepth: 0, running: 4, concurrency: 4, sentSinceAd: 0 }, 25],
    ['two queued', { queueDepth: 2, running: 4, concurrency: 4, sentSinceAd: 0 }, 75],
    ['our sends fill the free slots first', { queueDepth: 0, running: 2, concurrency: 4, sentSinceAd: 1 }, 0],
    ['our sends overflow the free slots', { queueDepth: 0, running: 2, concurrency: 4, sentSinceAd: 3 }, 50],
    ['our finished tasks empty the queue', { queueDepth: 2, running: 4, concurrency: 4, sentSinceAd: -2 }, 25],
    ['our finished tasks beyond the queue free slots', { queueDepth: 1, running: 4, concurrency: 4, sentSinceAd: -3 }, 0],
    ['a correction larger than everything clamps at idle', { queueDepth: 0, running: 4, concurrency: 4, sentSinceAd: -10 }, 0],
    ['zero concurrency counts as one slot (no division by zero)', { queueDepth: 1, running: 1, concurrency: 0, sentSinceAd: 0 }, 200]
  ]

  it.each(rows)('%s', (_name, c, expected) => {
    expect(queueWaitMs(c, 100)).toBe(expected)
  })

  it('takes the peer\'s own estimate of its first free slot when every slot is taken, and only then', () => {
    // 4 slots held by runs that have lasted long (heavy tails): the first frees in ~3 s, not 25 ms.
    expect(queueWaitMs({ queueDepth: 0, running: 4, concurrency: 4, sentSinceAd: 0, firstFreeMs: 3_000 }, 100)).toBe(3_000)
    // then the queue drains a run per slot as before
    expect(queueWaitMs({ queueDepth: 2, running: 4, concurrency: 4, sentSinceAd: 0, firstFreeMs: 3_000 }, 100)).toBe(3_050)
    // a free slot (here: one of ours finished since the advert) makes it moot
    expect(queueWaitMs({ queueDepth: 0, running: 4, concurrency: 4, sentSinceAd: -1, firstFreeMs: 3_000 }, 100)).toBe(0)
    // our sends fill the free slots: the runs we started are fresh, so the mean rule holds
    expect(queueWaitMs({ queueDepth: 0, running: 2, concurrency: 4, sentSinceAd: 3, firstFreeMs: 3_000 }, 100)).toBe(50)
    // 0: no estimate
    expect(queueWaitMs({ queueDepth: 0, running: 4, concurrency: 4, sentSinceAd: 0, firstFreeMs: 0 }, 100)).toBe(25)
  })

  it('never negative, never lower with more work ahead, never higher with more of our tasks done', () => {
    const load = fc.record({
      queueDepth: fc.integer({ min: 0, max: 1000 }),
      running: fc.integer({ min: 0, max: 64 }),
      concurrency: fc.integer({ min: 1, max: 64 }),
      sentSinceAd: fc.integer({ min: -100, max: 100 }),
      firstFreeMs: fc.integer({ min: 0, max: 100_000 })
    })
    fc.assert(fc.property(load, fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 10_000 }), (c, more, runMs) => {
      const w = queueWaitMs(c, runMs)
      expect(w).toBeGreaterThanOrEqual(0)
      expect(Number.isFinite(w)).toBe(true)
      expect(queueWaitMs({ ...c, queueDepth: c.queueDepth + more }, runMs)).toBeGreaterThanOrEqual(w)
      expect(queueWaitMs({ ...c, sentSinceAd: c.sentSinceAd - more }, runMs)).toBeLessThanOrEqual(w)
    }), { numRuns: 2_000 })
  })
})

describe('rankCandidates', () => {
  it('orders by expected completion: near idle before loaded before far; ineligible last with reasons', () => {
    const ranked = rankCandidates([
      peer('far', { rttMs: 300 }),
      peer('banned', { reputationState: 'banned' }),
      peer('loaded', { running: 4, queueDepth: 4 }),
      peer('idle'),
      peer('untrusted', { reputation: -20 }),
      peer('closed-kind', { serves: false })
    ])
    expect(ranked.map(r => r.peerId)).toEqual(['idle', 'untrusted', 'loaded', 'far', 'banned', 'closed-kind'])
    expect(ranked.slice(-2).map(r => r.reason)).toEqual(['banned', 'does not serve this kind'])
  })

  it('breaks ties local first, then by peer id, whatever the input order', () => {
    const tied = [peer('c'), peer('a'), peer('me', { local: true, rttMs: 0 }), peer('b'), peer('x', { serves: false }), peer('w', { circuitOpen: true })]
    // Make the local candidate tie with the remotes: same total (RTT 0 but 10 ms slower runs).
    tied[2].meanRunMs = 110
    const expected = ['me', 'a', 'b', 'c', 'w', 'x']
    fc.assert(fc.property(fc.shuffledSubarray(tied, { minLength: tied.length, maxLength: tied.length }), (input) => {
      expect(rankCandidates(input).map(r => r.peerId)).toEqual(expected)
    }), { numRuns: 200 })
  })

  it('is a pure function of its input', () => {
    const input = [peer('a', { running: 4 }), peer('b', { rttMs: 40 }), peer('c', { reputation: -5 })]
    const copy = structuredClone(input)
    expect(rankCandidates(input)).toEqual(rankCandidates(copy))
    expect(input).toEqual(copy)
  })
})
