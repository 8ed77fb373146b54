import { defaultLogger } from '@libp2p/logger'
import { afterEach, describe, expect, it } from 'vitest'
import { LAST_SYNC_KEY } from '../../../../src/services/cache-sync/index.js'
import { FullResync } from '../../../../src/services/cache-sync/full-resync.js'
import { FedStore } from '../../../../src/store/store.js'
import { DAY } from '../../../../src/util/time.js'
import { connect, memoryNode, origin, sign } from './nodes.js'
import type { FederationNode } from '../../../../src/node/federation-node.js'

const GRACE = 7 * DAY
const started: FederationNode[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map(async n => { await n.stop(0) }))
})

async function resync (now: { ms: number }, lastSyncAt?: number): Promise<{ r: FullResync, dropped: number[], meta: FedStore }> {
  const meta = await FedStore.memory()
  if (lastSyncAt != null) await meta.sublevel('meta').put(LAST_SYNC_KEY, new TextEncoder().encode(String(lastSyncAt)))
  const dropped: number[] = []
  const r = new FullResync({
    meta: meta.sublevel('meta'),
    clock: { now: () => now.ms },
    graceMs: () => GRACE,
    horizonMs: () => now.ms - GRACE,
    dropOlderThan: async (h) => { dropped.push(h); return 0 },
    log: defaultLogger().forComponent('test:full-resync')
  })
  await r.load()
  return { r, dropped, meta }
}

describe('full resync after an absence longer than the tombstone grace', () => {
  it('a store that never synced counts as synced now: nothing is dropped', async () => {
    const now = { ms: 100 * DAY }
    const { r, dropped } = await resync(now)
    expect(r.lastSyncAt).toBe(now.ms)
    await r.beforeSession()
    expect(dropped).toEqual([])
  })

  it('within the grace period nothing is dropped; past it, entries older than the horizon go once', async () => {
    const now = { ms: 100 * DAY }
    const { r, dropped, meta } = await resync(now, now.ms - GRACE)
    await r.beforeSession()
    expect(dropped).toEqual([])
    now.ms += 1
    await Promise.all([r.beforeSession(), r.beforeSession()])
    await r.beforeSession()
    expect(dropped).toEqual([now.ms - GRACE])
    await r.completed()
    expect(new TextDecoder().decode(await meta.sublevel('meta').get(LAST_SYNC_KEY))).toBe(String(now.ms))
    expect(r.isStale()).toBe(false)
  })

  it('a node back after 8 days drops its entries older than the horizon before syncing, and keeps newer ones', async () => {
    const now = Date.now()
    const writer = await origin()
    // Deleted elsewhere 8 days ago; the tombstone has been collected everywhere.
    const stale = await sign(writer, { key: 'deleted-long-ago', wallMs: now - 9 * DAY })
    const fresh = await sign(writer, { key: 'recent', wallMs: now - DAY })
    const store = await FedStore.memory()
    await store.sublevel('cache').put(stale.key, stale.wire)
    await store.sublevel('cache').put(fresh.key, fresh.wire)
    await store.sublevel('meta').put(LAST_SYNC_KEY, new TextEncoder().encode(String(now - 8 * DAY)))
    const a = await memoryNode('away', store)
    const b = await memoryNode('peer')
    started.push(a, b)
    expect(a.libp2p.services.cache.store.index.has('deleted-long-ago')).toBe(true)

    await connect(a, b)
    await expect.poll(() => a.libp2p.services.cacheSync.stats().sessionsCompleted, { timeout: 10_000 }).toBe(1)
    expect(a.libp2p.services.cache.store.index.has('deleted-long-ago')).toBe(false)
    expect(await a.libp2p.services.cache.get('deleted-long-ago')).toBeUndefined()
    expect(await b.libp2p.services.cache.store.lookup('deleted-long-ago')).toBeUndefined()
    await expect.poll(async () => (await b.libp2p.services.cache.store.lookup('recent')) != null).toBe(true)
    expect(a.libp2p.services.cacheSync.stats().lastSyncAt).toBeGreaterThanOrEqual(now)
  })
})
