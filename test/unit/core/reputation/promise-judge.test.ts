import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { MINUTE, SECOND } from '../../../../src/util/time.js'
import {
  ACTION_EFFECTS, BAN_BELOW, DEFAULT_PROMISE_JUDGE_PARAMS, PromiseJudge, ReputationAction, ReputationLedger, contradicts
} from '../../../../src/core/reputation/index.js'
import type { AdvertView, RefusalReason } from '../../../../src/core/reputation/index.js'
import { manualClock } from '../../../helpers/unit-tasks.js'

/** A peer's advert as held now: 4 slots, `free` of them free, received `ageMs` ago. */
function advert (clock: { now: () => number }, free: number, ageMs = 100, over: Partial<AdvertView> = {}): AdvertView {
  return { receivedAtMs: clock.now() - ageMs, concurrency: 4, running: 4 - free, queueDepth: 0, sentSinceAd: 0, servesKind: true, ...over }
}

describe('PromiseJudge: when a refusal is a broken promise', () => {
  it('never holds a truthful refusal against the peer: its advert showed no free slot', () => {
    const clock = manualClock()
    const judge = new PromiseJudge(clock)
    for (let i = 0; i < 1_000; i++) {
      clock.advance(10)
      expect(judge.refused('p', i % 2 === 0 ? 'busy' : 'full', advert(clock, 0))).toBe('truthful')
    }
    expect(judge.pending('p')).toBe(0)
  })

  it('never holds a refusal against a stale advert, a missing one, or a shutdown/expiry', () => {
    const clock = manualClock()
    const judge = new PromiseJudge(clock)
    for (let i = 0; i < 100; i++) {
      expect(judge.refused('p', 'full', advert(clock, 4, DEFAULT_PROMISE_JUDGE_PARAMS.freshMs + 1))).toBe('truthful')
      expect(judge.refused('p', 'full', undefined)).toBe('truthful')
      expect(judge.refused('p', 'other', advert(clock, 4))).toBe('truthful')
    }
  })

  it('does not blame the peer for the slots this node itself filled since the advert', () => {
    const clock = manualClock()
    const judge = new PromiseJudge(clock)
    // Two free slots advertised, two of our tasks sent since: the refusal is our stale view.
    for (let i = 0; i < 20; i++) expect(judge.refused('p', 'busy', advert(clock, 2, 100, { sentSinceAd: 2 }))).toBe('truthful')
  })

  it('judges a broken promise only on the fifth contradiction of a fresh advert within a minute', () => {
    const clock = manualClock()
    const judge = new PromiseJudge(clock)
    const verdicts = Array.from({ length: 5 }, () => { clock.advance(5 * SECOND); return judge.refused('liar', 'full', advert(clock, 3)) })
    expect(verdicts).toEqual(['contradiction', 'contradiction', 'contradiction', 'contradiction', 'broken-promise'])
    // The count starts over: another broken promise takes five more.
    expect(judge.pending('liar')).toBe(0)
    expect(judge.refused('liar', 'full', advert(clock, 3))).toBe('contradiction')
  })

  it('forgets contradictions older than the window', () => {
    const clock = manualClock()
    const judge = new PromiseJudge(clock)
    for (let i = 0; i < 20; i++) {
      clock.advance(16 * SECOND) // four per minute at most: never five in one window
      expect(judge.refused('slowliar', 'busy', advert(clock, 1))).toBe('contradiction')
    }
    expect(judge.pending('slowliar')).toBe(4)
    clock.advance(1 * MINUTE + 1)
    expect(judge.pending('slowliar')).toBe(0)
  })

  it('counts a KIND_NOT_SERVED refusal as a contradiction only when the fresh advert listed the kind', () => {
    const clock = manualClock()
    expect(contradicts('not-served', advert(clock, 0, 100, { servesKind: true }), clock.now(), SECOND)).toBe(true)
    expect(contradicts('not-served', advert(clock, 4, 100, { servesKind: false }), clock.now(), SECOND)).toBe(false)
  })

  it('counts one task once per peer: a task bouncing off the same peer again and again is one contradiction', () => {
    const clock = manualClock()
    const judge = new PromiseJudge(clock)
    // One task re-queued and sent to the same peer every 100 ms, its advert fresh each time.
    for (let i = 0; i < 20; i++) {
      clock.advance(100)
      expect(judge.refused('p', 'busy', advert(clock, 2), 'task-1')).not.toBe('broken-promise')
    }
    expect(judge.pending('p')).toBe(1)
    // The same task id from the point of view of another peer is that peer's own contradiction.
    expect(judge.refused('q', 'busy', advert(clock, 2), 'task-1')).toBe('contradiction')
    expect(judge.pending('q')).toBe(1)
    // Five different tasks within the window still make a broken promise.
    const verdicts = ['t2', 't3', 't4', 't5'].map(id => { clock.advance(100); return judge.refused('p', 'busy', advert(clock, 2), id) })
    expect(verdicts).toEqual(['contradiction', 'contradiction', 'contradiction', 'broken-promise'])
  })

  it('keeps its memory bounded', () => {
    const clock = manualClock()
    const judge = new PromiseJudge(clock, { maxPeers: 10 })
    for (let i = 0; i < 100; i++) judge.refused(`p${i}`, 'full', advert(clock, 4))
    expect(Array.from({ length: 100 }, (_, i) => judge.pending(`p${i}`)).filter(n => n > 0)).toHaveLength(10)
  })
})

describe('load alone never bans a peer', () => {
  it('BrokenPromise has a floor above the ban line', () => {
    const effect = ACTION_EFFECTS[ReputationAction.BrokenPromise]
    expect(effect.floor).toBeDefined()
    expect(effect.floor as number).toBeGreaterThan(BAN_BELOW)
  })

  it('a peer refusing everything, contradicting its adverts all day, is avoided at worst, never banned', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.constantFrom<RefusalReason>('busy', 'full', 'not-served'), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 2 * SECOND })), { minLength: 1, maxLength: 400 }),
      (refusals) => {
        const clock = manualClock()
        const judge = new PromiseJudge(clock)
        const ledger = new ReputationLedger({ clock })
        for (const [reason, free, gap] of refusals) {
          clock.advance(gap)
          if (judge.refused('p', reason, advert(clock, free, gap % 1_500)) === 'broken-promise') ledger.apply('p', ReputationAction.BrokenPromise)
          expect(ledger.isBanned('p')).toBe(false)
          expect(ledger.score('p')).toBeGreaterThanOrEqual(ACTION_EFFECTS[ReputationAction.BrokenPromise].floor as number)
        }
      }))
  })

  it('timeouts alone never ban a peer either, ignored tasks neither (a slow or overloaded peer is avoided at worst)', () => {
    for (const action of [ReputationAction.TaskTimedOut, ReputationAction.TaskIgnored]) {
      const effect = ACTION_EFFECTS[action]
      expect(effect.floor).toBeDefined()
      expect(effect.floor as number).toBeGreaterThan(BAN_BELOW)
      const clock = manualClock()
      const ledger = new ReputationLedger({ clock })
      // A burst: 1,000 tasks in a minute time out at one peer (a queue far longer than the budgets).
      for (let i = 0; i < 1_000; i++) {
        clock.advance(60)
        ledger.apply('slow', action)
        expect(ledger.isBanned('slow')).toBe(false)
      }
      expect(ledger.state('slow')).toBe('avoid')
      // Proof of malice still bans, whatever the timeouts did.
      ledger.apply('slow', ReputationAction.WrongResult)
      expect(ledger.isBanned('slow')).toBe(true)
    }
  })

  it('a peer that sat on three tasks while up is avoided; a dead link\'s three timeouts are not', () => {
    const ledger = new ReputationLedger({ clock: manualClock() })
    ledger.apply('hole', ReputationAction.TaskIgnored, 3)
    ledger.apply('cut', ReputationAction.TaskTimedOut, 3)
    expect([ledger.state('hole'), ledger.state('cut')]).toEqual(['avoid', 'healthy'])
  })

  it('a persistent liar still ends up avoided (excluded from routing)', () => {
    const clock = manualClock()
    const judge = new PromiseJudge(clock)
    const ledger = new ReputationLedger({ clock })
    for (let i = 0; i < 200; i++) {
      clock.advance(200)
      if (judge.refused('liar', 'full', advert(clock, 4)) === 'broken-promise') ledger.apply('liar', ReputationAction.BrokenPromise)
    }
    expect(ledger.state('liar')).toBe('avoid')
    expect(ledger.score('liar')).toBeCloseTo(-30, 0)
  })
})
