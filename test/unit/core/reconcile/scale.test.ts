/**
 * Reconciliation at cache scale: 100,000 shared items plus divergent ones, generated from a
 * fixed seed. Counts rounds and bytes (never time) and prints them with console.info.
 */
import { describe, expect, it } from 'vitest'
import { ItemIndex } from '../../../../src/core/reconcile/item-index.js'
import { prng, randomBytes, runSession } from './sync-helpers.js'

/** Bytes an entry carries besides its key: ~200-byte value, 64-byte signature, version (8 + 52-char peer id). */
const ENTRY_BODY_BYTES = 200 + 64 + 8 + 52

interface Divergence {
  shared: number
  /** Divergent keys, split evenly: only on A, only on B, on both in different versions. */
  divergent: number
  seed: number
}

interface Built {
  a: ItemIndex
  b: ItemIndex
  /** Keys A must send (only on A, or in another version on B), and B must send. */
  expectA: number
  expectB: number
  divergentKeyHashBytes: number
  /** The divergent entries themselves (key + body), each counted once. */
  divergentEntryBytes: number
}

function build ({ shared, divergent, seed }: Divergence): Built {
  const random = prng(seed)
  // Cache keys such as "task/3f9a0c…": a common prefix and 20 hex digits.
  const key = (): string => 'task/' + Array.from(randomBytes(random, 10), b => b.toString(16).padStart(2, '0')).join('')
  const a = new ItemIndex()
  const b = new ItemIndex()
  for (let i = 0; i < shared; i++) {
    const k = key()
    const h = randomBytes(random, 16)
    a.upsert(k, h)
    b.upsert(k, h)
  }
  let divergentKeyHashBytes = 0
  let divergentEntryBytes = 0
  let expectA = 0
  let expectB = 0
  for (let i = 0; i < divergent; i++) {
    const k = key()
    divergentKeyHashBytes += k.length + 16
    divergentEntryBytes += k.length + ENTRY_BODY_BYTES
    // i % 3: 0 only on A, 1 only on B, 2 on both in different versions.
    if (i % 3 !== 1) { a.upsert(k, randomBytes(random, 16)); expectA++ }
    if (i % 3 !== 0) { b.upsert(k, randomBytes(random, 16)); expectB++ }
  }
  return { a, b, expectA, expectB, divergentKeyHashBytes, divergentEntryBytes }
}

function run (d: Divergence): { bytes: number, divergentEntryBytes: number } {
  const { a, b, expectA, expectB, divergentKeyHashBytes, divergentEntryBytes } = build(d)
  const report = runSession(a, b)
  const moved = report.haveA.length + report.haveB.length
  const movedBytes = [...report.haveA, ...report.haveB].reduce((sum, k) => sum + k.length + ENTRY_BODY_BYTES, 0)
  console.info(JSON.stringify({
    shared: d.shared,
    divergent: d.divergent,
    messages: report.messages,
    largestMessageRanges: report.maxRanges,
    protocolBytes: report.bytes,
    divergentKeyHashBytes,
    protocolPerDivergentKeyHash: +(report.bytes / divergentKeyHashBytes).toFixed(2),
    divergentEntryBytes,
    protocolPerDivergentEntryBytes: +(report.bytes / divergentEntryBytes).toFixed(2),
    entriesMoved: moved,
    entryBytesMoved: movedBytes,
    protocolPerMovedEntryBytes: +(report.bytes / movedBytes).toFixed(2)
  }))

  // Every difference found, each once: A-only and B-only keys one way, differing versions both.
  expect(new Set(report.haveA).size).toBe(expectA)
  expect(new Set(report.haveB).size).toBe(expectB)
  expect(moved).toBe(expectA + expectB)
  return { bytes: report.bytes, divergentEntryBytes }
}

describe('reconciliation at scale (seeded, not timed)', () => {
  it('100,000 shared + 10,000 divergent items: the protocol costs less than the divergent entries', () => {
    const { bytes, divergentEntryBytes } = run({ shared: 100_000, divergent: 10_000, seed: 42 })
    expect(bytes).toBeLessThanOrEqual(divergentEntryBytes)
  })

  it('100,000 shared + 100 or 1 divergent items: bytes grow with the differences, not the cache', () => {
    // Range-based reconciliation costs O(d * branching * log_branching(n / itemThreshold))
    // fingerprints (~40 bytes each here) for d scattered differences among n items.
    const fingerprintsPerDifference = 16 * Math.ceil(Math.log(110_000 / 32) / Math.log(16))
    for (const [divergent, seed] of [[100, 7], [1, 9]]) {
      const { bytes } = run({ shared: 100_000, divergent, seed })
      expect(bytes).toBeLessThanOrEqual(divergent * fingerprintsPerDifference * 40 + 1_000)
    }
  })
})
