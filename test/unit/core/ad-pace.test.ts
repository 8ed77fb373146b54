import { describe, expect, it } from 'vitest'
import { adGapMs } from '../../../src/core/ad-pace.js'

describe('ad pace', () => {
  const pace = { busyMs: 1_000, idleMs: 5_000, idleAfterMs: 10_000 }

  it('beats at the busy pace while the node has work and for a while after', () => {
    expect(adGapMs(pace, 100_000, 100_000)).toBe(1_000)
    expect(adGapMs(pace, 100_000, 109_999)).toBe(1_000)
  })

  it('beats at the idle pace once idle long enough, or when it never had work', () => {
    expect(adGapMs(pace, 100_000, 110_000)).toBe(5_000)
    expect(adGapMs(pace, undefined, 0)).toBe(5_000)
  })

  it('never beats slower when busy than when idle', () => {
    expect(adGapMs({ ...pace, idleMs: 200 }, undefined, 0)).toBe(1_000)
  })
})
