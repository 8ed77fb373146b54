import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { nthSmallest } from '../../../../src/services/tasks/candidates.js'

describe('candidates: the median run time of peers that have not run a kind yet', () => {
  it('nthSmallest picks what sorting would put at position k, duplicates included', () => {
    fc.assert(fc.property(
      fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 300 }).chain(values => fc.tuple(fc.constant(values), fc.nat(values.length - 1))),
      ([values, k]) => {
        const sorted = Float64Array.from(values).sort()
        // Room past n, as the shared buffer has: nothing beyond n is read or moved.
        const a = new Float64Array(values.length + 5).fill(-1)
        a.set(values)
        expect(nthSmallest(a, values.length, k)).toBe(sorted[k])
        expect(Array.from(a.subarray(values.length))).toEqual([-1, -1, -1, -1, -1])
      }), { numRuns: 1_000 })
  })
})
