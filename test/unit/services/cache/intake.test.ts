import { defaultLogger } from '@libp2p/logger'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { cacheTime } from '../../../../src/core/cache/skew.js'
import { HybridLogicalClock } from '../../../../src/core/hlc.js'
import { MeshTime } from '../../../../src/core/mesh-time.js'
import { CacheStore } from '../../../../src/services/cache/cache-store.js'
import { DEFAULT_MAX_VALUE_BYTES } from '../../../../src/services/cache/entry.js'
import { CacheIntake, RefusalReason } from '../../../../src/services/cache/intake.js'
import { FedStore } from '../../../../src/store/store.js'
import { CacheWriteRefusedError, ClockSkewError } from '../../../../src/util/errors.js'
import { DAY, SECOND } from '../../../../src/util/time.js'
import { identity, signed, utf8 } from '../../../helpers/unit-cache.js'
import type { CacheAuthorizer, IntakeContext, IntakePath, IntakeResult, IntakeTime } from '../../../../src/services/cache/intake.js'
import type { Identity } from '../../../helpers/unit-cache.js'
import type { PeerId } from '@libp2p/interface'

const NOW = 1_750_000_000_000
let self: Identity
let alice: Identity
let bob: Identity
const stores: FedStore[] = []

beforeAll(async () => {
  [self, alice, bob] = await Promise.all([identity(), identity(), identity()])
})

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

interface Setup {
  intake: CacheIntake
  store: CacheStore
  hlc: HybridLogicalClock
  mesh: MeshTime
  asked: Array<{ key: string, ctx: IntakeContext }>
  counted: Array<[IntakePath, IntakeResult['outcome']]>
  refusedReasons: string[]
  blamed: Array<[string, PeerId]>
}

/** A real intake over a real store and clock; `skewMs` is this node's clock error. */
async function setup (authorize?: CacheAuthorizer, skewMs = 0, me: Identity = self): Promise<Setup> {
  const fed = await FedStore.memory()
  stores.push(fed)
  const wall = { now: () => NOW + skewMs }
  const mesh = new MeshTime({ wall, monotonic: { now: () => 0 } })
  const time = (): IntakeTime => {
    const view = mesh.view()
    return { view, time: cacheTime(view, { maxDriftMs: 60 * SECOND, maxCorrectionMs: mesh.maxCorrectionMs }) }
  }
  const hlc = new HybridLogicalClock({ now: () => time().time.stampFromMs }, { reference: { now: () => time().time.nowMs } })
  const store = new CacheStore({ db: fed.sublevel('cache'), meta: fed.sublevel('meta'), clock: { now: () => time().time.nowMs } })
  const s: Setup = { store, hlc, mesh, asked: [], counted: [], refusedReasons: [], blamed: [] } as any
  s.intake = new CacheIntake({
    store,
    hlc,
    time,
    maxValueBytes: DEFAULT_MAX_VALUE_BYTES,
    peerId: me.peerId,
    privateKey: me.key,
    authorize: authorize == null
      ? undefined
      : (entry, ctx) => {
          s.asked.push({ key: entry.key, ctx })
          return authorize(entry, ctx)
        },
    onForged: (peer) => { s.blamed.push(['forged', peer]) },
    onInvalid: (peer) => { s.blamed.push(['invalid', peer]) },
    counters: { outcome: (path, outcome) => { s.counted.push([path, outcome]) }, refused: (reason) => { s.refusedReasons.push(reason) } },
    log: defaultLogger().forComponent('test:intake')
  })
  return s
}

/** Two peers' clocks at the true time: a majority this node measures its own against. */
function hearPeers (s: Setup): void {
  s.mesh.record(alice.peerId.toString(), NOW)
  s.mesh.record(bob.peerId.toString(), NOW)
}

const value = async (s: Setup, key: string): Promise<string | undefined> => {
  const e = (await s.store.lookup(key))?.entry
  return e == null ? undefined : utf8(e.value)
}

describe('CacheIntake', () => {
  it('outcomes are typed: accepted, stale on re-delivery, refused with a reason', async () => {
    const s = await setup()
    const e = await signed(alice, { key: 'k', value: 'v', wallMs: NOW - SECOND })
    expect((await s.intake.receive(e.wire, { path: 'gossip', from: alice.peerId, publisher: alice.peerId })).outcome).toBe('accepted')
    expect((await s.intake.receive(e.wire, { path: 'sync', from: bob.peerId })).outcome).toBe('stale')
    const cases: Array<[Uint8Array, Parameters<CacheIntake['receive']>[1], string, boolean]> = [
      [new Uint8Array([1, 2, 3]), { path: 'sync', from: bob.peerId }, RefusalReason.Invalid, true],
      [(await signed(alice, { key: 'x', wallMs: NOW })).wire.map((b, i, a) => i === a.length - 1 ? b ^ 1 : b), { path: 'sync', from: bob.peerId }, RefusalReason.Forged, true],
      [(await signed(alice, { key: 'x', wallMs: NOW })).wire, { path: 'gossip', from: bob.peerId, publisher: bob.peerId }, RefusalReason.NotOrigin, true],
      [(await signed(alice, { key: 'other', wallMs: NOW })).wire, { path: 'fetch', from: bob.peerId, expectedKey: 'asked' }, RefusalReason.WrongKey, true],
      [(await signed(alice, { key: 'x', wallMs: NOW + DAY })).wire, { path: 'fetch', from: bob.peerId, expectedKey: 'x' }, RefusalReason.ClockSkew, false],
      [(await signed(alice, { key: 'old', wallMs: NOW - 8 * DAY })).wire, { path: 'resync', from: bob.peerId }, RefusalReason.BeyondHorizon, false]
    ]
    for (const [wire, ctx, reason, penalize] of cases) {
      const r = await s.intake.receive(wire, ctx)
      expect(r).toMatchObject({ outcome: 'refused', refusal: { reason, penalize } })
    }
    expect(s.intake.refusals(bob.peerId)).toEqual({ invalid: 1, forged: 1, 'not-origin': 1, 'wrong-key': 1, 'clock-skew': 1, 'beyond-horizon': 1 })
    // Blame goes to the sender, and only where it is at fault.
    expect(s.blamed.map(([what]) => what)).toEqual(['invalid', 'forged', 'forged', 'invalid'])
    expect(s.counted).toContainEqual(['fetch', 'refused'])
    expect(s.counted).toContainEqual(['gossip', 'accepted'])
    expect(s.refusedReasons).toContain('clock-skew')
    expect(await value(s, 'x')).toBeUndefined()
  })

  it('the fetch path applies the skew bound and the clock: a local write after reading a peer\'s entry supersedes it', async () => {
    const s = await setup()
    const fetched = await signed(alice, { key: 'k', value: 'theirs', wallMs: NOW + 50 * SECOND, counter: 9 })
    expect((await s.intake.receive(fetched.wire, { path: 'fetch', from: alice.peerId, expectedKey: 'k' })).outcome).toBe('accepted')
    expect(s.hlc.peek()).toEqual({ wallMs: NOW + 50 * SECOND, counter: 10 })
    const { entry } = await s.intake.write({ key: 'k', value: new TextEncoder().encode('mine'), ttlSeconds: 0, tombstone: false })
    expect(entry.version.ts).toEqual({ wallMs: NOW + 50 * SECOND, counter: 11 })
    expect(await value(s, 'k')).toBe('mine')
  })

  it('a local write supersedes what is held even when the clock never saw it (stored around the intake)', async () => {
    const s = await setup()
    await s.store.apply(await signed(alice, { key: 'k', value: 'theirs', wallMs: NOW + 20 * SECOND }))
    const { entry } = await s.intake.write({ key: 'k', value: new TextEncoder().encode('mine'), ttlSeconds: 0, tombstone: false })
    expect(entry.version.ts.wallMs).toBe(NOW + 20 * SECOND)
    expect(await value(s, 'k')).toBe('mine')
  })

  it('alone, a write is acknowledged and stored unshared; with peers\' clocks, one the mesh would refuse is not acknowledged', async () => {
    const s = await setup(undefined, DAY)
    const alone = await s.intake.write({ key: 'k', value: new TextEncoder().encode('alone'), ttlSeconds: 0, tombstone: false })
    expect(alone.shared).toBe(false)
    expect(await s.store.lookupShared('k')).toBeUndefined()
    expect(s.store.index.has('k')).toBe(false)
    hearPeers(s)
    // The clock is still a day ahead (the unshared version): refused until settled (settle.ts).
    await expect(s.intake.write({ key: 'j', value: new Uint8Array(0), ttlSeconds: 0, tombstone: true })).rejects.toThrow(ClockSkewError)
    expect(await s.store.lookup('j')).toBeUndefined()
    expect(s.counted.at(-1)).toEqual(['local', 'refused'])
  })

  describe('the authorization hook (a fake authorizer)', () => {
    const deny: CacheAuthorizer = (entry, _ctx) => {
      if (entry.key.startsWith('@alice/') && entry.version.origin !== alice.peerId.toString()) return { reason: 'not-owner', penalize: true }
      if (utf8(entry.value).length > 10) return { reason: 'quota', penalize: false }
      return undefined
    }

    it('runs after the signature and skew checks, on every remote path, with the path and the sending peer', async () => {
      const s = await setup(deny)
      const ok = await signed(alice, { key: 'shared', value: 'v', wallMs: NOW })
      for (const path of ['gossip', 'sync', 'resync', 'fetch'] as const) {
        await s.intake.receive(ok.wire, { path, from: alice.peerId, publisher: path === 'gossip' ? alice.peerId : undefined, expectedKey: path === 'fetch' ? 'shared' : undefined })
      }
      expect(s.asked.map(a => [a.ctx.path, a.ctx.from?.toString()])).toEqual(['gossip', 'sync', 'resync', 'fetch'].map(p => [p, alice.peerId.toString()]))
      // Forged and future-dated entries never reach it.
      await s.intake.receive(ok.wire.map((b, i, a) => i === a.length - 1 ? b ^ 1 : b), { path: 'sync', from: bob.peerId })
      await s.intake.receive((await signed(bob, { key: 'shared', wallMs: NOW + DAY })).wire, { path: 'sync', from: bob.peerId })
      expect(s.asked).toHaveLength(4)
    })

    it('refuses before anything is stored (the clock has moved past the entry: peers may hold it); counts per reason and per sender; blames only when asked', async () => {
      const s = await setup(deny)
      const squat = await signed(bob, { key: '@alice/profile', value: 'bob was here', wallMs: NOW + 30 * SECOND })
      const big = await signed(bob, { key: 'big', value: 'x'.repeat(100), wallMs: NOW + 40 * SECOND })
      expect(await s.intake.receive(squat.wire, { path: 'gossip', from: bob.peerId, publisher: bob.peerId })).toMatchObject({ outcome: 'refused', refusal: { reason: 'not-owner', penalize: true } })
      expect(await s.intake.receive(big.wire, { path: 'sync', from: bob.peerId })).toMatchObject({ outcome: 'refused', refusal: { reason: 'quota', penalize: false } })
      expect(await s.intake.receive(big.wire, { path: 'fetch', from: bob.peerId, expectedKey: 'big' })).toMatchObject({ outcome: 'refused' })
      expect(s.hlc.peek().wallMs).toBe(NOW + 40 * SECOND)
      expect(s.intake.floor.wallMs).toBe(NOW + 40 * SECOND)
      expect(await s.store.lookup('@alice/profile')).toBeUndefined()
      expect(await s.store.lookup('big')).toBeUndefined()
      expect(s.intake.refusals(bob.peerId)).toEqual({ 'not-owner': 1, quota: 2 })
      expect(s.intake.refusals(alice.peerId)).toEqual({})
      expect(s.blamed).toEqual([['invalid', bob.peerId]])
      expect(s.refusedReasons).toEqual(['not-owner', 'quota', 'quota'])
    })

    it('a write made after refusing a peer\'s entry by policy beats that entry where it was accepted (no divergence)', async () => {
      // Node A refuses bob's entries (a quota, a revoked role its peers have not heard of yet);
      // node B accepts them. Bob's clock is 20 s ahead, inside the skew bound.
      const refuseBob: CacheAuthorizer = (entry) => entry.version.origin === bob.peerId.toString() ? { reason: 'writer-quota', penalize: false } : undefined
      const a = await setup(refuseBob, 0, self)
      const b = await setup(undefined, 0, alice)
      const bobs = await signed(bob, { key: 'k', value: 'from bob', wallMs: NOW + 20 * SECOND })
      expect((await a.intake.receive(bobs.wire, { path: 'gossip', from: bob.peerId, publisher: bob.peerId })).outcome).toBe('refused')
      expect((await b.intake.receive(bobs.wire, { path: 'gossip', from: bob.peerId, publisher: bob.peerId })).outcome).toBe('accepted')
      // A writes k (acknowledged: A held nothing for it), and its write reaches B.
      const { entry } = await a.intake.write({ key: 'k', value: new TextEncoder().encode('from A'), ttlSeconds: 0, tombstone: false })
      expect(entry.version.ts.wallMs).toBeGreaterThanOrEqual(NOW + 20 * SECOND)
      expect((await b.intake.receive(entry.wire, { path: 'gossip', from: self.peerId, publisher: self.peerId })).outcome).toBe('accepted')
      expect(await value(b, 'k')).toBe('from A')
      expect(await value(a, 'k')).toBe('from A')
    })

    it('is asked about local writes too: a refusal fails the write (CacheWriteRefusedError) and stores nothing', async () => {
      const s = await setup(deny)
      await expect(s.intake.write({ key: 'big', value: new TextEncoder().encode('x'.repeat(100)), ttlSeconds: 0, tombstone: false }))
        .rejects.toThrow(new CacheWriteRefusedError('quota'))
      expect(s.asked.at(-1)?.ctx).toEqual({ path: 'local' })
      expect(await s.store.lookup('big')).toBeUndefined()
      expect(s.counted.at(-1)).toEqual(['local', 'refused'])
      expect((await s.intake.write({ key: 'small', value: new TextEncoder().encode('ok'), ttlSeconds: 0, tombstone: false })).entry.key).toBe('small')
    })

    it('an authorizer that throws refuses (reason authorizer-error), blaming nobody', async () => {
      const s = await setup(() => { throw new Error('bug') })
      const e = await signed(alice, { key: 'k', wallMs: NOW })
      expect(await s.intake.receive(e.wire, { path: 'sync', from: alice.peerId })).toMatchObject({ outcome: 'refused', refusal: { reason: 'authorizer-error', penalize: false } })
      expect(s.blamed).toEqual([])
    })
  })
})
