import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compareVersions, isValidVersion, versionToBytes } from '../../../../src/core/cache/version.js'
import { MAX_COUNTER } from '../../../../src/core/hlc.js'
import { arbVersion } from './arbitraries.js'
import type { Version } from '../../../../src/core/cache/version.js'

describe('versions', () => {
  it('order by timestamp, then origin', () => {
    const v = (wallMs: number, counter: number, origin: string): Version => ({ ts: { wallMs, counter }, origin })
    expect(compareVersions(v(1, 0, 'b'), v(2, 0, 'a'))).toBe(-1)
    expect(compareVersions(v(2, 1, 'a'), v(2, 0, 'b'))).toBe(1)
    expect(compareVersions(v(2, 0, 'b'), v(2, 0, 'a'))).toBe(1)
    expect(compareVersions(v(2, 0, 'a'), v(2, 0, 'a'))).toBe(0)
  })

  it('form a total order (antisymmetric, transitive)', () => {
    fc.assert(fc.property(arbVersion, arbVersion, arbVersion, (a, b, c) => {
      expect(compareVersions(a, b)).toBe(-compareVersions(b, a) || 0)
      if (compareVersions(a, b) <= 0 && compareVersions(b, c) <= 0) expect(compareVersions(a, c)).toBeLessThanOrEqual(0)
      expect(compareVersions(a, b) === 0).toBe(a.ts.wallMs === b.ts.wallMs && a.ts.counter === b.ts.counter && a.origin === b.origin)
    }), { numRuns: 1_000 })
  })

  it('encode to canonical bytes that differ whenever versions differ', () => {
    const bytes = versionToBytes({ ts: { wallMs: 1, counter: 2 }, origin: 'é' })
    expect([...bytes]).toEqual([0, 0, 0, 0, 0, 1, 0, 2, 0xc3, 0xa9])
    fc.assert(fc.property(arbVersion, arbVersion, (a, b) => {
      const same = Buffer.from(versionToBytes(a)).equals(versionToBytes(b))
      expect(same).toBe(compareVersions(a, b) === 0)
    }), { numRuns: 1_000 })
  })

  it('validate', () => {
    expect(isValidVersion({ ts: { wallMs: 1, counter: MAX_COUNTER }, origin: 'p' })).toBe(true)
    for (const bad of [null, {}, { ts: { wallMs: 1, counter: 0 } }, { ts: { wallMs: 1, counter: 0 }, origin: '' }, { ts: { wallMs: -1, counter: 0 }, origin: 'p' }]) {
      expect(isValidVersion(bad)).toBe(false)
    }
  })
})
