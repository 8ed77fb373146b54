import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CacheStore } from '../../../../src/services/cache/cache-store.js'
import { FedStore } from '../../../../src/store/store.js'
import { DAY, MINUTE, SECOND } from '../../../../src/util/time.js'
import { identity, signed } from '../../../helpers/unit-cache.js'
import { Mesh } from './replicas.js'
import type { Identity } from '../../../helpers/unit-cache.js'

let ids: Identity[]
const meshes: Mesh[] = []
const noise = (): number => 0

beforeAll(async () => {
  ids = await Promise.all([identity(), identity(), identity()])
})

afterEach(async () => {
  for (const m of meshes.splice(0)) await m.close()
})

async function threeNodes (skews: number[], groups: number[]): Promise<Mesh> {
  const mesh = await Mesh.create(ids, skews, groups)
  meshes.push(mesh)
  return mesh
}

describe('entries written alone (settle.ts)', () => {
  it('are served but not shared; once a majority of clocks is heard, one stamped a day ahead is re-dated into the mesh\'s time and shared', async () => {
    const mesh = await threeNodes([DAY, 0, 0], [1, 0, 0])
    const s = mesh.replicas[0]
    await mesh.write(0, 'k', false)
    const alone = (await s.service.store.lookup('k'))?.entry
    expect(alone?.version.ts.wallMs).toBe(mesh.t + DAY)
    expect(s.service.clockStatus()).toMatchObject({ offsetMs: null, clocks: 1, cacheWrites: 'ok', unsharedEntries: 1 })
    // Not gossiped, not in the index anti-entropy reconciles, not given to a fetch.
    expect(mesh.pool).toHaveLength(0)
    expect(s.service.store.index.has('k')).toBe(false)
    expect(await s.service.store.lookupShared('k')).toBeUndefined()

    mesh.groups = [0, 0, 0]
    await mesh.ads(noise)
    const settled = (await s.service.store.lookupShared('k'))?.entry
    expect(settled).toBeDefined()
    expect(settled?.value).toEqual(alone?.value)
    expect(Math.abs((settled?.version.ts.wallMs ?? 0) - mesh.t)).toBeLessThan(SECOND)
    expect(s.service.clockStatus()).toMatchObject({ offsetMs: DAY, clocks: 3, cacheWrites: 'ok', unsharedEntries: 0 })
    expect(mesh.stats.redated).toBe(1)
    // Published, and every node takes it; later writes of the node are stamped with the mesh's time.
    while (mesh.pool.length > 0) await mesh.deliver(0)
    for (const r of mesh.replicas) expect((await r.service.store.lookup('k'))?.entry.wire).toEqual(settled?.wire)
    await mesh.write(0, 'k', false)
    expect(Math.abs(((await s.service.store.lookup('k'))?.entry.version.ts.wallMs ?? 0) - mesh.t)).toBeLessThan(SECOND)
    expect(mesh.violations).toEqual([])
  })

  it('one whose version the peers accept is shared as it is, the same signed bytes', async () => {
    const mesh = await threeNodes([10 * SECOND, 0, 0], [1, 0, 0])
    await mesh.write(0, 'k', false)
    const alone = (await mesh.replicas[0].service.store.lookup('k'))?.entry
    mesh.groups = [0, 0, 0]
    mesh.t += MINUTE
    await mesh.ads(noise)
    expect((await mesh.replicas[0].service.store.lookupShared('k'))?.entry.wire).toEqual(alone?.wire)
    expect(mesh.stats.redated).toBe(0)
    expect(mesh.pool.length).toBeGreaterThan(0)
  })

  it('with one peer whose clock disagrees, nobody can tell which is wrong: the entry waits, and the node ahead does not write', async () => {
    const mesh = await threeNodes([DAY, 0, 0], [1, 0, 2])
    await mesh.write(0, 'k', false)
    mesh.groups = [0, 0, 2]
    await mesh.ads(noise)
    const s = mesh.replicas[0]
    expect(s.service.clockStatus()).toMatchObject({ clocks: 2, cacheWrites: 'refused', unsharedEntries: 1 })
    expect(s.service.clockStatus().reason).toMatch(/its only peer's, and with one peer it cannot tell whose is wrong/)
    await mesh.write(0, 'j', false)
    expect(mesh.stats.refused).toBe(1)
    expect(await s.service.store.lookupShared('k')).toBeUndefined()
  })
})

describe('CacheStore: unshared entries', () => {
  it('stay unshared across a restart: out of the index, of lookupShared and of getMany', async () => {
    const fed = await FedStore.memory()
    try {
      const who = await identity()
      const clock = { now: () => 1_750_000_000_000 }
      const first = new CacheStore({ db: fed.sublevel('cache'), meta: fed.sublevel('meta'), clock })
      const e = await signed(who, { key: 'k', value: 'alone', wallMs: clock.now() })
      await first.writeLocal('k', async () => ({ entry: e, shared: false }))
      await first.apply(await signed(who, { key: 'other', value: 'shared', wallMs: clock.now() }))
      const again = new CacheStore({ db: fed.sublevel('cache'), meta: fed.sublevel('meta'), clock })
      expect(await again.load()).toBe(2)
      expect(again.unsharedCount).toBe(1)
      expect(again.index.has('k')).toBe(false)
      expect(again.index.has('other')).toBe(true)
      expect(await again.lookupShared('k')).toBeUndefined()
      expect((await again.getMany(['k', 'other'])).map(x => x.key)).toEqual(['other'])
      expect(Buffer.from((await again.lookup('k'))?.entry.wire ?? [])).toEqual(Buffer.from(e.wire))
      // Shared as it is: it enters the index, and a restart remembers that too.
      expect(await again.share(e)).toBe(true)
      const third = new CacheStore({ db: fed.sublevel('cache'), meta: fed.sublevel('meta'), clock })
      await third.load()
      expect(third.unsharedCount).toBe(0)
      expect(third.index.has('k')).toBe(true)
    } finally {
      await fed.close()
    }
  })
})
