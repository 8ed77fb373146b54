import { describe, expect, it } from 'vitest'
import { ITEM_HASH_BYTES, itemHash } from '../../../../src/core/reconcile/item.js'
import { versionToBytes } from '../../../../src/core/cache/version.js'

describe('itemHash', () => {
  const version = versionToBytes({ ts: { wallMs: 1_700_000_000_000, counter: 3 }, origin: '12D3KooWA' })

  it('is a deterministic 16-byte digest of key and version', () => {
    const h = itemHash('k', version)
    expect(h).toBeInstanceOf(Uint8Array)
    expect(h.length).toBe(ITEM_HASH_BYTES)
    expect(h.buffer.byteLength).toBe(ITEM_HASH_BYTES)
    expect(Buffer.from(itemHash('k', version)).equals(h)).toBe(true)
  })

  it('differs by key and by version', () => {
    const other = versionToBytes({ ts: { wallMs: 1_700_000_000_000, counter: 4 }, origin: '12D3KooWA' })
    expect(Buffer.from(itemHash('k', version)).equals(itemHash('j', version))).toBe(false)
    expect(Buffer.from(itemHash('k', version)).equals(itemHash('k', other))).toBe(false)
  })

  it('length-prefixes the key, so the key/version split is unambiguous', () => {
    expect(Buffer.from(itemHash('ab', new Uint8Array([1]))).equals(itemHash('a', new Uint8Array([0x62, 1])))).toBe(false)
  })
})
