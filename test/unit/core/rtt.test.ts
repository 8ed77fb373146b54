import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { RttEstimator, DEFAULT_RTT_ALPHA } from '../../../src/core/rtt.js'

describe('RttEstimator', () => {
  it('has no value until the first sample, which it takes as is', () => {
    const rtt = new RttEstimator()
    expect(rtt.value).toBeUndefined()
    expect(rtt.samples).toBe(0)
    expect(rtt.update(12)).toBe(12)
    expect(rtt.value).toBe(12)
    expect(rtt.samples).toBe(1)
  })

  it('smooths with the documented alpha', () => {
    const rtt = new RttEstimator({ windowSize: 1 })
    rtt.update(10)
    expect(rtt.update(20)).toBeCloseTo(10 + DEFAULT_RTT_ALPHA * 10, 12)
  })

  it('drops a single outlier entirely', () => {
    const rtt = new RttEstimator()
    for (let i = 0; i < 10; i++) rtt.update(20)
    rtt.update(900) // one ping stuck behind a burst
    expect(rtt.value).toBe(20)
    rtt.update(20)
    expect(rtt.value).toBe(20)
  })

  it('follows a real change in the link within a few samples', () => {
    const rtt = new RttEstimator()
    for (let i = 0; i < 10; i++) rtt.update(20)
    const seen: number[] = []
    for (let i = 0; i < 8; i++) seen.push(rtt.update(80)!)
    expect(seen[0]).toBe(20) // one high sample is an outlier
    expect(seen[7]).toBeGreaterThan(20 + 0.9 * 60) // 90% of the step within eight pings
  })

  it('refuses samples that cannot be RTTs', () => {
    const rtt = new RttEstimator({ maxSampleMs: 5000 })
    rtt.update(10)
    for (const bad of [Number.NaN, Infinity, -Infinity, -1, 5001]) expect(rtt.update(bad)).toBe(10)
    expect(rtt.rejected).toBe(5)
    expect(rtt.samples).toBe(1)
    // 0 ms is a valid loopback RTT: accepted, and the median of [10, 0] is 5.
    expect(rtt.update(0)).toBeCloseTo(10 + DEFAULT_RTT_ALPHA * (5 - 10), 12)
    expect(rtt.samples).toBe(2)
  })

  it('reset forgets everything', () => {
    const rtt = new RttEstimator()
    rtt.update(10); rtt.update(-1)
    rtt.reset()
    expect(rtt.value).toBeUndefined()
    expect(rtt.samples).toBe(0)
    expect(rtt.rejected).toBe(0)
  })

  it('rejects an alpha outside (0, 1]', () => {
    expect(() => new RttEstimator({ alpha: 0 })).toThrow(RangeError)
    expect(() => new RttEstimator({ alpha: 1.5 })).toThrow(RangeError)
    expect(() => new RttEstimator({ alpha: Number.NaN })).toThrow(RangeError)
  })

  it('stays within the range of the accepted samples, whatever they are', () => {
    fc.assert(fc.property(fc.array(fc.double()), fc.integer({ min: 1, max: 7 }), (xs, windowSize) => {
      const rtt = new RttEstimator({ windowSize })
      const ok = xs.filter(x => Number.isFinite(x) && x >= 0 && x <= 60_000)
      for (const x of xs) rtt.update(x)
      expect(rtt.samples).toBe(ok.length)
      expect(rtt.rejected).toBe(xs.length - ok.length)
      if (ok.length === 0) {
        expect(rtt.value).toBeUndefined()
      } else {
        expect(rtt.value).toBeGreaterThanOrEqual(Math.min(...ok) - 1e-9)
        expect(rtt.value).toBeLessThanOrEqual(Math.max(...ok) + 1e-9)
      }
    }))
  })
})
