import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ItemIndex } from '../../../../src/core/reconcile/item-index.js'
import { itemHash } from '../../../../src/core/reconcile/item.js'
import { Reconciler } from '../../../../src/core/reconcile/reconciler.js'
import { InvalidReconcileMessageError, ReconcileRoundLimitError } from '../../../../src/core/reconcile/errors.js'
import { arbHash, arbKey } from './arbitraries.js'
import { prng, randomBytes, runSession } from './sync-helpers.js'
import type { Item } from '../../../../src/core/reconcile/item.js'
import type { ReconcilerInit } from '../../../../src/core/reconcile/reconciler.js'

/** Which side holds a key: both the same item, one side only, or both with different versions. */
type Placement = 'shared' | 'a' | 'b' | 'differ'

interface Scenario {
  keys: Array<{ key: string, placement: Placement, hashA: Uint8Array, hashB: Uint8Array }>
}

const arbScenario: fc.Arbitrary<Scenario> = fc.record({
  keys: fc.uniqueArray(fc.record({
    key: arbKey,
    placement: fc.constantFrom<Placement>('shared', 'shared', 'shared', 'a', 'b', 'differ'),
    hashA: arbHash,
    hashB: arbHash
  }), { selector: k => k.key, maxLength: 300 })
})

/** Small settings, so that small sets still split, hash, bounce and hit the message cap. */
const arbInit: fc.Arbitrary<ReconcilerInit> = fc.record({
  branching: fc.integer({ min: 2, max: 6 }),
  itemThreshold: fc.integer({ min: 1, max: 6 }),
  extraRanges: fc.integer({ min: 0, max: 24 })
}).map(({ branching, itemThreshold, extraRanges }) => ({ branching, itemThreshold, maxRangesPerMessage: branching + 3 + extraRanges }))

function sides (s: Scenario): { a: ItemIndex, b: ItemIndex } {
  const a: Item[] = []
  const b: Item[] = []
  for (const { key, placement, hashA, hashB } of s.keys) {
    if (placement !== 'b') a.push({ key, hash: hashA })
    if (placement === 'shared') b.push({ key, hash: hashA })
    if (placement === 'b' || placement === 'differ') b.push({ key, hash: hashB })
  }
  return { a: new ItemIndex(a), b: new ItemIndex(b) }
}

/** Last-writer-wins stand-in: of two versions of a key, both sides keep the larger hash. */
function receive (into: ItemIndex, from: ItemIndex, keys: string[]): void {
  for (const key of keys) {
    const incoming = from.get(key) as Uint8Array
    const current = into.get(key)
    if (current === undefined || Buffer.compare(incoming, current) > 0) into.upsert(key, incoming)
  }
}

function contents (index: ItemIndex): Array<[string, string]> {
  return index.items('').map(({ key, hash }) => [key, Buffer.from(hash).toString('hex')])
}

/**
 * Messages a session may take: O(split depth) when replies fit in a message, plus O(n / room)
 * when the cap leaves room for only a few ranges per reply (the constants are generous).
 */
function roundBound (s: Scenario, init: ReconcilerInit): number {
  const n = s.keys.length + 1
  const depth = Math.ceil(Math.log(n) / Math.log(init.branching as number)) + 4
  const room = (init.maxRangesPerMessage as number) - (init.branching as number) - 2
  return 4 * depth + 8 * Math.ceil(n / room)
}

describe('Reconciler', () => {
  it('ends at once when both sides hold the same items', () => {
    const items = Array.from({ length: 1_000 }, (_, i) => ({ key: `k${i}`, hash: itemHash(`k${i}`, new Uint8Array()) }))
    const report = runSession(new ItemIndex(items), new ItemIndex(items))
    expect(report.messages).toBe(1)
    expect(report.bytes).toBeLessThan(30)
    expect(report.haveA).toEqual([])
    expect(report.haveB).toEqual([])
  })

  it('pushes everything to an empty peer, in either direction', () => {
    const items = Array.from({ length: 500 }, (_, i) => ({ key: `k${i}`, hash: itemHash(`k${i}`, new Uint8Array()) }))
    const fromFull = runSession(new ItemIndex(items), new ItemIndex())
    expect(fromFull.haveA.length).toBe(500)
    expect(fromFull.messages).toBe(2)
    const fromEmpty = runSession(new ItemIndex(), new ItemIndex(items))
    expect(fromEmpty.haveB.length).toBe(500)
    expect(fromEmpty.messages).toBe(1)
    expect(runSession(new ItemIndex(), new ItemIndex()).messages).toBe(1)
  })

  it('makes both sides equal, reporting exactly the differing keys, within bounded rounds', () => {
    fc.assert(fc.property(arbScenario, arbInit, (s, init) => {
      const { a, b } = sides(s)
      const report = runSession(a, b, init)

      // Each side pushes exactly the keys the other lacks or holds in another version, once.
      const expectA = s.keys.filter(k => k.placement === 'a' || k.placement === 'differ').map(k => k.key).sort()
      const expectB = s.keys.filter(k => k.placement === 'b' || k.placement === 'differ').map(k => k.key).sort()
      expect([...report.haveA].sort()).toEqual(expectA)
      expect([...report.haveB].sort()).toEqual(expectB)
      expect(report.maxRanges).toBeLessThanOrEqual(init.maxRangesPerMessage as number)
      expect(report.messages).toBeLessThanOrEqual(roundBound(s, init))

      const snapshotA = new ItemIndex(a.items(''))
      receive(a, b, report.haveB)
      receive(b, snapshotA, report.haveA)
      expect(contents(a)).toEqual(contents(b))
      // And a second session finds nothing to do.
      expect(runSession(a, b, init).messages).toBe(1)
    }), { numRuns: 1_000 })
  })

  it('converges through the tightest message cap, where replies must be cut short', () => {
    // With maxRangesPerMessage = branching + 3, a reply has room for one split and little else,
    // so most rounds end with the rest of the key space described in coarse groups.
    const arbLarge = fc.record({
      seed: fc.integer(),
      size: fc.integer({ min: 200, max: 2_000 }),
      branching: fc.integer({ min: 2, max: 8 }),
      itemThreshold: fc.integer({ min: 1, max: 8 }),
      extraRanges: fc.integer({ min: 0, max: 3 })
    })
    fc.assert(fc.property(arbLarge, ({ seed, size, branching, itemThreshold, extraRanges }) => {
      const random = prng(seed)
      const placements: Placement[] = ['shared', 'shared', 'a', 'b', 'differ']
      const s: Scenario = {
        keys: Array.from({ length: size }, (_, i) => ({
          key: `key/${Math.floor(random() * 1e9).toString(36)}/${i}`,
          placement: placements[Math.floor(random() * placements.length)],
          hashA: randomBytes(random, 16),
          hashB: randomBytes(random, 16)
        }))
      }
      const init = { branching, itemThreshold, maxRangesPerMessage: branching + 3 + extraRanges, maxRounds: 100_000 }
      const { a, b } = sides(s)
      const report = runSession(a, b, init)
      expect(report.maxRanges).toBeLessThanOrEqual(init.maxRangesPerMessage)
      expect(report.messages).toBeLessThanOrEqual(roundBound(s, init))
      expect(report.haveA.length + report.haveB.length).toBe(s.keys.filter(k => k.placement !== 'shared').length + s.keys.filter(k => k.placement === 'differ').length)
      const snapshotA = new ItemIndex(a.items(''))
      receive(a, b, report.haveB)
      receive(b, snapshotA, report.haveA)
      expect(contents(a)).toEqual(contents(b))
    }), { numRuns: 100 })
  })

  it('still converges when entries move while the session runs', () => {
    fc.assert(fc.property(arbScenario, arbInit, (s, init) => {
      const { a, b } = sides(s)
      const ra = new Reconciler(a, init)
      const rb = new Reconciler(b, init)
      let msg = ra.initiate()
      for (let turn = 1; ; turn = 1 - turn) {
        const [self, selfIndex, otherIndex] = turn === 1 ? [rb, b, a] : [ra, a, b]
        const { reply, have } = self.respond(msg)
        // The service pushes as it goes: the peer applies them before its next turn.
        receive(otherIndex, selfIndex, have)
        if (reply === undefined) break
        msg = reply
      }
      expect(contents(a)).toEqual(contents(b))
    }), { numRuns: 500 })
  })

  it('rejects a need range that answers no items range of ours, or whose bitfield does not fit', () => {
    const index = new ItemIndex([{ key: 'a', hash: new Uint8Array(16).fill(1) }])
    expect(() => new Reconciler(index).respond({ ranges: [{ mode: 'need', bitfield: new Uint8Array(1) }] })).toThrow(InvalidReconcileMessageError)
    const r = new Reconciler(index)
    const first = r.initiate()
    expect(first.ranges[0].mode).toBe('items')
    expect(() => r.respond({ ranges: [{ mode: 'need', bitfield: new Uint8Array(2) }] })).toThrow(/bitfield/)
  })

  it('fails with ReconcileRoundLimitError after maxRounds messages', () => {
    const a = new ItemIndex(Array.from({ length: 200 }, (_, i) => ({ key: `k${i}`, hash: itemHash(`k${i}`, new Uint8Array([1])) })))
    const b = new ItemIndex(Array.from({ length: 200 }, (_, i) => ({ key: `k${i}`, hash: itemHash(`k${i}`, new Uint8Array([2])) })))
    expect(() => runSession(a, b, { maxRounds: 2, itemThreshold: 2, branching: 2 })).toThrow(ReconcileRoundLimitError)
  })

  it('rejects settings that could not make progress', () => {
    const index = new ItemIndex()
    expect(() => new Reconciler(index, { branching: 1 })).toThrow(RangeError)
    expect(() => new Reconciler(index, { itemThreshold: 0 })).toThrow(RangeError)
    expect(() => new Reconciler(index, { branching: 16, maxRangesPerMessage: 18 })).toThrow(RangeError)
    expect(() => new Reconciler(index, { maxRangesPerMessage: 5_000 })).toThrow(RangeError)
    expect(() => new Reconciler(index, { maxRounds: 0 })).toThrow(RangeError)
  })
})
