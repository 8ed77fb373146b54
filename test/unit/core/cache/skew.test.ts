import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { cacheTime, writeRefusal } from '../../../../src/core/cache/skew.js'
import { DEFAULT_MAX_CORRECTION_MS } from '../../../../src/core/mesh-time.js'
import { DAY, SECOND } from '../../../../src/util/time.js'
import type { MeshTimeView } from '../../../../src/core/mesh-time.js'

const T = 1_750_000_000_000
const D = 60 * SECOND
const bounds = { maxDriftMs: D, maxCorrectionMs: DEFAULT_MAX_CORRECTION_MS }

function majority (wallMs: number, medianMs: number, capped = false): MeshTimeView {
  const c = Math.max(-DEFAULT_MAX_CORRECTION_MS, Math.min(DEFAULT_MAX_CORRECTION_MS, medianMs - wallMs))
  return { wallMs, clocks: 3, medianMs, offsetMs: wallMs - medianMs, lowestPeerMs: medianMs, referenceMs: wallMs + c, capped }
}

describe('cache skew rule', () => {
  it('alone: own clock, no write range (the write stays unshared), remote versions up to D ahead', () => {
    const time = cacheTime({ wallMs: T, clocks: 1, referenceMs: T, capped: false }, bounds)
    expect(time).toEqual({ nowMs: T, stampFromMs: T, acceptUpToMs: T + D, basis: 'alone' })
    expect(writeRefusal(T + 10 * DAY, time, { wallMs: T, clocks: 1, referenceMs: T, capped: false })).toBeUndefined()
  })

  it('a majority: a node a day ahead stamps with the mesh\'s time and accepts what the mesh accepts', () => {
    const view = majority(T + DAY, T)
    const time = cacheTime(view, bounds)
    expect(time).toMatchObject({ nowMs: T, stampFromMs: T, acceptUpToMs: T + D, writeRange: { lo: T - DEFAULT_MAX_CORRECTION_MS, hi: T + D / 2 }, basis: 'majority' })
    expect(writeRefusal(T, time, view)).toBeUndefined()
  })

  it('a majority: a node a day behind accepts its peers\' versions, but never stamps ahead of its own clock', () => {
    const view = majority(T - DAY, T)
    const time = cacheTime(view, bounds)
    expect(time.acceptUpToMs).toBe(T + D)
    expect(time.stampFromMs).toBe(T - DAY)
    expect(writeRefusal(T - DAY, time, view)).toBeUndefined()
  })

  it('refuses, in one line, a clock further off than the node corrects by itself', () => {
    const view = majority(T + 5 * DAY, T, true)
    const time = cacheTime(view, bounds)
    const why = writeRefusal(time.stampFromMs, time, view)
    expect(why).toMatch(/^cache writes are refused: this node's clock is 432000\.0 s ahead of the median of 3 clocks .* fix the system clock/)
    expect(why).not.toContain('\n')
  })

  it('refuses for a moment when the newest version held is past what peers accept', () => {
    const view = majority(T, T)
    const time = cacheTime(view, bounds)
    expect(writeRefusal(T + D, time, view)).toMatch(/newest version is 30\.0 s ahead of what its peers accept; retry in a moment/)
  })

  it('one peer: the reference stays the node\'s own clock, and the node ahead stops writing', () => {
    const ahead: MeshTimeView = { wallMs: T + DAY, clocks: 2, medianMs: T, offsetMs: DAY, lowestPeerMs: T, referenceMs: T + DAY, capped: false }
    const time = cacheTime(ahead, bounds)
    expect(time).toMatchObject({ stampFromMs: T + DAY, acceptUpToMs: T + DAY + D, basis: 'one peer' })
    expect(writeRefusal(T + DAY, time, ahead)).toMatch(/ahead of its only peer's, and with one peer it cannot tell whose is wrong/)
    const behind: MeshTimeView = { wallMs: T, clocks: 2, medianMs: T, offsetMs: 0, lowestPeerMs: T + DAY, referenceMs: T, capped: false }
    expect(writeRefusal(T, cacheTime(behind, bounds), behind)).toBeUndefined()
  })

  it('whatever the clocks, an acknowledged version is one every node sharing the median (± D/2) accepts', () => {
    fc.assert(fc.property(
      fc.integer({ min: -5 * DAY, max: 5 * DAY }), fc.integer({ min: 0, max: 2 * D }), fc.integer({ min: -D / 2, max: D / 2 }),
      (offset, lastAhead, otherError) => {
        const view = majority(T + offset, T, Math.abs(offset) > DEFAULT_MAX_CORRECTION_MS)
        const time = cacheTime(view, bounds)
        const stamp = Math.max(time.stampFromMs, T + lastAhead)
        if (writeRefusal(stamp, time, view) != null) return
        // Another node whose measurement of the median is off by up to D/2 accepts it.
        expect(stamp).toBeLessThanOrEqual(T + otherError + D)
        expect(stamp).toBeGreaterThanOrEqual(T - DEFAULT_MAX_CORRECTION_MS)
      }))
  })
})
