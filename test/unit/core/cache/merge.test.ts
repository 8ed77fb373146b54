import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DEFAULT_TOMBSTONE_GRACE_MS, isCollectableTombstone, isLive, mergeEntry } from '../../../../src/core/cache/merge.js'
import { compareVersions } from '../../../../src/core/cache/version.js'
import { DAY } from '../../../../src/util/time.js'
import { arbVersion } from './arbitraries.js'
import type { EntryMeta } from '../../../../src/core/cache/merge.js'
import type { Version } from '../../../../src/core/cache/version.js'

interface Entry extends EntryMeta {
  value: string
}

/**
 * An entry whose content is a function of its version, as for real entries (the origin signs
 * one write per version), so equal versions mean equal entries.
 */
function entry (version: Version, tombstone: boolean, key = 'k'): Entry {
  const id = `${version.ts.wallMs}.${version.ts.counter}@${version.origin}`
  return { key, version, tombstone, value: tombstone ? '' : `value of ${id}` }
}

// Tombstone-ness also follows from the version, so an arbitrary list can hold the same write twice.
const arbEntry: fc.Arbitrary<Entry> = arbVersion.map(v => entry(v, (v.ts.wallMs + v.ts.counter) % 3 === 0))

/** Fold entries into a store slot, the way a peer applies them in arrival order. */
function apply (entries: Entry[]): Entry | undefined {
  let current: Entry | undefined
  for (const e of entries) current = mergeEntry(current, e).winner
  return current
}

const v = (wallMs: number, counter = 0, origin = 'a'): Version => ({ ts: { wallMs, counter }, origin })

describe('mergeEntry', () => {
  it('takes the incoming entry when nothing is stored', () => {
    const e = entry(v(1), false)
    expect(mergeEntry(undefined, e)).toEqual({ winner: e, changed: true })
  })

  it('keeps the higher version, by version only', () => {
    const older = entry(v(1), false)
    const newer = entry(v(2), false)
    expect(mergeEntry(older, newer)).toEqual({ winner: newer, changed: true })
    expect(mergeEntry(newer, older)).toEqual({ winner: newer, changed: false })
    // Same time: the origin breaks the tie, the same way everywhere.
    const fromB = entry(v(2, 0, 'b'), false)
    expect(mergeEntry(newer, fromB).winner).toBe(fromB)
    expect(mergeEntry(fromB, newer).winner).toBe(fromB)
  })

  it('keeps the current entry on an equal version (re-delivery changes nothing)', () => {
    const current = entry(v(3), false)
    const again = entry(v(3), false)
    const result = mergeEntry(current, again)
    expect(result.winner).toBe(current)
    expect(result.changed).toBe(false)
  })

  it('treats a tombstone as an entry: it beats older writes and loses to newer ones', () => {
    const tomb = entry(v(5), true)
    expect(mergeEntry(entry(v(4), false), tomb).winner).toBe(tomb)
    const rewrite = entry(v(6), false)
    expect(mergeEntry(tomb, rewrite).winner).toBe(rewrite)
  })

  it('refuses to merge entries of different keys', () => {
    expect(() => mergeEntry(entry(v(1), false, 'a'), entry(v(2), false, 'b'))).toThrow(RangeError)
  })
})

describe('mergeEntry properties', () => {
  it('is commutative: the same winner whatever the order', () => {
    fc.assert(fc.property(arbEntry, arbEntry, (a, b) => {
      expect(mergeEntry(a, b).winner).toEqual(mergeEntry(b, a).winner)
    }), { numRuns: 1_000 })
  })

  it('is associative', () => {
    fc.assert(fc.property(arbEntry, arbEntry, arbEntry, (a, b, c) => {
      const left = mergeEntry(mergeEntry(a, b).winner, c).winner
      const right = mergeEntry(a, mergeEntry(b, c).winner).winner
      expect(left).toEqual(right)
    }), { numRuns: 1_000 })
  })

  it('is idempotent', () => {
    fc.assert(fc.property(arbEntry, (a) => {
      expect(mergeEntry(a, a)).toEqual({ winner: a, changed: false })
      expect(mergeEntry(a, structuredClone(a)).changed).toBe(false)
    }), { numRuns: 1_000 })
  })

  it('converges: any delivery order (with duplicates) ends at the highest version', () => {
    fc.assert(fc.property(fc.array(arbEntry, { minLength: 1, maxLength: 12 }).chain(es => fc.tuple(fc.constant(es), fc.shuffledSubarray(es, { minLength: es.length }))), ([entries, shuffled]) => {
      const highest = entries.reduce((a, b) => compareVersions(a.version, b.version) >= 0 ? a : b)
      expect(apply(entries)).toEqual(highest)
      expect(apply(shuffled)).toEqual(highest)
      expect(apply([...shuffled, ...entries])).toEqual(highest)
    }), { numRuns: 1_000 })
  })

  it('lets a tombstone beat every older write and lose to every newer one', () => {
    fc.assert(fc.property(arbVersion, arbVersion, (tv, wv) => {
      fc.pre(compareVersions(tv, wv) !== 0)
      const tomb = entry(tv, true)
      const write = entry(wv, false)
      const expected = compareVersions(tv, wv) > 0 ? tomb : write
      expect(mergeEntry(tomb, write).winner).toBe(expected)
      expect(mergeEntry(write, tomb).winner).toBe(expected)
    }), { numRuns: 1_000 })
  })

  it('reports changed exactly when the stored entry must be replaced', () => {
    fc.assert(fc.property(fc.option(arbEntry, { nil: undefined }), arbEntry, (current, incoming) => {
      const { winner, changed } = mergeEntry(current, incoming)
      expect(changed).toBe(winner !== current)
    }), { numRuns: 1_000 })
  })
})

describe('liveness and tombstone collection', () => {
  const now = 100 * DAY

  it('serves an entry until it expires, never a tombstone', () => {
    expect(isLive(entry(v(now), false), now)).toBe(true)
    expect(isLive({ ...entry(v(now), false), expiresAtMs: now + 1 }, now)).toBe(true)
    expect(isLive({ ...entry(v(now), false), expiresAtMs: now }, now)).toBe(false)
    expect(isLive(entry(v(now), true), now)).toBe(false)
  })

  it('collects tombstones older than the grace period, by their version time', () => {
    expect(DEFAULT_TOMBSTONE_GRACE_MS).toBe(7 * DAY)
    const tomb = entry(v(now - DEFAULT_TOMBSTONE_GRACE_MS), true)
    expect(isCollectableTombstone(tomb, now)).toBe(false)
    expect(isCollectableTombstone(tomb, now + 1)).toBe(true)
    expect(isCollectableTombstone(entry(v(0), false), now)).toBe(false)
    expect(isCollectableTombstone(entry(v(now - 2 * DAY), true), now, DAY)).toBe(true)
    expect(isCollectableTombstone(entry(v(now - 2 * DAY), true), now, 3 * DAY)).toBe(false)
  })
})
