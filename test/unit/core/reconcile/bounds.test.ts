import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { boundBetween, compareKeys } from '../../../../src/core/reconcile/bounds.js'
import { arbKey } from './arbitraries.js'

describe('bounds', () => {
  it('compares keys as JavaScript strings', () => {
    expect(compareKeys('a', 'b')).toBe(-1)
    expect(compareKeys('b', 'a')).toBe(1)
    expect(compareKeys('a', 'a')).toBe(0)
    expect(compareKeys('a', 'ab')).toBe(-1)
  })

  it('picks the shortest separating prefix', () => {
    expect(boundBetween('apple', 'apricot')).toBe('apr')
    expect(boundBetween('ab', 'abc')).toBe('abc')
    expect(boundBetween('', 'x')).toBe('x')
    expect(boundBetween('task/0a1', 'task/0b')).toBe('task/0b')
  })

  it('never cuts a surrogate pair', () => {
    expect(boundBetween('a', '😀x')).toBe('😀')
    expect(boundBetween('😀', '😁')).toBe('😁')
  })

  it('separates any two keys with a well-formed prefix of the larger', () => {
    fc.assert(fc.property(arbKey, arbKey, (x, y) => {
      fc.pre(x !== y)
      const [a, b] = x < y ? [x, y] : [y, x]
      const p = boundBetween(a, b)
      expect(a < p).toBe(true)
      expect(p <= b).toBe(true)
      expect(b.startsWith(p)).toBe(true)
      expect(p.isWellFormed()).toBe(true)
    }), { numRuns: 10_000 })
  })
})
