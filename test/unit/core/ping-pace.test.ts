import { describe, expect, it } from 'vitest'
import { DEFAULT_PING_PACE, isRttChange, pingGapMs } from '../../../src/core/ping-pace.js'

describe('ping pace', () => {
  it('pings a link quickly until enough samples agree, then at the settled gap', () => {
    const pace = DEFAULT_PING_PACE
    for (let n = 0; n < pace.warmupSamples; n++) expect(pingGapMs(pace, n)).toBe(pace.quickMs)
    expect(pingGapMs(pace, pace.warmupSamples)).toBe(pace.settledMs)
    expect(pingGapMs(pace, 1_000)).toBe(pace.settledMs)
  })

  it('never pings a settled link more often than an unsettled one', () => {
    expect(pingGapMs({ ...DEFAULT_PING_PACE, quickMs: 30_000, settledMs: 5_000 }, 100)).toBe(30_000)
  })

  it('takes scheduling jitter for agreement and a real move of the link for a change', () => {
    const pace = DEFAULT_PING_PACE
    expect(isRttChange(pace, undefined, 500)).toBe(false)
    // Loopback on a loaded machine: 2 ms links answering in 1-7 ms.
    expect(isRttChange(pace, 2, 7)).toBe(false)
    expect(isRttChange(pace, 2, 1)).toBe(false)
    // A path 10+ ms and 50 %+ away from the estimate.
    expect(isRttChange(pace, 2, 40)).toBe(true)
    expect(isRttChange(pace, 40, 15)).toBe(true)
    // Large but proportionally small moves on a long link are jitter.
    expect(isRttChange(pace, 200, 260)).toBe(false)
  })
})
