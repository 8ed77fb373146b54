import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { backoffDelay } from '../../../src/core/backoff.js'

const policy = { minMs: 100, maxMs: 10_000 }

describe('backoffDelay', () => {
  it('first attempt: between half the minimum and the minimum', () => {
    expect(backoffDelay(0, policy, () => 0)).toBe(50)
    expect(backoffDelay(0, policy, () => 0.5)).toBe(75)
    expect(backoffDelay(0, policy, () => 0.999999)).toBeLessThan(100)
  })

  it('doubles the nominal delay per attempt until the maximum, then stays there', () => {
    const floors = [0, 1, 2, 3, 4, 5, 6, 7, 8, 50, 1_000].map(a => backoffDelay(a, policy, () => 0))
    expect(floors).toEqual([50, 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000])
  })

  it('treats a negative attempt as the first and never overflows for huge attempts', () => {
    expect(backoffDelay(-3, policy, () => 0)).toBe(50)
    expect(backoffDelay(Number.MAX_SAFE_INTEGER, policy, () => 0.5)).toBe(7500)
    expect(backoffDelay(Number.MAX_SAFE_INTEGER, { minMs: 1, maxMs: Number.MAX_SAFE_INTEGER }, () => 0)).toBe(2 ** 30 / 2)
  })

  it('always lies in [nominal/2, nominal] and never shrinks as attempts grow (same random)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 100 }),
      fc.integer({ min: 1, max: 60_000 }),
      fc.integer({ min: 0, max: 600_000 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (attempt, minMs, extra, r) => {
        const p = { minMs, maxMs: minMs + extra }
        const d = backoffDelay(attempt, p, () => r)
        const nominal = Math.min(p.maxMs, minMs * 2 ** Math.min(attempt, 30))
        expect(d).toBeGreaterThanOrEqual(nominal / 2)
        expect(d).toBeLessThanOrEqual(nominal)
        expect(d).toBeLessThanOrEqual(p.maxMs)
        expect(backoffDelay(attempt + 1, p, () => r)).toBeGreaterThanOrEqual(d)
      }), { numRuns: 2_000 })
  })
})
