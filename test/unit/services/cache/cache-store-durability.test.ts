import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CacheStore } from '../../../../src/services/cache/cache-store.js'
import { FedStore } from '../../../../src/store/store.js'
import { identity, signed, utf8 } from '../../../helpers/unit-cache.js'
import type { Identity } from '../../../helpers/unit-cache.js'

const NOW = 1_750_000_000_000
const clock = { now: () => NOW }
let who: Identity
const stores: FedStore[] = []

beforeAll(async () => {
  who = await identity()
})

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

type WriteMethod = '_put' | '_del' | '_batch'

/**
 * The process dies after `writes` more writes reached the database: every later write, from any
 * sublevel, never happens (it throws, as the dead process would never have made it).
 */
function crashAfter (fed: FedStore, writes: number): void {
  const root = fed.db as unknown as Record<WriteMethod, (...args: unknown[]) => Promise<void>>
  let left = writes
  for (const name of ['_put', '_del', '_batch'] as const) {
    const original = root[name].bind(root)
    root[name] = async (...args: unknown[]) => {
      if (left <= 0) throw new Error('crashed')
      left--
      await original(...args)
    }
  }
}

async function restarted (fed: FedStore): Promise<CacheStore> {
  const store = new CacheStore({ db: fed.sublevel('cache'), meta: fed.sublevel('meta'), clock })
  await store.load()
  return store
}

describe('CacheStore: an entry and its unshared marker are written together', () => {
  it('a crash after the first write of an unshared put never leaves the entry on disk as shared', async () => {
    const fed = await FedStore.memory()
    stores.push(fed)
    const store = new CacheStore({ db: fed.sublevel('cache'), meta: fed.sublevel('meta'), clock })
    const e = await signed(who, { key: 'k', value: 'alone', wallMs: NOW })
    crashAfter(fed, 1)
    await store.writeLocal('k', async () => ({ entry: e, shared: false })).catch(() => {})
    const after = await restarted(fed)
    const held = await after.lookup('k')
    // Either the write is not there at all, or it is there and still unshared (not offered to peers).
    if (held != null) {
      expect(utf8(held.entry.value)).toBe('alone')
      expect(after.unsharedCount).toBe(1)
      expect(after.index.has('k')).toBe(false)
      expect(await after.lookupShared('k')).toBeUndefined()
    }
  })

  it('a crash after the first write of a shared put over an unshared entry leaves the old entry unshared or the new one shared', async () => {
    const fed = await FedStore.memory()
    stores.push(fed)
    const store = new CacheStore({ db: fed.sublevel('cache'), meta: fed.sublevel('meta'), clock })
    const alone = await signed(who, { key: 'k', value: 'alone', wallMs: NOW })
    await store.writeLocal('k', async () => ({ entry: alone, shared: false }))
    const next = await signed(who, { key: 'k', value: 'shared', wallMs: NOW + 1 })
    crashAfter(fed, 1)
    await store.writeLocal('k', async () => ({ entry: next, shared: true })).catch(() => {})
    const after = await restarted(fed)
    const held = await after.lookup('k')
    expect(held).toBeDefined()
    const value = utf8(held?.entry.value ?? new Uint8Array(0))
    // The shared write is what peers get, or the unshared one is still held back.
    if (value === 'shared') {
      expect(after.unsharedCount).toBe(0)
      expect(after.index.has('k')).toBe(true)
    } else {
      expect(value).toBe('alone')
      expect(after.unsharedCount).toBe(1)
    }
  })
})

/** The next read of the database waits until the returned function is called (it reads then). */
function holdNextRead (fed: FedStore): () => void {
  const root = fed.db as unknown as { _get: (...args: unknown[]) => Promise<unknown> }
  const original = root._get.bind(root)
  const { promise: released, resolve: release } = Promise.withResolvers<void>()
  let armed = true
  root._get = async (...args: unknown[]) => {
    if (!armed) return original(...args)
    armed = false
    const value = await original(...args)
    await released
    return value
  }
  return () => { release() }
}

/** 'k' held on disk only (a restarted store, L1 empty), and a read of it from L2 in flight. */
async function readInFlight (): Promise<{ fed: FedStore, store: CacheStore, release: () => void, slowRead: Promise<unknown> }> {
  const fed = await FedStore.memory()
  stores.push(fed)
  const first = new CacheStore({ db: fed.sublevel('cache'), meta: fed.sublevel('meta'), clock })
  await first.apply(await signed(who, { key: 'k', value: 'old', wallMs: NOW - 10 }))
  const store = await restarted(fed)
  const release = holdNextRead(fed)
  return { fed, store, release, slowRead: store.lookup('k') }
}

describe('CacheStore: L1 answers only what L2 holds', () => {
  it('a read from L2 that a write overtakes does not put the older entry into L1', async () => {
    const { fed, store, release, slowRead } = await readInFlight()
    // A newer version arrives while the read is in flight, and is acknowledged.
    expect(await store.apply(await signed(who, { key: 'k', value: 'new', wallMs: NOW }))).toBe(true)
    release()
    await slowRead
    expect(utf8((await store.lookup('k'))?.entry.value ?? new Uint8Array(0))).toBe('new')
    // What is held decides merges: an entry between the two versions is stale, not applied over 'new'.
    expect(await store.apply(await signed(who, { key: 'k', value: 'between', wallMs: NOW - 5 }))).toBe(false)
    expect(utf8((await restarted(fed).then(async s => await s.lookup('k')))?.entry.value ?? new Uint8Array(0))).toBe('new')
  })

  it('a collected entry read from L2 during the collection does not come back through L1', async () => {
    const { store, release, slowRead } = await readInFlight()
    expect(await store.dropOlderThan(NOW)).toBe(1)
    release()
    await slowRead
    expect(await store.lookup('k')).toBeUndefined()
  })
})
