import { join } from 'node:path'
import { Key } from 'interface-datastore'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FedStore } from '../../../src/store/store.js'
import { StorageFullError } from '../../../src/util/errors.js'
import { mountSmallDisk, tmpfsUnavailable } from '../../helpers/tmpfs.js'
import type { SmallDisk } from '../../helpers/tmpfs.js'

const why = tmpfsUnavailable()

function valueFor (key: string, size = 4096): Uint8Array {
  return new Uint8Array(size).fill(key.length % 251).map((b, i) => (b + key.charCodeAt(i % key.length)) % 256)
}

/** Keys acknowledged (resolved) but absent or changed when read back. */
async function lost (store: FedStore, acked: Set<string>): Promise<string[]> {
  const cache = store.sublevel('cache')
  const out: string[] = []
  for (const key of acked) {
    const got = await cache.get(key)
    if (got == null || Buffer.compare(Buffer.from(got), Buffer.from(valueFor(key))) !== 0) out.push(key)
  }
  return out
}

describe.skipIf(why != null)(`FedStore on a disk that fills up${why != null ? ` (skipped: ${why})` : ''}`, () => {
  let disk: SmallDisk
  const opened: FedStore[] = []
  const open = async (dir: string, options?: Parameters<typeof FedStore.open>[1]): Promise<FedStore> => {
    const store = await FedStore.open(dir, options)
    opened.push(store)
    return store
  }

  beforeAll(async () => { disk = await mountSmallDisk(8 * 1024 * 1024) })
  afterAll(async () => {
    // Closed first: a failed test must not leave a recovery timer reopening the store after the unmount.
    for (const store of opened) await store.close().catch(() => {})
    await disk?.unmount()
  })

  it('refuses writes with StorageFullError, serves reads, recovers by itself and loses nothing acknowledged', async () => {
    const dir = join(disk.dir, 'full')
    const store = await open(dir, { intervalMs: 50 })
    const cache = store.sublevel('cache')
    const acked = new Set<string>()
    const put = async (key: string): Promise<void> => {
      await cache.put(key, valueFor(key))
      acked.add(key)
    }
    for (let i = 0; i < 50; i++) await put(`before-${i}`)

    await disk.fill()
    // Concurrent writers as the disk runs out: some may land, the rest must fail cleanly.
    const during = await Promise.allSettled(Array.from({ length: 200 }, async (_, i) => { await put(`during-${i}`) }))
    const refused = during.filter(r => r.status === 'rejected').map(r => (r as PromiseRejectedResult).reason)
    expect(refused.length).toBeGreaterThan(0)
    for (const err of refused) {
      expect(err).toBeInstanceOf(StorageFullError)
      expect(err.message).toMatch(/^no space left on device .*the write was not made/)
    }
    expect(store.health.condition()).toMatchObject({ ok: false, error: 'no space left on device' })
    expect(store.health.errors.put).toBeGreaterThan(0)

    // Every writer is refused the same way, before LevelDB: chained batches (the task journal) too.
    const refusedBefore = store.health.writesRefused
    const batch = store.db.batch()
    batch.put('j', new Uint8Array(1), { sublevel: store.sublevel('journal') as any })
    await expect(batch.write()).rejects.toBeInstanceOf(StorageFullError)
    await expect(store.sublevel('meta').del('x')).rejects.toBeInstanceOf(StorageFullError)
    expect(store.health.writesRefused).toBe(refusedBefore + 2)
    // libp2p's soft state is held in memory instead, and written out on recovery.
    await store.datastore.put(new Key('/peers/x'), new Uint8Array(8).fill(8))
    expect(store.datastore.heldWrites).toBe(1)
    expect(await store.datastore.get(new Key('/peers/x'))).toEqual(new Uint8Array(8).fill(8))

    // Reads keep working.
    expect(await lost(store, acked)).toEqual([])
    expect(await store.sublevel('cache').keys().all()).toHaveLength(acked.size)

    await disk.free()
    await expect.poll(() => store.health.ok, { timeout: 10_000 }).toBe(true)
    expect(store.health.reopens).toBeGreaterThanOrEqual(1)
    await expect.poll(() => store.datastore.heldWrites).toBe(0)
    expect(Buffer.from(await store.sublevel('libp2p').get('/peers/x') ?? [])).toEqual(Buffer.alloc(8, 8))

    // Writes after recovery land in a fresh log: a restart replays them all.
    for (let i = 0; i < 300; i++) await put(`after-${i}`)
    await store.close()
    const reopened = await open(dir)
    try {
      expect(await lost(reopened, acked)).toEqual([])
    } finally {
      await reopened.close()
    }
  })

  it('refuses to open on a full disk with StorageFullError, and opens once space is back', async () => {
    const dir = join(disk.dir, 'open')
    const store = await open(dir)
    await store.sublevel('cache').put('k', valueFor('k'))
    await store.close()
    await disk.fill()
    try {
      await expect(FedStore.open(dir)).rejects.toBeInstanceOf(StorageFullError)
    } finally {
      await disk.free()
    }
    const again = await open(dir)
    expect(await lost(again, new Set(['k']))).toEqual([])
    await again.close()
  })
})
