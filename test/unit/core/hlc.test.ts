import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  ClockDriftError, DEFAULT_MAX_DRIFT_MS, HybridLogicalClock, InvalidTimestampError, MAX_COUNTER, MAX_WALL_MS,
  compareTimestamps, isValidTimestamp, timestampFromBigInt, timestampToBigInt
} from '../../../src/core/hlc.js'
import { MINUTE, SECOND } from '../../../src/util/time.js'
import type { Timestamp } from '../../../src/core/hlc.js'

/** A clock the test moves by hand. */
function manualClock (start = 1_700_000_000_000): { now: () => number, set: (ms: number) => void } {
  let t = start
  return { now: () => t, set: (ms: number) => { t = ms } }
}

const T0 = 1_700_000_000_000
const arbTimestamp = fc.record({ wallMs: fc.integer({ min: 0, max: MAX_WALL_MS }), counter: fc.integer({ min: 0, max: MAX_COUNTER }) })

describe('HybridLogicalClock', () => {
  it('follows the physical clock when it moves forward', () => {
    const clock = manualClock(T0)
    const hlc = new HybridLogicalClock(clock)
    expect(hlc.now()).toEqual({ wallMs: T0, counter: 0 })
    clock.set(T0 + 5)
    expect(hlc.now()).toEqual({ wallMs: T0 + 5, counter: 0 })
  })

  it('counts events within one millisecond and after the clock steps back', () => {
    const clock = manualClock(T0)
    const hlc = new HybridLogicalClock(clock)
    hlc.now()
    expect(hlc.now()).toEqual({ wallMs: T0, counter: 1 })
    clock.set(T0 - 10 * SECOND)
    expect(hlc.now()).toEqual({ wallMs: T0, counter: 2 })
  })

  it('carries a counter overflow into wallMs instead of wrapping', () => {
    const clock = manualClock(T0)
    const hlc = new HybridLogicalClock(clock)
    let last = hlc.now()
    for (let i = 0; i < MAX_COUNTER; i++) last = hlc.now()
    expect(last).toEqual({ wallMs: T0, counter: MAX_COUNTER })
    expect(hlc.now()).toEqual({ wallMs: T0 + 1, counter: 0 })
    // A remote timestamp at the top of the counter range carries too.
    const other = new HybridLogicalClock(manualClock(T0))
    expect(other.receive({ wallMs: T0, counter: MAX_COUNTER })).toEqual({ wallMs: T0 + 1, counter: 0 })
  })

  it('jumps ahead to a remote timestamp within the drift bound', () => {
    const hlc = new HybridLogicalClock(manualClock(T0))
    expect(hlc.receive({ wallMs: T0 + 30 * SECOND, counter: 7 })).toEqual({ wallMs: T0 + 30 * SECOND, counter: 8 })
    expect(hlc.now()).toEqual({ wallMs: T0 + 30 * SECOND, counter: 9 })
  })

  it('merges counters when local, remote and physical share a millisecond', () => {
    const hlc = new HybridLogicalClock(manualClock(T0))
    hlc.now()
    hlc.now() // (T0, 1)
    expect(hlc.receive({ wallMs: T0, counter: 5 })).toEqual({ wallMs: T0, counter: 6 })
    expect(hlc.receive({ wallMs: T0, counter: 2 })).toEqual({ wallMs: T0, counter: 7 })
    expect(hlc.receive({ wallMs: T0 - 1, counter: 100 })).toEqual({ wallMs: T0, counter: 8 })
  })

  it('refuses a remote timestamp too far ahead and stays unchanged', () => {
    const hlc = new HybridLogicalClock(manualClock(T0))
    const before = hlc.now()
    const remote = { wallMs: T0 + DEFAULT_MAX_DRIFT_MS + 1, counter: 0 }
    expect(() => hlc.receive(remote)).toThrow(ClockDriftError)
    expect(hlc.peek()).toEqual(before)
    expect(hlc.receive({ wallMs: T0 + DEFAULT_MAX_DRIFT_MS, counter: 0 }).wallMs).toBe(T0 + DEFAULT_MAX_DRIFT_MS)
    const strict = new HybridLogicalClock(manualClock(T0), { maxDriftMs: 0 })
    expect(() => strict.receive({ wallMs: T0 + 1, counter: 0 })).toThrow(/ahead of the local clock/)
  })

  it('refuses malformed remote timestamps and a broken physical clock', () => {
    const hlc = new HybridLogicalClock(manualClock(T0))
    for (const bad of [{ wallMs: -1, counter: 0 }, { wallMs: 1.5, counter: 0 }, { wallMs: T0, counter: MAX_COUNTER + 1 }, { wallMs: Number.NaN, counter: 0 }]) {
      expect(() => hlc.receive(bad)).toThrow(InvalidTimestampError)
    }
    expect(() => new HybridLogicalClock({ now: () => Number.NaN }).now()).toThrow(InvalidTimestampError)
    expect(() => new HybridLogicalClock(manualClock(), { maxDriftMs: -1 })).toThrow(RangeError)
  })

  it('resumes after a restart above the last timestamp issued, even if the clock was set back', () => {
    const hlc = new HybridLogicalClock(manualClock(T0 - MINUTE), { last: { wallMs: T0, counter: 4 } })
    expect(hlc.peek()).toEqual({ wallMs: T0, counter: 4 })
    expect(hlc.now()).toEqual({ wallMs: T0, counter: 5 })
    expect(() => new HybridLogicalClock(manualClock(), { last: { wallMs: -1, counter: 0 } })).toThrow(InvalidTimestampError)
  })

  it('reads a clock before the epoch as the epoch, and never returns the zero timestamp', () => {
    const hlc = new HybridLogicalClock(manualClock(-5_000))
    expect(hlc.peek()).toEqual({ wallMs: 0, counter: 0 })
    expect(hlc.now()).toEqual({ wallMs: 0, counter: 1 })
    expect(hlc.now()).toEqual({ wallMs: 0, counter: 2 })
  })
})

describe('HybridLogicalClock against a reference time (the cache runs on the mesh\'s time)', () => {
  it('checks drift against the reference, not its own clock: a node behind accepts its peers\' versions', () => {
    const hlc = new HybridLogicalClock(manualClock(T0 - 3_600_000), { reference: manualClock(T0) })
    expect(() => { hlc.checkDrift({ wallMs: T0 + 30 * SECOND, counter: 0 }) }).not.toThrow()
    expect(hlc.receive({ wallMs: T0 + 30 * SECOND, counter: 0 })).toEqual({ wallMs: T0 + 30 * SECOND, counter: 1 })
    expect(() => hlc.receive({ wallMs: T0 + 61 * SECOND, counter: 0 })).toThrow(ClockDriftError)
  })

  it('checkDrift throws what receive would, and never moves the clock', () => {
    const hlc = new HybridLogicalClock(manualClock(T0))
    const before = hlc.now()
    expect(() => { hlc.checkDrift({ wallMs: T0 + 2 * MINUTE, counter: 0 }) }).toThrow(ClockDriftError)
    expect(() => { hlc.checkDrift({ wallMs: -1, counter: 0 }) }).toThrow(InvalidTimestampError)
    hlc.checkDrift({ wallMs: T0 + 30 * SECOND, counter: 9 })
    expect(hlc.peek()).toEqual(before)
  })

  it('rebase moves the clock where it is told (re-dating only), and refuses an invalid timestamp', () => {
    const hlc = new HybridLogicalClock(manualClock(T0))
    hlc.receive({ wallMs: T0 + 50 * SECOND, counter: 3 })
    hlc.rebase({ wallMs: T0 - SECOND, counter: 0 })
    expect(hlc.now()).toEqual({ wallMs: T0, counter: 0 })
    expect(() => { hlc.rebase({ wallMs: 1.5, counter: 0 }) }).toThrow(InvalidTimestampError)
  })
})

describe('HybridLogicalClock properties', () => {
  /** A step of a simulated node: the physical clock moves (maybe backwards), then an event. */
  const arbStep = fc.record({
    clockStepMs: fc.integer({ min: -2 * MINUTE, max: 2 * MINUTE }),
    event: fc.oneof(
      fc.constant({ kind: 'local' as const }),
      fc.record({ kind: fc.constant('receive' as const), skewMs: fc.integer({ min: -5 * MINUTE, max: 2 * MINUTE }), counter: fc.integer({ min: 0, max: MAX_COUNTER }) })
    )
  })

  it('stays strictly monotonic under skewed, backward-jumping clocks and interleaved receives', () => {
    fc.assert(fc.property(fc.array(arbStep, { maxLength: 200 }), (steps) => {
      const clock = manualClock(T0)
      const hlc = new HybridLogicalClock(clock)
      let prev: Timestamp | undefined
      for (const { clockStepMs, event } of steps) {
        clock.set(clock.now() + clockStepMs)
        let next: Timestamp
        if (event.kind === 'local') {
          next = hlc.now()
        } else {
          const remote = { wallMs: Math.max(0, clock.now() + event.skewMs), counter: event.counter }
          try {
            next = hlc.receive(remote)
          } catch (err) {
            // Only refusals for drift, and only when the remote really is too far ahead.
            expect(err).toBeInstanceOf(ClockDriftError)
            expect(remote.wallMs - clock.now()).toBeGreaterThan(DEFAULT_MAX_DRIFT_MS)
            expect(hlc.peek()).toEqual(prev ?? { wallMs: 0, counter: 0 })
            continue
          }
          // Never below the remote: causality across peers.
          expect(compareTimestamps(next, remote)).toBe(1)
        }
        expect(isValidTimestamp(next)).toBe(true)
        if (prev !== undefined) expect(compareTimestamps(next, prev)).toBe(1)
        // Never behind the physical clock either (clamped to the epoch).
        expect(next.wallMs).toBeGreaterThanOrEqual(Math.max(0, clock.now()))
        prev = next
      }
    }), { numRuns: 1_000 })
  })

  it('receive returns more than both the remote and the previous local timestamp', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 45 }), fc.array(arbTimestamp, { maxLength: 20 }), arbTimestamp, (physical, history, remote) => {
      const hlc = new HybridLogicalClock({ now: () => physical }, { maxDriftMs: MAX_WALL_MS })
      for (const ts of history) {
        if (ts.wallMs < MAX_WALL_MS - 1) hlc.receive(ts)
      }
      const before = hlc.peek()
      fc.pre(remote.wallMs < MAX_WALL_MS - 1 && before.wallMs < MAX_WALL_MS - 1)
      const after = hlc.receive(remote)
      expect(compareTimestamps(after, remote)).toBe(1)
      expect(compareTimestamps(after, before)).toBe(1)
    }), { numRuns: 1_000 })
  })

  it('refuses exactly the remote timestamps beyond maxDriftMs', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 10 * MINUTE }), fc.integer({ min: -MINUTE, max: 20 * MINUTE }), (maxDriftMs, aheadMs) => {
      const hlc = new HybridLogicalClock(manualClock(T0), { maxDriftMs })
      const remote = { wallMs: T0 + aheadMs, counter: 0 }
      if (aheadMs > maxDriftMs) expect(() => hlc.receive(remote)).toThrow(ClockDriftError)
      else expect(compareTimestamps(hlc.receive(remote), remote)).toBe(1)
    }), { numRuns: 1_000 })
  })
})

describe('timestamp encoding and order', () => {
  it('compares by wallMs, then counter', () => {
    expect(compareTimestamps({ wallMs: 1, counter: 9 }, { wallMs: 2, counter: 0 })).toBe(-1)
    expect(compareTimestamps({ wallMs: 2, counter: 1 }, { wallMs: 2, counter: 0 })).toBe(1)
    expect(compareTimestamps({ wallMs: 2, counter: 1 }, { wallMs: 2, counter: 1 })).toBe(0)
  })

  it('round-trips through the uint64 form, whose numeric order is the timestamp order', () => {
    fc.assert(fc.property(arbTimestamp, arbTimestamp, (a, b) => {
      const na = timestampToBigInt(a)
      expect(timestampFromBigInt(na)).toEqual(a)
      expect(na >= 0n && na < 2n ** 64n).toBe(true)
      const order = na < timestampToBigInt(b) ? -1 : na > timestampToBigInt(b) ? 1 : 0
      expect(order).toBe(compareTimestamps(a, b))
    }), { numRuns: 10_000 })
    expect(timestampToBigInt({ wallMs: 1, counter: 2 })).toBe(65_538n)
    expect(timestampFromBigInt(2n ** 64n - 1n)).toEqual({ wallMs: MAX_WALL_MS, counter: MAX_COUNTER })
  })

  it('validates', () => {
    expect(() => timestampFromBigInt(-1n)).toThrow(InvalidTimestampError)
    expect(() => timestampFromBigInt(2n ** 64n)).toThrow(InvalidTimestampError)
    expect(() => timestampToBigInt({ wallMs: MAX_WALL_MS + 1, counter: 0 })).toThrow(InvalidTimestampError)
    for (const bad of [null, 3, 'x', {}, { wallMs: 1 }, { wallMs: 1, counter: -1 }, { wallMs: '1', counter: 0 }, { wallMs: 2 ** 53, counter: 0 }]) {
      expect(isValidTimestamp(bad)).toBe(false)
    }
    expect(isValidTimestamp({ wallMs: 0, counter: 0 })).toBe(true)
  })
})
