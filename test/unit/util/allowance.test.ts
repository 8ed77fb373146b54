import { describe, expect, it } from 'vitest'
import { takeAllowance } from '../../../src/util/allowance.js'
import type { AllowanceState } from '../../../src/util/allowance.js'

describe('takeAllowance', () => {
  it('gives a burst at once, then one per interval, per key', () => {
    const store = new Map<string, AllowanceState>()
    const rule = { burst: 2, intervalMs: 1_000 }
    expect([0, 0, 0].map(() => takeAllowance(store, 'a', 0, rule))).toEqual([true, true, false])
    expect(takeAllowance(store, 'b', 0, rule)).toBe(true)
    expect(takeAllowance(store, 'a', 999, rule)).toBe(false)
    expect(takeAllowance(store, 'a', 1_000, rule)).toBe(true)
    expect(takeAllowance(store, 'a', 1_000, rule)).toBe(false)
    // A long quiet spell refills to the burst, no further.
    expect([0, 0, 0].map(() => takeAllowance(store, 'a', 60_000, rule))).toEqual([true, true, false])
    // A clock that steps back refills nothing, and the span it stepped over is not credited twice.
    expect(takeAllowance(store, 'a', 30_000, rule)).toBe(false)
    expect(takeAllowance(store, 'c', 60_000, rule)).toBe(true)
    expect(takeAllowance(store, 'c', 30_000, rule)).toBe(true)
    expect(takeAllowance(store, 'c', 31_000, rule)).toBe(false)
  })
})
