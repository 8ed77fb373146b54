import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { HOUR, MINUTE, SECOND } from '../../../../src/util/time.js'
import {
  ReputationLedger, ReputationAction, ReputationSnapshotError, REPUTATION_COMPONENTS,
  AVOID_BELOW, BAN_BELOW, MAX_SCORE, MIN_SCORE, DEFAULT_HALF_LIFE_MS, DEFAULT_BAN_MS
} from '../../../../src/core/reputation/index.js'

/** A clock the test moves by hand. */
function fakeClock (start = 1_700_000_000_000): { now: () => number, advance: (ms: number) => void } {
  let t = start
  return { now: () => t, advance: (ms: number) => { t += ms } }
}

function componentSum (c: Record<string, number>): number {
  return Object.values(c).reduce((a, b) => a + b, 0)
}

describe('ReputationLedger', () => {
  it('starts every peer at 0 and healthy', () => {
    const ledger = new ReputationLedger({ clock: fakeClock() })
    expect(ledger.score('a')).toBe(0)
    expect(ledger.state('a')).toBe('healthy')
    expect(ledger.isBanned('a', Date.now())).toBe(false)
    expect(ledger.bannedUntil('a')).toBeUndefined()
    expect(ledger.size).toBe(0)
  })

  it('decays by half at the half-life, a quarter at two, lazily with no timers', () => {
    const clock = fakeClock()
    const ledger = new ReputationLedger({ clock })
    ledger.apply('a', ReputationAction.InvalidMessage, 4) // -40
    expect(ledger.score('a')).toBe(-40)
    clock.advance(DEFAULT_HALF_LIFE_MS)
    expect(ledger.score('a')).toBeCloseTo(-20, 9)
    clock.advance(DEFAULT_HALF_LIFE_MS)
    expect(ledger.score('a')).toBeCloseTo(-10, 9)
    // Applying after a gap books the delta on top of the decayed value.
    ledger.apply('a', ReputationAction.TaskSucceeded, 5)
    expect(ledger.score('a')).toBeCloseTo(-5, 9)
  })

  it('honours a custom half-life', () => {
    const clock = fakeClock()
    const ledger = new ReputationLedger({ clock, halfLifeMs: 30 * SECOND })
    ledger.apply('a', ReputationAction.TaskSucceeded, 80)
    clock.advance(30 * SECOND)
    expect(ledger.score('a')).toBeCloseTo(40, 9)
  })

  it('clamps into [-100, 100] and books only what fits, so components add up to the score', () => {
    const clock = fakeClock()
    const ledger = new ReputationLedger({ clock })
    ledger.apply('a', ReputationAction.TaskSucceeded, 500)
    expect(ledger.score('a')).toBe(MAX_SCORE)
    expect(ledger.components('a').tasks).toBe(MAX_SCORE)
    ledger.apply('a', ReputationAction.ForgedEntry, 10)
    expect(ledger.score('a')).toBe(MIN_SCORE)
    expect(ledger.components('a')).toMatchObject({ tasks: 100, gossip: -200 })
    expect(componentSum(ledger.components('a'))).toBeCloseTo(ledger.score('a'), 9)
  })

  it('keeps score within bounds and equal to its components for any sequence of actions', () => {
    const actions = Object.values(ReputationAction)
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.constantFrom(...actions), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 30 * MINUTE })), { maxLength: 60 }),
      (steps) => {
        const clock = fakeClock()
        const ledger = new ReputationLedger({ clock })
        for (const [action, count, wait] of steps) {
          clock.advance(wait)
          const update = ledger.apply('p', action, count)
          expect(update.score).toBeGreaterThanOrEqual(MIN_SCORE)
          expect(update.score).toBeLessThanOrEqual(MAX_SCORE)
          expect(componentSum(ledger.components('p'))).toBeCloseTo(ledger.score('p'), 6)
        }
      }))
  })

  it('standing gives score and state at once, as score() and state() give them, bans included', () => {
    const actions = Object.values(ReputationAction)
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.constantFrom(...actions), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 90 * MINUTE })), { maxLength: 40 }),
      (steps) => {
        const clock = fakeClock()
        const ledger = new ReputationLedger({ clock })
        expect(ledger.standing('p')).toEqual({ score: 0, state: 'healthy' })
        for (const [action, count, wait] of steps) {
          ledger.apply('p', action, count)
          clock.advance(wait)
          expect(ledger.standing('p')).toEqual({ score: ledger.score('p'), state: ledger.state('p') })
        }
      }))
  })

  it('shows why: each action lands in its own component', () => {
    const ledger = new ReputationLedger({ clock: fakeClock() })
    ledger.apply('a', ReputationAction.TaskTimedOut)
    ledger.apply('a', ReputationAction.BrokenPromise)
    ledger.apply('a', ReputationAction.SlowerThanPromised, 3)
    ledger.apply('a', ReputationAction.InvalidMessage)
    expect(ledger.describe('a')).toEqual({
      peer: 'a',
      score: -23,
      state: 'avoid',
      components: { tasks: -5, gossip: -10, promises: -5, latency: -3, operator: 0 }
    })
  })

  it('bans a forger after a few forged entries, even one with credit, and tells the caller', () => {
    const clock = fakeClock()
    const ledger = new ReputationLedger({ clock })
    ledger.apply('forger', ReputationAction.TaskSucceeded, 1000) // +100: built credit first
    const states: string[] = []
    let newlyBanned = 0
    for (let i = 0; i < 4; i++) {
      clock.advance(5 * SECOND)
      const u = ledger.apply('forger', ReputationAction.ForgedEntry)
      states.push(u.state)
      if (u.state === 'banned' && u.previousState !== 'banned') newlyBanned++
    }
    expect(states).toEqual(['healthy', 'healthy', 'avoid', 'banned'])
    expect(newlyBanned).toBe(1)
    expect(ledger.isBanned('forger', clock.now())).toBe(true)
    expect(ledger.bannedUntil('forger')).toBe(clock.now() + DEFAULT_BAN_MS)

    // From a neutral start two forgeries are enough.
    ledger.apply('fresh', ReputationAction.ForgedEntry)
    expect(ledger.state('fresh')).toBe('avoid')
    ledger.apply('fresh', ReputationAction.ForgedEntry)
    expect(ledger.state('fresh')).toBe('banned')
  })

  it('keeps honest peers on a lossy link healthy', () => {
    const clock = fakeClock()
    const ledger = new ReputationLedger({ clock })
    // An hour of 1 task/s with 5% failures, 2% timeouts and an occasional refused advert.
    for (let s = 0; s < HOUR / SECOND; s++) {
      clock.advance(SECOND)
      const r = s % 100
      if (r < 5) ledger.apply('honest', ReputationAction.TaskFailed)
      else if (r < 7) ledger.apply('honest', ReputationAction.TaskTimedOut)
      else if (r === 50) ledger.apply('honest', ReputationAction.BrokenPromise)
      else ledger.apply('honest', ReputationAction.TaskSucceeded)
      expect(ledger.state('honest')).toBe('healthy')
    }
    expect(ledger.score('honest')).toBeGreaterThan(50)
    // And an idle honest peer that had a burst of bad luck (a dead link: 3 timeouts) stays healthy.
    ledger.apply('unlucky', ReputationAction.TaskTimedOut, 3)
    expect(ledger.state('unlucky')).toBe('healthy')
  })

  it('avoids below AVOID_BELOW and recovers as the score decays', () => {
    const clock = fakeClock()
    const ledger = new ReputationLedger({ clock })
    ledger.apply('a', ReputationAction.ForgedEntry) // -40
    expect(ledger.score('a')).toBeLessThan(AVOID_BELOW)
    expect(ledger.state('a')).toBe('avoid')
    clock.advance(DEFAULT_HALF_LIFE_MS + SECOND) // just under -20
    expect(ledger.state('a')).toBe('healthy')
  })

  it('holds a ban for banMs although the score decays, then lets the peer back', () => {
    const clock = fakeClock()
    const ledger = new ReputationLedger({ clock, banMs: 2 * HOUR })
    ledger.apply('a', ReputationAction.WrongResult, 2) // -80
    const until = ledger.bannedUntil('a')
    expect(until).toBe(clock.now() + 2 * HOUR)
    clock.advance(30 * MINUTE)
    expect(ledger.score('a')).toBeGreaterThan(BAN_BELOW)
    expect(ledger.state('a')).toBe('banned')
    expect(ledger.isBanned('a', clock.now())).toBe(true)
    expect(ledger.isBanned('a', until! - 1)).toBe(true)
    expect(ledger.isBanned('a', until!)).toBe(false)
    clock.advance(90 * MINUTE)
    expect(ledger.state('a')).toBe('healthy')
    expect(ledger.bannedUntil('a')).toBeUndefined()
  })

  it('never lets a ban end while the score is still below the ban line, however short banMs is', () => {
    const clock = fakeClock()
    const ledger = new ReputationLedger({ clock, banMs: MINUTE })
    ledger.apply('a', ReputationAction.Banned) // -100: ~7.4 minutes to decay back over -60
    for (let t = 0; t < 30 * MINUTE; t += 10 * SECOND) {
      const now = clock.now()
      if (ledger.score('a', now) < BAN_BELOW) expect(ledger.isBanned('a', now)).toBe(true)
      expect(ledger.state('a', now) === 'banned').toBe(ledger.isBanned('a', now))
      clock.advance(10 * SECOND)
    }
    expect(ledger.isBanned('a', clock.now())).toBe(false)
  })

  it('extends a ban on further offences and bans outright on Banned', () => {
    const clock = fakeClock()
    const ledger = new ReputationLedger({ clock })
    ledger.apply('a', ReputationAction.Banned)
    expect(ledger.score('a')).toBe(MIN_SCORE)
    expect(ledger.components('a').operator).toBe(MIN_SCORE)
    const first = ledger.bannedUntil('a')!
    clock.advance(10 * MINUTE)
    ledger.apply('a', ReputationAction.InvalidMessage, 5)
    expect(ledger.bannedUntil('a')).toBe(first + 10 * MINUTE)
  })

  it('forget is an operator unban', () => {
    const ledger = new ReputationLedger({ clock: fakeClock() })
    ledger.apply('a', ReputationAction.Banned)
    expect(ledger.forget('a')).toBe(true)
    expect(ledger.state('a')).toBe('healthy')
  })

  it('rejects a nonsense count', () => {
    const ledger = new ReputationLedger({ clock: fakeClock() })
    expect(() => ledger.apply('a', ReputationAction.TaskFailed, -1)).toThrow(RangeError)
    expect(() => ledger.apply('a', ReputationAction.TaskFailed, Number.NaN)).toThrow(RangeError)
    expect(() => ledger.apply('a', 'nope' as ReputationAction)).toThrow(RangeError)
  })

  it('lists peers worst first', () => {
    const ledger = new ReputationLedger({ clock: fakeClock() })
    ledger.apply('good', ReputationAction.TaskSucceeded, 10)
    ledger.apply('bad', ReputationAction.ForgedEntry)
    ledger.apply('meh', ReputationAction.TaskFailed)
    expect(ledger.list().map(p => p.peer)).toEqual(['bad', 'meh', 'good'])
  })

  describe('persistence', () => {
    it('round-trips through JSON; bans survive the restore and still expire on time', () => {
      const clock = fakeClock()
      const ledger = new ReputationLedger({ clock })
      ledger.apply('forger', ReputationAction.ForgedEntry, 3)
      ledger.apply('good', ReputationAction.TaskSucceeded, 30)
      ledger.apply('meh', ReputationAction.TaskTimedOut, 2)
      const until = ledger.bannedUntil('forger')!
      const json = JSON.parse(JSON.stringify(ledger)) as unknown

      clock.advance(20 * MINUTE) // the node was down for 20 minutes
      const restored = ReputationLedger.restore(json, { clock })
      expect(restored.isBanned('forger', clock.now())).toBe(true)
      expect(restored.bannedUntil('forger')).toBe(until)
      expect(restored.state('forger')).toBe('banned')
      // Downtime counted as decay.
      expect(restored.score('good')).toBeCloseTo(7.5, 9)
      expect(restored.components('meh').tasks).toBeCloseTo(-2.5, 9)

      clock.advance(DEFAULT_BAN_MS)
      expect(restored.isBanned('forger', clock.now())).toBe(false)
      expect(restored.state('forger')).toBe('healthy')
    })

    it('does not persist records that decayed to nothing, but keeps bans whatever the score', () => {
      const clock = fakeClock()
      const ledger = new ReputationLedger({ clock, banMs: 10 * HOUR })
      ledger.apply('old', ReputationAction.TaskFailed)
      ledger.apply('banned', ReputationAction.Banned)
      clock.advance(3 * HOUR)
      const snap = ledger.snapshot()
      expect(snap.peers.map(p => p.peer)).toEqual(['banned'])
      expect(ledger.prune()).toBe(1)
      expect(ledger.size).toBe(1)
    })

    it('skips malformed records and refuses what is not a snapshot', () => {
      const clock = fakeClock()
      const restored = ReputationLedger.restore({
        version: 1,
        savedAt: clock.now(),
        peers: [
          { peer: 'ok', components: { gossip: -70 }, updatedAt: clock.now(), bannedUntil: clock.now() + HOUR },
          { peer: 'nan', components: { gossip: 'x' }, updatedAt: clock.now() },
          { peer: 'huge', components: { tasks: 1e300, gossip: 1e300 }, updatedAt: clock.now() },
          { peer: '', components: {}, updatedAt: 0 },
          null,
          { peer: 'inf', components: {}, updatedAt: Infinity }
        ]
      }, { clock })
      expect(restored.size).toBe(2)
      expect(restored.isBanned('ok', clock.now())).toBe(true)
      expect(restored.score('huge')).toBe(MAX_SCORE)
      expect(() => ReputationLedger.restore({ version: 2, peers: [] }, { clock })).toThrow(ReputationSnapshotError)
      expect(() => ReputationLedger.restore('garbage', { clock })).toThrow(ReputationSnapshotError)
    })

    it('never throws on arbitrary peer records', () => {
      const clock = fakeClock()
      fc.assert(fc.property(fc.array(fc.anything()), (peers) => {
        const ledger = ReputationLedger.restore({ version: 1, savedAt: 0, peers }, { clock })
        for (const p of ledger.list()) {
          expect(p.score).toBeGreaterThanOrEqual(MIN_SCORE)
          expect(p.score).toBeLessThanOrEqual(MAX_SCORE)
        }
      }))
    })
  })

  describe('bounded store', () => {
    it('evicts near-zero, old scores first and keeps the worst offenders', () => {
      const clock = fakeClock()
      const ledger = new ReputationLedger({ clock, maxPeers: 10 })
      ledger.apply('banned', ReputationAction.Banned)
      for (let i = 0; i < 4; i++) ledger.apply(`offender-${i}`, ReputationAction.InvalidMessage, 3 + i)
      ledger.apply('good', ReputationAction.TaskSucceeded, 30)
      clock.advance(MINUTE)
      for (let i = 0; i < 4; i++) ledger.apply(`noise-${i}`, ReputationAction.SlowerThanPromised)
      expect(ledger.size).toBe(10)

      // A stream of new, barely-scored peers: each one displaces the least informative record.
      for (let i = 0; i < 50; i++) {
        clock.advance(SECOND)
        ledger.apply(`new-${i}`, ReputationAction.SlowerThanPromised)
        expect(ledger.size).toBe(10)
      }
      const kept = new Set(ledger.list().map(p => p.peer))
      expect(kept.has('banned')).toBe(true)
      for (let i = 0; i < 4; i++) expect(kept.has(`offender-${i}`)).toBe(true)
      expect(kept.has('good')).toBe(true)
      for (let i = 0; i < 4; i++) expect(kept.has(`noise-${i}`)).toBe(false)
    })

    it('prefers keeping an offender over a good peer of the same magnitude', () => {
      const clock = fakeClock()
      const ledger = new ReputationLedger({ clock, maxPeers: 2 })
      ledger.apply('bad', ReputationAction.InvalidMessage, 3) // -30
      ledger.apply('good', ReputationAction.TaskSucceeded, 30) // +30
      ledger.apply('next', ReputationAction.TaskFailed)
      expect(ledger.list().map(p => p.peer).sort()).toEqual(['bad', 'next'])
    })

    it('evicts banned peers last, soonest-expiring first', () => {
      const clock = fakeClock()
      const ledger = new ReputationLedger({ clock, maxPeers: 2 })
      ledger.apply('b1', ReputationAction.Banned)
      clock.advance(MINUTE)
      ledger.apply('b2', ReputationAction.Banned)
      ledger.apply('b3', ReputationAction.Banned)
      expect(ledger.list().map(p => p.peer).sort()).toEqual(['b2', 'b3'])
    })
  })

  it('lists the same components everywhere', () => {
    const ledger = new ReputationLedger({ clock: fakeClock() })
    expect(Object.keys(ledger.components('x')).sort()).toEqual([...REPUTATION_COMPONENTS].sort())
  })
})
