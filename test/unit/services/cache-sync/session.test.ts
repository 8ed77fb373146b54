import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { compareVersions } from '../../../../src/core/cache/version.js'
import { connect, contents, memoryNode, origin, seed, sign } from './nodes.js'
import type { Origin } from './nodes.js'
import type { FederationNode } from '../../../../src/node/federation-node.js'
import type { StoredEntry } from '../../../../src/services/cache/entry.js'

const started: FederationNode[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map(async n => { await n.stop(0) }))
})

async function pair (): Promise<[FederationNode, FederationNode]> {
  const [a, b] = await Promise.all([memoryNode('a'), memoryNode('b')])
  started.push(a, b)
  return [a, b]
}

/** What one key looks like on each side before the sync. */
type KeyCase =
  | { kind: 'onlyA' | 'onlyB' | 'shared', age: number, tombstone: boolean, by: number }
  | { kind: 'conflict', ageA: number, ageB: number, tombA: boolean, tombB: boolean, byA: number, byB: number }

const NOW = Date.now()

async function build (cases: Array<[string, KeyCase]>, origins: Origin[]): Promise<{ a: StoredEntry[], b: StoredEntry[], expected: Map<string, StoredEntry> }> {
  const a: StoredEntry[] = []
  const b: StoredEntry[] = []
  const expected = new Map<string, StoredEntry>()
  // Ages are seconds before now: well inside the tombstone horizon, never ahead of the clock.
  const at = (age: number): number => NOW - 1_000 - age * 1_000
  for (const [key, c] of cases) {
    if (c.kind === 'conflict') {
      const ea = await sign(origins[c.byA], { key, wallMs: at(c.ageA), tombstone: c.tombA, value: `a-${key}` })
      const eb = await sign(origins[c.byB], { key, wallMs: at(c.ageB), tombstone: c.tombB, value: `b-${key}` })
      a.push(ea)
      b.push(eb)
      expected.set(key, compareVersions(ea.version, eb.version) >= 0 ? ea : eb)
    } else {
      const e = await sign(origins[c.by], { key, wallMs: at(c.age), tombstone: c.tombstone })
      if (c.kind !== 'onlyB') a.push(e)
      if (c.kind !== 'onlyA') b.push(e)
      expected.set(key, e)
    }
  }
  return { a, b, expected }
}

function hex (m: Map<string, StoredEntry>): Map<string, string> {
  return new Map([...m].map(([k, e]) => [k, Buffer.from(e.wire).toString('hex')]))
}

async function syncAndCheck (cases: Array<[string, KeyCase]>, origins: Origin[]): Promise<void> {
  const [a, b] = await pair()
  const { a: ea, b: eb, expected } = await build(cases, origins)
  await Promise.all([seed(a, ea), seed(b, eb)])
  await connect(a, b)
  const want = hex(expected)
  await expect.poll(async () => contents(a), { timeout: 40_000, interval: 50 }).toEqual(want)
  await expect.poll(async () => contents(b), { timeout: 40_000, interval: 50 }).toEqual(want)
  // Settled: another session finds nothing to move.
  const again = await retryBusy(async () => a.libp2p.services.cacheSync.syncWith(b.peerId))
  expect(again.entriesSent + again.entriesReceived).toBe(0)
}

/**
 * Either side's on-connect session may still be closing: a second one is refused until it has,
 * here (SyncBusyError) or by the peer, which resets the stream.
 */
async function retryBusy<T> (fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn()
    } catch (err) {
      if (!['SyncBusyError', 'StreamResetError'].includes((err as Error).name) || i > 100) throw err
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }
}

const keyCase: fc.Arbitrary<KeyCase> = fc.oneof(
  fc.record({ kind: fc.constantFrom('onlyA' as const, 'onlyB' as const, 'shared' as const), age: fc.integer({ min: 0, max: 5 }), tombstone: fc.boolean(), by: fc.integer({ min: 0, max: 1 }) }),
  fc.record({ kind: fc.constant('conflict' as const), ageA: fc.integer({ min: 0, max: 5 }), ageB: fc.integer({ min: 0, max: 5 }), tombA: fc.boolean(), tombB: fc.boolean(), byA: fc.integer({ min: 0, max: 1 }), byB: fc.integer({ min: 0, max: 1 }) })
    // Equal versions name the same write: a conflict needs two versions.
    .filter(c => c.ageA !== c.ageB || c.byA !== c.byB)
)

describe('cache-sync sessions between two nodes over @libp2p/memory', () => {
  it('converge from arbitrary starting sets with tombstones and conflicting versions (property)', async () => {
    const origins = [await origin(), await origin()]
    await fc.assert(fc.asyncProperty(
      fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 6, unit: fc.constantFrom('a', 'b', 'c', 'é', '😀', '/', '0') }), keyCase), { maxLength: 60, selector: ([k]) => k }),
      async (cases) => {
        await syncAndCheck(cases, origins)
        await Promise.all(started.splice(0).map(async n => { await n.stop(0) }))
      }
    ), { numRuns: 12 })
  }, 180_000)

  it('converge when one version is held in two encodings (an origin signed two values under it): the larger signed bytes win on both sides', async () => {
    const [writer] = [await origin()]
    const wallMs = NOW - 5_000
    const x = await sign(writer, { key: 'twice', wallMs, value: 'x' })
    const y = await sign(writer, { key: 'twice', wallMs, value: 'y' })
    const [small, large] = Buffer.compare(Buffer.from(x.wire), Buffer.from(y.wire)) < 0 ? [x, y] : [y, x]
    const [a, b] = await pair()
    // Whichever side initiates, the larger encoding must travel to the side holding the smaller.
    await Promise.all([seed(a, [small]), seed(b, [large])])
    await connect(a, b)
    const want = hex(new Map([['twice', large]]))
    await expect.poll(async () => contents(a), { timeout: 40_000, interval: 50 }).toEqual(want)
    await expect.poll(async () => contents(b), { timeout: 40_000, interval: 50 }).toEqual(want)
    const again = await retryBusy(async () => a.libp2p.services.cacheSync.syncWith(b.peerId))
    expect(again.entriesSent + again.entriesReceived).toBe(0)
  }, 60_000)

  it.each([
    ['empty on both sides', 0, 0, 0, 0],
    ['one side empty', 0, 400, 0, 0],
    ['2,000 shared, 150 only on each side, 100 conflicting (a dozen rounds)', 2_000, 150, 150, 100],
    ['everything differs in version', 0, 0, 0, 600]
  ])('converges: %s', async (_name, shared, onlyA, onlyB, conflict) => {
    const origins = [await origin(), await origin()]
    const cases: Array<[string, KeyCase]> = []
    let i = 0
    const key = (): string => `k/${(i++ * 7919 % 100_003).toString(36)}`
    for (let n = 0; n < shared; n++) cases.push([key(), { kind: 'shared', age: n % 7, tombstone: n % 10 === 0, by: n % 2 }])
    for (let n = 0; n < onlyA; n++) cases.push([key(), { kind: 'onlyA', age: n % 5, tombstone: n % 4 === 0, by: 0 }])
    for (let n = 0; n < onlyB; n++) cases.push([key(), { kind: 'onlyB', age: n % 5, tombstone: n % 4 === 0, by: 1 }])
    for (let n = 0; n < conflict; n++) cases.push([key(), { kind: 'conflict', ageA: n % 3, ageB: (n + 1) % 3, tombA: n % 5 === 0, tombB: n % 7 === 0, byA: 0, byB: 1 }])
    await syncAndCheck(cases, origins)
  }, 60_000)
})
