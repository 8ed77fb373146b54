/**
 * Jepsen-style property of the replicated cache under clock skew: 3 to 5 real cache services
 * (intake, store, HLC, mesh time, re-dating) whose clocks are off by up to ±1 day, driven through
 * random interleavings of puts and deletes, gossip deliveries (reordered, duplicated, dropped),
 * anti-entropy between pairs, full resyncs, read-through fetches, capacity ads, partitions and
 * clock steps. Then the network heals and anti-entropy runs to quiescence, and the checker asks:
 *
 * - do all replicas hold exactly the same entries?
 * - is every acknowledged write the final value of its key, or superseded by a write its node had
 *   not seen when it wrote (so not one that happened before it) with a greater version?
 * - was every write, when acknowledged, what its node held, and above every version of the key
 *   the node had held that still existed anywhere (causality)?
 *
 * Runs in fake time (no sleeps). FEDMESH_PROPERTY_RUNS sets the number of interleavings,
 * FEDMESH_PROPERTY_SEED replays a failure (the seed is printed with it).
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DAY, HOUR, MINUTE, SECOND } from '../../../../src/util/time.js'
import { identity } from '../../../helpers/unit-cache.js'
import { Mesh, vkey } from './replicas.js'
import type { Identity } from '../../../helpers/unit-cache.js'
import type { Version } from '../../../../src/core/cache/version.js'

const RUNS = Number(process.env.FEDMESH_PROPERTY_RUNS ?? 300)
const SEED = process.env.FEDMESH_PROPERTY_SEED != null ? Number(process.env.FEDMESH_PROPERTY_SEED) : (Date.now() ^ Math.floor(Math.random() * 2 ** 30)) >>> 0
const KEYS = ['k0', 'k1', 'k2']
const MAX_NODES = 5
const QUIESCENCE_ROUNDS = 60

type Op =
  | { kind: 'put' | 'del' | 'get', node: number, key: number }
  | { kind: 'deliver', pick: number, duplicate: boolean }
  | { kind: 'drop', pick: number }
  | { kind: 'sync' | 'resync', a: number, b: number }
  | { kind: 'ads' }
  | { kind: 'advance', ms: number }
  | { kind: 'partition', groups: number[] }
  | { kind: 'heal' }
  | { kind: 'step-clock', node: number, skewMs: number }

/** Clock errors: none, NTP-sized, around the 60 s bound, a day either way, anything within a day. */
const arbSkew = fc.oneof(
  fc.constant(0),
  fc.integer({ min: -20 * SECOND, max: 20 * SECOND }),
  fc.integer({ min: 20 * SECOND, max: 2 * MINUTE }).chain(v => fc.constantFrom(v, -v)),
  fc.constantFrom(DAY, -DAY),
  fc.integer({ min: -DAY, max: DAY })
)
const node = fc.nat(MAX_NODES - 1)
const groups = fc.array(fc.nat(2), { minLength: MAX_NODES, maxLength: MAX_NODES })

const arbOp: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('put' as const), node, key: fc.nat(KEYS.length - 1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('del' as const), node, key: fc.nat(KEYS.length - 1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('get' as const), node, key: fc.nat(KEYS.length - 1) }) },
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat(), duplicate: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('drop' as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('sync' as const), a: node, b: node }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('resync' as const), a: node, b: node }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'ads' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 5 * SECOND }), fc.integer({ min: 0, max: 10 * MINUTE }), fc.constant(2 * HOUR)) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('partition' as const), groups }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'heal' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('step-clock' as const), node, skewMs: arbSkew }) }
)

const arbScenario = fc.record({
  nodes: fc.integer({ min: 3, max: MAX_NODES }),
  skews: fc.array(arbSkew, { minLength: MAX_NODES, maxLength: MAX_NODES }),
  groups,
  ops: fc.array(arbOp, { minLength: 10, maxLength: 60 }),
  noiseSeed: fc.integer()
})
type Scenario = typeof arbScenario extends fc.Arbitrary<infer S> ? S : never

/** How far a peer's clock reading may be off (transit, scheduling): ±50 ms. */
function noiseSource (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = Math.imul(s ^ (s >>> 15), 1 | s)
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t)
    return ((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) - 0.5) * 100
  }
}

async function step (mesh: Mesh, op: Op, n: number, noise: () => number): Promise<void> {
  switch (op.kind) {
    case 'put': case 'del': return mesh.write(op.node % n, KEYS[op.key], op.kind === 'del')
    case 'get': return mesh.get(op.node % n, KEYS[op.key])
    case 'deliver': return mesh.deliver(op.pick, op.duplicate)
    case 'drop': return mesh.drop(op.pick)
    case 'sync': case 'resync': return mesh.sync(op.a % n, op.b % n, op.kind)
    case 'ads': return mesh.ads(noise)
    case 'advance': mesh.t += op.ms; return
    case 'partition': mesh.groups = op.groups.slice(0, n); return
    case 'heal': mesh.groups = mesh.groups.map(() => 0); return
    case 'step-clock': mesh.replicas[op.node % n].skewMs = op.skewMs
  }
}

/**
 * Heal, then ads, gossip and anti-entropy between every pair, until every replica holds the same.
 * Rounds are a minute apart at first (a version a little past the peers' window is taken once
 * time catches up), then an hour: versions that nodes agreeing on a wrong clock shared among
 * themselves reach the others when their clocks reach those versions (up to 2 days here).
 */
async function quiesce (mesh: Mesh, noise: () => number): Promise<{ rounds: number, waitedMs: number }> {
  mesh.groups = mesh.groups.map(() => 0)
  const start = mesh.t
  for (let round = 1; round <= QUIESCENCE_ROUNDS; round++) {
    await mesh.ads(noise)
    while (mesh.pool.length > 0) await mesh.deliver(0)
    for (let a = 0; a < mesh.replicas.length; a++) {
      for (let b = a + 1; b < mesh.replicas.length; b++) await mesh.sync(a, b)
    }
    const states = await Promise.all(mesh.replicas.map(async (_, i) => JSON.stringify([...(await mesh.contents(i))])))
    if (states.every(x => x === states[0])) return { rounds: round, waitedMs: mesh.t - start }
    mesh.t += round < 5 ? MINUTE : HOUR
  }
  return { rounds: QUIESCENCE_ROUNDS, waitedMs: mesh.t - start }
}

interface Verdict { converged: boolean, lost: string[], violations: string[] }

async function check (mesh: Mesh): Promise<Verdict> {
  const states = await Promise.all(mesh.replicas.map(async (_, i) => mesh.contents(i)))
  const first = JSON.stringify([...states[0]].sort())
  const converged = states.every(s => JSON.stringify([...s].sort()) === first)
  const final = new Map<string, Version>()
  for await (const e of mesh.replicas[0].service.store.entries()) final.set(e.key, e.version)
  const lost: string[] = []
  for (const w of mesh.acked) {
    const f = final.get(w.key)
    const finalWrite = f != null ? mesh.writeOf.get(vkey(f)) : undefined
    if (finalWrite === w.id) continue
    // Superseded is fine only by writes its node had not seen when it wrote (so not before it),
    // wherever the supersession happened; gone without being superseded is a loss.
    const where = `${w.id} (${w.key} at node ${w.node})`
    const by = [...mesh.replacedBy.get(w.id) ?? []]
    const earlier = by.filter(x => w.seenBefore.has(x))
    if (f == null || finalWrite == null) lost.push(`${where}: the key is held nowhere, or in a version no write made`)
    else if (w.seenBefore.has(finalWrite)) lost.push(`${where}: the final value is ${finalWrite}, which node ${w.node} had seen before writing`)
    else if (by.length === 0) lost.push(`${where}: gone without being superseded anywhere`)
    else if (earlier.length > 0) lost.push(`${where}: superseded by ${earlier.join(', ')}, which node ${w.node} had seen before writing`)
  }
  return { converged, lost, violations: mesh.violations }
}

describe('replicated cache under clock skew (property, fake time)', () => {
  const identities: Identity[] = []
  const totals = { interleavings: 0, nodes: 0, acked: 0, refused: 0, redated: 0, delivered: 0, synced: 0, fetched: 0, lost: 0, rounds: 0, waitedMs: 0, waited: 0 }

  beforeAll(async () => {
    for (let i = 0; i < MAX_NODES; i++) identities.push(await identity())
  })

  afterAll(() => {
    console.info(`[skew property] seed ${SEED}: ${totals.interleavings} interleavings of 3-${MAX_NODES} replicas (clocks off by up to ±1 day): ` +
      `${totals.acked} writes acknowledged, ${totals.refused} refused for clock skew, ${totals.redated} re-dated, ${totals.delivered} gossip deliveries, ` +
      `${totals.synced} entries pushed by anti-entropy, ${totals.fetched} read-through fetches; converged after ${(totals.rounds / Math.max(1, totals.interleavings)).toFixed(1)} rounds on average ` +
      `(${totals.waited} interleavings waited for time to reach versions shared among nodes that agreed on a wrong clock, ${(totals.waitedMs / HOUR / Math.max(1, totals.waited)).toFixed(1)} h on average); lost acknowledged writes: ${totals.lost}`)
  })

  it('replicas converge, no acknowledged write is lost, and every write is above what its node held', async () => {
    try {
      await fc.assert(fc.asyncProperty(arbScenario, async (s: Scenario) => {
        const noise = noiseSource(s.noiseSeed)
        const mesh = await Mesh.create(identities.slice(0, s.nodes), s.skews.slice(0, s.nodes), s.groups.slice(0, s.nodes))
        try {
          for (const op of s.ops) await step(mesh, op, s.nodes, noise)
          const { rounds, waitedMs } = await quiesce(mesh, noise)
          const verdict = await check(mesh)
          totals.interleavings++
          totals.nodes += s.nodes
          totals.rounds += rounds
          if (waitedMs > 5 * MINUTE) {
            totals.waited++
            totals.waitedMs += waitedMs
          }
          for (const k of ['acked', 'refused', 'redated', 'delivered', 'synced', 'fetched'] as const) totals[k] += mesh.stats[k]
          totals.lost += verdict.lost.length
          expect(verdict.violations).toEqual([])
          expect(verdict.converged, 'replicas hold different entries after quiescence').toBe(true)
          expect(verdict.lost).toEqual([])
        } finally {
          await mesh.close()
        }
      }), { numRuns: RUNS, seed: SEED, endOnFailure: false })
    } catch (err) {
      console.error(`[skew property] failed with seed ${SEED}: replay with FEDMESH_PROPERTY_SEED=${SEED}`)
      throw err
    }
  }, 240_000)
})
