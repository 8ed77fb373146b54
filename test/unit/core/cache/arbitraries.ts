/** fast-check arbitraries shared by the cache tests. */
import fc from 'fast-check'
import type { Version } from '../../../../src/core/cache/version.js'

/** Versions from a small space, so that ties on time (and full ties) are common. */
export const arbVersion: fc.Arbitrary<Version> = fc.record({
  ts: fc.record({ wallMs: fc.integer({ min: 0, max: 5 }), counter: fc.integer({ min: 0, max: 3 }) }),
  origin: fc.constantFrom('12D3KooWA', '12D3KooWB', '12D3KooWC')
})
