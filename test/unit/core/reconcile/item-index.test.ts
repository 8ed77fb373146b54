import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ItemIndex } from '../../../../src/core/reconcile/item-index.js'
import { InvalidItemError } from '../../../../src/core/reconcile/errors.js'
import { arbHash, arbKey } from './arbitraries.js'

function naiveFingerprint (model: Map<string, Uint8Array>, lower: string, upper: string | undefined): { xor: number[], count: number } {
  const xor = new Array<number>(16).fill(0)
  let count = 0
  for (const [key, hash] of model) {
    if (key >= lower && (upper === undefined || key < upper)) {
      count++
      hash.forEach((b, i) => { xor[i] ^= b })
    }
  }
  return { xor, count }
}

type Op = { kind: 'upsert', key: string, hash: Uint8Array } | { kind: 'delete', key: string } | { kind: 'query', lower: string, upper: string | undefined }

const arbOp: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('upsert' as const), key: arbKey, hash: arbHash }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: arbKey }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('query' as const), lower: arbKey, upper: fc.option(arbKey, { nil: undefined }) }) }
)

describe('ItemIndex', () => {
  it('answers fingerprints, counts and items like a naive scan, through any mix of writes', () => {
    fc.assert(fc.property(fc.array(fc.record({ key: arbKey, hash: arbHash }), { maxLength: 40 }), fc.array(arbOp, { maxLength: 60 }), (initial, ops) => {
      const index = new ItemIndex(initial)
      const model = new Map<string, Uint8Array>()
      for (const { key, hash } of initial) model.set(key, hash)
      for (const op of ops) {
        if (op.kind === 'upsert') {
          index.upsert(op.key, op.hash)
          model.set(op.key, op.hash)
        } else if (op.kind === 'delete') {
          expect(index.delete(op.key)).toBe(model.delete(op.key))
        } else {
          const fp = index.fingerprint(op.lower, op.upper)
          expect({ xor: [...fp.xor], count: fp.count }).toEqual(naiveFingerprint(model, op.lower, op.upper))
          const expected = [...model.keys()].filter(k => k >= op.lower && (op.upper === undefined || k < op.upper)).sort()
          expect(index.items(op.lower, op.upper).map(i => i.key)).toEqual(expected)
        }
        // Lookups see pending writes too.
        const probe = op.kind === 'query' ? op.lower : op.key
        expect(index.has(probe)).toBe(model.has(probe))
        const got = index.get(probe)
        expect(got === undefined ? undefined : [...got]).toEqual(model.has(probe) ? [...(model.get(probe) as Uint8Array)] : undefined)
      }
      expect(index.size).toBe(model.size)
      const keys = [...model.keys()].sort()
      keys.forEach((key, i) => { expect(index.keyAt(i)).toBe(key) })
      expect(index.items('').map(i => [i.key, [...i.hash]])).toEqual(keys.map(k => [k, [...(model.get(k) as Uint8Array)]]))
    }), { numRuns: 1_000 })
  })

  it('keeps the last hash of a key given twice, sorted input or not', () => {
    const h = (b: number): Uint8Array => new Uint8Array(16).fill(b)
    for (const items of [[{ key: 'a', hash: h(1) }, { key: 'a', hash: h(2) }], [{ key: 'b', hash: h(1) }, { key: 'a', hash: h(3) }, { key: 'b', hash: h(2) }]]) {
      const index = new ItemIndex(items)
      expect(index.get(items[items.length - 1].key)).toEqual(items[items.length - 1].hash)
      expect(index.size).toBe(new Set(items.map(i => i.key)).size)
    }
  })

  it('copies hashes, so a caller reusing its buffer does not corrupt the index', () => {
    const hash = new Uint8Array(16).fill(7)
    const index = new ItemIndex([{ key: 'a', hash }])
    index.upsert('b', hash)
    hash.fill(0)
    expect(index.get('a')).toEqual(new Uint8Array(16).fill(7))
    expect(index.get('b')).toEqual(new Uint8Array(16).fill(7))
  })

  it('rejects malformed items', () => {
    const index = new ItemIndex()
    expect(() => index.upsert('a', new Uint8Array(15))).toThrow(InvalidItemError)
    expect(() => index.upsert('\ud800', new Uint8Array(16))).toThrow(InvalidItemError)
    expect(() => new ItemIndex([{ key: 'a', hash: new Uint8Array(17) }])).toThrow(InvalidItemError)
  })

  it('has an all-zero fingerprint for an empty range', () => {
    const index = new ItemIndex([{ key: 'm', hash: new Uint8Array(16).fill(9) }])
    expect(index.fingerprint('n')).toEqual({ xor: new Uint8Array(16), count: 0 })
    expect(index.fingerprint('z', 'a')).toEqual({ xor: new Uint8Array(16), count: 0 })
    expect(index.fingerprint('').count).toBe(1)
  })
})
