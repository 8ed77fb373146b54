import { describe, expect, it } from 'vitest'
import { RunTimeSketch, RunTimesByKind } from '../../../../src/core/routing/run-times.js'

describe('RunTimeSketch', () => {
  it('knows nothing before a run', () => {
    expect(new RunTimeSketch().quantile(0.95)).toBeUndefined()
  })

  it('gives quantiles within a quarter octave of the true value', () => {
    const sketch = new RunTimeSketch({ halfLife: 1e9 })
    for (let ms = 1; ms <= 1_000; ms++) sketch.add(ms)
    for (const q of [0.5, 0.95, 0.99]) {
      const got = sketch.quantile(q) as number
      expect(got).toBeGreaterThanOrEqual(q * 1_000)
      expect(got).toBeLessThan(q * 1_000 * 2 ** 0.25 + 1)
    }
  })

  it('a heavy tail shows in the high quantile, not the median', () => {
    const sketch = new RunTimeSketch()
    for (let i = 0; i < 100; i++) sketch.add(i % 10 === 0 ? 20_000 : 100)
    expect(sketch.quantile(0.5) as number).toBeLessThan(130)
    expect(sketch.quantile(0.95) as number).toBeGreaterThanOrEqual(20_000)
  })

  it('recent runs outweigh old ones (counts halve every halfLife runs)', () => {
    const sketch = new RunTimeSketch({ halfLife: 100 })
    for (let i = 0; i < 100; i++) sketch.add(10_000)
    for (let i = 0; i < 1_000; i++) sketch.add(50)
    expect(sketch.quantile(0.99) as number).toBeLessThan(70)
  })

  it('expects a long-lasted run of a heavy-tailed kind to last long yet, and a memoryless one not', () => {
    // Exponential run times (mean 1 s): what is left is about the mean whatever the age.
    const memoryless = new RunTimeSketch({ halfLife: 1e9 })
    for (let i = 1; i <= 20_000; i++) memoryless.add(-1_000 * Math.log(i / 20_001))
    for (const age of [0, 500, 2_000]) {
      expect(memoryless.meanResidualMs(age) as number).toBeGreaterThan(800)
      expect(memoryless.meanResidualMs(age) as number).toBeLessThan(1_250)
    }
    // Pareto α = 1.5 from 100 ms: what is left grows as about twice the age.
    const pareto = new RunTimeSketch({ halfLife: 1e9 })
    for (let i = 1; i <= 20_000; i++) pareto.add(100 * (i / 20_001) ** (-1 / 1.5))
    const at1s = pareto.meanResidualMs(1_000) as number
    const at10s = pareto.meanResidualMs(10_000) as number
    expect(at1s).toBeGreaterThan(1_000)
    expect(at10s).toBeGreaterThan(5 * at1s)
    // Nothing ran that long: no estimate (the caller decides).
    expect(pareto.meanResidualMs(1e9)).toBeUndefined()
    expect(new RunTimeSketch().meanResidualMs(0)).toBeUndefined()
  })

  it('ignores values that are not run times', () => {
    const sketch = new RunTimeSketch()
    sketch.add(Number.NaN)
    sketch.add(-5)
    sketch.add(Infinity)
    expect(sketch.samples).toBe(0)
  })
})

describe('RunTimesByKind', () => {
  it('answers once a kind has enough runs, per kind, and forgets the kind seen least recently beyond its bound', () => {
    const kinds = new RunTimesByKind(2)
    for (let i = 0; i < 19; i++) kinds.add('a', 100)
    expect(kinds.quantile('a', 0.95)).toBeUndefined()
    kinds.add('a', 100)
    expect(kinds.quantile('a', 0.95)).toBeGreaterThanOrEqual(100)
    for (let i = 0; i < 20; i++) kinds.add('b', 5_000)
    expect(kinds.quantile('b', 0.5)).toBeGreaterThanOrEqual(5_000)
    kinds.add('a', 100) // a is now the most recent
    kinds.add('c', 1)
    expect(kinds.quantile('b', 0.5)).toBeUndefined()
    // Quarter-octave buckets: within a fifth of what was seen.
    expect(kinds.quantile('a', 0.5)).toBeGreaterThan(80)
    expect(kinds.quantile('a', 0.5)).toBeLessThan(125)
    expect(kinds.meanResidualMs('b', 0, 21)).toBeUndefined()
    expect(kinds.meanResidualMs('a', 0)).toBeGreaterThan(0)
  })
})
