import { describe, expect, it } from 'vitest'
import { withoutStale } from '../../../../src/services/cache-sync/stale-filter.js'
import { identity, signed } from '../../../helpers/unit-cache.js'
import type { StoredEntry } from '../../../../src/services/cache/entry.js'

const NOW = 1_750_000_000_000

describe('withoutStale (the pre-verification filter of anti-entropy)', () => {
  const holding = (held: StoredEntry) => async (key: string) => key === held.key ? { entry: held } : undefined

  it('drops older versions and keeps newer ones and unknown keys', async () => {
    const w = await identity()
    const held = await signed(w, { key: 'k', value: 'held', wallMs: NOW })
    const older = await signed(w, { key: 'k', value: 'old', wallMs: NOW - 1 })
    const newer = await signed(w, { key: 'k', value: 'new', wallMs: NOW + 1 })
    const other = await signed(w, { key: 'j', wallMs: NOW - 1 })
    expect(await withoutStale([older.wire, newer.wire, other.wire, held.wire], holding(held))).toEqual([newer.wire, other.wire])
  })

  it('one version in two encodings: keeps the larger signed bytes (the store\'s tie rule), drops the smaller and the same', async () => {
    const w = await identity()
    const x = await signed(w, { key: 'k', value: 'x', wallMs: NOW })
    const y = await signed(w, { key: 'k', value: 'y', wallMs: NOW })
    const [small, large] = Buffer.compare(Buffer.from(x.wire), Buffer.from(y.wire)) < 0 ? [x, y] : [y, x]
    expect(await withoutStale([large.wire], holding(small))).toEqual([large.wire])
    expect(await withoutStale([small.wire, large.wire], holding(large))).toEqual([])
  })

  it('the same hlc from two origins: the greater origin (as a string) wins', async () => {
    const [p, q] = [await identity(), await identity()]
    const [lo, hi] = p.peerId.toString() < q.peerId.toString() ? [p, q] : [q, p]
    const fromLo = await signed(lo, { key: 'k', wallMs: NOW })
    const fromHi = await signed(hi, { key: 'k', wallMs: NOW })
    expect(await withoutStale([fromHi.wire], holding(fromLo))).toEqual([fromHi.wire])
    expect(await withoutStale([fromLo.wire], holding(fromHi))).toEqual([])
  })
})
