import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { CapacityAd } from '../../../../src/wire/capacity.js'
import { CAPACITY_BOUNDS, validateAd } from '../../../../src/services/capacity/validate-ad.js'
import type { ValidatedAd } from '../../../../src/services/capacity/validate-ad.js'

function ad (over: Partial<CapacityAd> = {}): CapacityAd {
  return {
    ...CapacityAd.decode(new Uint8Array(0)), // every field at its default
    seq: 1_700_000_000_000_001,
    name: 'node-a',
    cores: 8,
    freeMemoryMb: 4096,
    load: 0.5,
    queueDepth: 3,
    running: 2,
    concurrency: 8,
    queueLimit: 256,
    kinds: ['echo', 'sha256'],
    stats: [{ kind: 'echo', meanRunMs: 2 }],
    intervalMs: 1000,
    ...over
  }
}

function valid (input: CapacityAd): ValidatedAd {
  const v = validateAd(input)
  if (typeof v === 'string') throw new Error(`rejected: ${v}`)
  return v
}

describe('validateAd', () => {
  it('keeps a sane ad as it is, with nothing clamped', () => {
    const v = valid(ad())
    expect(v).toMatchObject({ seq: 1_700_000_000_000_001, name: 'node-a', cores: 8, queueDepth: 3, running: 2, concurrency: 8, queueLimit: 256, kinds: ['echo', 'sha256'], intervalMs: 1000, clamped: [] })
    expect(v.meanRunMs.get('echo')).toBe(2)
    expect(v.firstFreeMs).toBe(0)
    expect(valid(ad({ firstFreeMs: 4_200 })).firstFreeMs).toBe(4_200)
    // On the wire (field 18) and back; an ad without it (an older peer's) reads 0: no estimate.
    expect(valid(CapacityAd.decode(CapacityAd.encode(ad({ firstFreeMs: 4_200 })))).firstFreeMs).toBe(4_200)
    expect(valid(CapacityAd.decode(CapacityAd.encode(ad()))).firstFreeMs).toBe(0)
  })

  it.each([
    ['cores', { cores: 10_000 }, 'cores', CAPACITY_BOUNDS.cores],
    ['concurrency', { concurrency: 100_000 }, 'concurrency', CAPACITY_BOUNDS.concurrency],
    ['queueDepth', { queueDepth: 2 ** 32 - 1 }, 'queueDepth', CAPACITY_BOUNDS.queueDepth],
    ['queueLimit', { queueLimit: 2 ** 32 - 1 }, 'queueLimit', CAPACITY_BOUNDS.queueLimit],
    ['freeMemoryMb', { freeMemoryMb: 2 ** 32 - 1 }, 'freeMemoryMb', CAPACITY_BOUNDS.freeMemoryMb],
    ['load', { load: 1e9 }, 'load', CAPACITY_BOUNDS.load],
    ['firstFreeMs', { firstFreeMs: 2 ** 32 - 1 }, 'firstFreeMs', CAPACITY_BOUNDS.firstFreeMs]
  ] as const)('clamps an absurd %s to its bound and lists it', (_name, over, field, bound) => {
    const v = valid(ad(over))
    expect(v[field]).toBe(bound)
    expect(v.clamped).toContain(field)
  })

  it('claims of 10,000 cores become 1,024', () => {
    const v = valid(ad({ cores: 10_000 }))
    expect(v.cores).toBe(1_024)
    expect(v.clamped).toEqual(['cores'])
  })

  it('a non-finite or negative load becomes 0 and is listed', () => {
    for (const load of [Number.NaN, Infinity, -1]) {
      const v = valid(ad({ load }))
      expect(v.load).toBe(0)
      expect(v.clamped).toContain('load')
    }
  })

  it('never reports more running than slots', () => {
    expect(valid(ad({ running: 50, concurrency: 4 })).running).toBe(4)
  })

  it('clamps mean run times and bounds the advertisement interval', () => {
    const v = valid(ad({ stats: [{ kind: 'echo', meanRunMs: 2 ** 32 - 1 }] }))
    expect(v.meanRunMs.get('echo')).toBe(CAPACITY_BOUNDS.meanRunMs)
    expect(v.clamped).toContain('stats')
    expect(valid(ad({ intervalMs: 1 })).intervalMs).toBe(CAPACITY_BOUNDS.minIntervalMs)
    expect(valid(ad({ intervalMs: 2 ** 32 - 1 })).intervalMs).toBe(CAPACITY_BOUNDS.maxIntervalMs)
    expect(valid(ad({ intervalMs: 0 })).intervalMs).toBe(1000) // unset: the default
  })

  it.each([
    ['seq 0', { seq: 0 }, /seq/],
    ['negative seq', { seq: -1 }, /seq/],
    ['fractional seq', { seq: 1.5 }, /seq/],
    ['unsafe seq', { seq: 2 ** 60 }, /seq/],
    ['a name too long', { name: 'n'.repeat(65) }, /name too long/],
    ['a newline in the name', { name: 'evil\nname' }, /control/],
    ['an escape in the name', { name: 'evil\u001b[31m' }, /control/],
    ['DEL in the name', { name: 'a\u007f' }, /control/],
    ['an upper-case kind', { kinds: ['Echo'] }, /kind/],
    ['an empty kind', { kinds: [''] }, /kind/],
    ['a kind with a slash', { kinds: ['../etc'] }, /kind/],
    ['duplicate kinds', { kinds: ['echo', 'echo'] }, /duplicate/],
    ['a bad kind in stats', { stats: [{ kind: 'Not OK', meanRunMs: 1 }] }, /kind/]
  ])('rejects %s', (_name, over, reason) => {
    const v = validateAd(ad(over as Partial<CapacityAd>))
    expect(typeof v).toBe('string')
    expect(v).toMatch(reason)
  })

  it('accepts a name of exactly the limit, with unicode', () => {
    expect(valid(ad({ name: 'ü'.repeat(64) })).name).toBe('ü'.repeat(64))
  })
})

describe('CapacityAd codec', () => {
  it('decoding arbitrary bytes returns an ad or throws an Error; validateAd never throws on what decodes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), bytes => {
      let decoded: CapacityAd
      try {
        decoded = CapacityAd.decode(bytes)
      } catch (err) {
        expect(err).toBeInstanceOf(Error)
        return
      }
      const v = validateAd(decoded)
      expect(typeof v === 'string' || typeof v === 'object').toBe(true)
    }), { numRuns: 10_000 })
  })

  it('mutated real ads: same', () => {
    const base = CapacityAd.encode(ad({ coordinate: { vec: [1, 2, 3, 4, 5, 6, 7, 8], height: 10, error: 1.5, adjustment: 0 } }))
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat(), (flips, cut) => {
      const bytes = base.slice(0, base.byteLength - (cut % 4))
      for (const [at, x] of flips) bytes[at % bytes.byteLength] ^= x
      let decoded: CapacityAd
      try {
        decoded = CapacityAd.decode(bytes)
      } catch (err) {
        expect(err).toBeInstanceOf(Error)
        return
      }
      expect(() => validateAd(decoded)).not.toThrow()
    }), { numRuns: 3_000 })
  })

  it('round-trips an ad', () => {
    const a = ad({ coordinate: { vec: [1, 2, 3, 4, 5, 6, 7, 8], height: 10, error: 1.5, adjustment: -2 } })
    expect(CapacityAd.decode(CapacityAd.encode(a))).toEqual(a)
  })
})
