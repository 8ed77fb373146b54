import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { PacedTimer } from '../../../src/util/paced-timer.js'

describe('PacedTimer', () => {
  beforeEach(() => { vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] }) })
  afterEach(() => { vi.useRealTimers() })

  it('runs at its pace; a slower pace set from inside the run applies at once, without a second chain of runs', () => {
    const runs: number[] = []
    const timer: PacedTimer = new PacedTimer(() => {
      runs.push(performance.now())
      if (runs.length === 2) timer.setPace(10_000)
    }, 1_000)
    timer.start()
    vi.advanceTimersByTime(3_000)
    expect(runs).toEqual([1_000, 2_000])
    vi.advanceTimersByTime(30_000)
    expect(runs).toEqual([1_000, 2_000, 12_000, 22_000, 32_000])
    expect(vi.getTimerCount()).toBe(1)
    timer.stop()
    expect(vi.getTimerCount()).toBe(0)
  })

  it('a quicker pace brings a far run forward; runSoon runs on the next turn; a later due run stays', () => {
    const runs: number[] = []
    const timer = new PacedTimer(() => { runs.push(performance.now()) }, 30_000)
    timer.start()
    vi.advanceTimersByTime(5_000)
    timer.setPace(500)
    vi.advanceTimersByTime(1_000)
    expect(runs).toEqual([5_500, 6_000])
    timer.setPace(30_000)
    // The run due at 6,500 keeps its time; the pace applies after it.
    vi.advanceTimersByTime(500)
    expect(runs).toEqual([5_500, 6_000, 6_500])
    timer.runSoon()
    vi.advanceTimersByTime(0)
    expect(runs).toEqual([5_500, 6_000, 6_500, 6_500])
    vi.advanceTimersByTime(30_000)
    expect(runs).toEqual([5_500, 6_000, 6_500, 6_500, 36_500])
    timer.stop()
  })

  it('a throwing run does not stop the timer; nothing runs after stop', () => {
    let runs = 0
    const timer = new PacedTimer(() => { runs++; throw new Error('boom') }, 100)
    timer.start()
    expect(() => vi.advanceTimersByTime(100)).toThrow('boom')
    expect(() => vi.advanceTimersByTime(100)).toThrow('boom')
    expect(runs).toBe(2)
    timer.stop()
    vi.advanceTimersByTime(1_000)
    expect(runs).toBe(2)
  })
})
