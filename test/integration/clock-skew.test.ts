/**
 * Issue 11's lost write, with real daemons and a real wrong clock: S runs a day ahead
 * (libfaketime), A and B are right. On the code before the one intake, S's `cache put k future`
 * reached A through a read-through fetch that skipped the skew check and did not move A's
 * clock, so A's `cache put k honest` was acknowledged while A kept answering `future` and B held
 * `honest`, for good. Now every node reads A's write; what S wrote alone is re-dated into the
 * mesh's time when it meets its peers; and a node further off than it corrects by itself is
 * refused with one clear line.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, describe, expect, it } from 'vitest'
import { DEFAULT_MAX_VALUE_BYTES, signEntry } from '../../src/services/cache/entry.js'
import { SyncChannel } from '../../src/services/cache-sync/channel.js'
import { CACHE_SYNC_PROTOCOL, maxEntryBytes, maxMessageBytes } from '../../src/services/cache-sync/index.js'
import { serveGet } from '../../src/services/cache-sync/fetch.js'
import { DAY, MINUTE, SECOND } from '../../src/util/time.js'
import { startDaemon, stopAll, waitFor } from '../helpers/daemon.js'
import { faketimeUnavailable, skewedClockEnv } from '../helpers/faketime.js'
import { createRawPeer, multiaddr } from '../helpers/raw-peer.js'
import type { Daemon } from '../helpers/daemon.js'

interface ClockDoc { offsetMs: number | null, clocks: number, cacheWrites: 'ok' | 'refused', reason?: string, unsharedEntries: number }
interface EntryDoc { key: string, value: unknown, version: string, origin: string, updatedAt: string }

const why = faketimeUnavailable()

afterAll(stopAll)

const clockOf = async (d: Daemon): Promise<ClockDoc> => (await d.json<{ clock: ClockDoc }>('status')).clock
const wallOf = (version: string): number => Number(version.split('-')[0])

async function entryOn (d: Daemon, key: string): Promise<EntryDoc | undefined> {
  const r = await d.api('GET', `/v1/cache/${encodeURIComponent(key)}`)
  return r.status === 200 ? r.body as EntryDoc : undefined
}

describe.skipIf(why != null)(`a node whose clock is a day ahead${why != null ? ` (skipped: ${why})` : ''}`, () => {
  it('never has a write acknowledged and then lost: A\'s write after reading S\'s is what every node reads', async () => {
    // S alone: nothing to compare its clock with, so what it writes is kept, served, not shared.
    const s = await startDaemon({ name: 's', env: skewedClockEnv('+1d') })
    const solo = await s.json<{ version: string }>('cache', 'put', 'solo-key', 'written alone')
    expect(wallOf(solo.version) - Date.now()).toBeGreaterThan(DAY - MINUTE)
    expect(await clockOf(s)).toMatchObject({ offsetMs: null, clocks: 1, cacheWrites: 'ok', unsharedEntries: 1 })

    const sAddr = await s.address()
    const [a, b] = await Promise.all([
      startDaemon({ name: 'a', args: ['--bootstrap', sAddr] }),
      startDaemon({ name: 'b', args: ['--bootstrap', sAddr] })
    ])
    // S hears both clocks (capacity ads carry them): it measures its offset and re-dates what it
    // wrote alone into the mesh's time, then shares it.
    const t0 = Date.now()
    await waitFor(async () => {
      const c = await clockOf(s)
      return c.clocks === 3 && c.unsharedEntries === 0
    }, 20_000, 'S to measure its clock against A and B and settle its entry')
    const sClock = await clockOf(s)
    console.info(`[clock-skew] S measured its offset (${sClock.offsetMs} ms) and settled its entry ${Date.now() - t0} ms after A and B answered`)
    expect(Math.abs((sClock.offsetMs ?? 0) - DAY)).toBeLessThan(5 * SECOND)
    expect(sClock.cacheWrites).toBe('ok')
    for (const d of [a, b]) {
      await waitFor(async () => (await entryOn(d, 'solo-key'))?.value === 'written alone', 10_000, 'the re-dated entry to reach A and B')
      const e = await entryOn(d, 'solo-key') as EntryDoc
      expect(Math.abs(wallOf(e.version) - Date.now())).toBeLessThan(2 * MINUTE)
    }

    // The reported sequence. S's write is stamped with the mesh's time, not its own.
    const fromS = await s.json<{ version: string }>('cache', 'put', 'k', 'future')
    expect(Math.abs(wallOf(fromS.version) - Date.now())).toBeLessThan(2 * MINUTE)
    await waitFor(async () => (await entryOn(a, 'k'))?.value === 'future', 10_000, 'A to read S\'s write')
    const honest = await a.json<{ version: string }>('cache', 'put', 'k', 'honest')
    // Read your write, at once, on the node that acknowledged it.
    expect(await entryOn(a, 'k')).toMatchObject({ value: 'honest', version: honest.version })
    for (const d of [a, b, s]) {
      await waitFor(async () => (await entryOn(d, 'k'))?.version === honest.version, 10_000, 'every node to hold A\'s write')
      expect((await entryOn(d, 'k'))?.value).toBe('honest')
    }

    // Five days ahead is more than a node corrects by itself (3.5 days): its writes are refused,
    // in one line, and nothing it holds changes.
    const t = await startDaemon({ name: 't', env: skewedClockEnv('+5d'), args: ['--bootstrap', await a.address()] })
    await waitFor(async () => (await clockOf(t)).clocks >= 3, 20_000, 'T to hear its peers\' clocks')
    const refused = await t.cli('cache', 'put', 'k', 'from-t')
    expect(refused.code).toBe(1)
    expect(refused.stderr.trim().split('\n')).toHaveLength(1)
    expect(refused.stderr).toMatch(/cache writes are refused: this node's clock is \d+\.\d s ahead of the median of \d clocks .*fix the system clock/)
    const api = await t.api('PUT', '/v1/cache/k', { value: 'from-t' })
    expect(api.status).toBe(503)
    expect(await clockOf(t)).toMatchObject({ cacheWrites: 'refused' })
    console.info(`[clock-skew] T (+5 d): ${refused.stderr.trim()}`)
    for (const d of [a, b, s, t]) {
      await waitFor(async () => (await entryOn(d, 'k'))?.version === honest.version, 10_000, 'every node, T included, to hold A\'s write')
    }
    expect((await t.api('GET', '/metrics')).body as string).toMatch(/fedmesh_cache_refused_total\{reason="clock-skew"\} [1-9]/)
  })
})

describe('a writer that signs a day ahead', () => {
  it('a read-through fetch refuses an entry a peer signed a day ahead, so the next write is what A reads', async () => {
    // Any writer can sign any wall time: a stock libp2p peer signs one a day ahead and serves it
    // on /fedmesh/cache-sync/1.0.0 to A's cache misses.
    const a = await startDaemon({ name: 'a2' })
    const key = await generateKeyPair('Ed25519')
    const ahead = await signEntry(key, peerIdFromPrivateKey(key), { key: 'fetched', value: new TextEncoder().encode('"from the future"'), ts: { wallMs: Date.now() + DAY, counter: 0 }, ttlSeconds: 0, tombstone: false })
    const raw = await createRawPeer({ privateKey: key })
    const limits = { maxEntryBytes: maxEntryBytes(DEFAULT_MAX_VALUE_BYTES), maxMessageBytes: maxMessageBytes(DEFAULT_MAX_VALUE_BYTES) }
    let asked = 0
    await raw.handle(CACHE_SYNC_PROTOCOL, (stream) => {
      const channel = new SyncChannel(stream, limits)
      void (async () => {
        const first = await channel.frames().next()
        if (first.done === true || first.value.type !== 'get') { channel.abort(new Error('only GET is served here')); return }
        asked++
        await serveGet(channel, first.value.key, async (k) => k === 'fetched' ? ahead.wire : undefined)
      })().catch(() => {})
    })
    try {
      await raw.dial(multiaddr(await a.address()))
      // A asks its peers on a miss; the answer is a day ahead of A's clock: refused, not stored.
      await waitFor(async () => {
        expect((await a.api('GET', '/v1/cache/fetched')).status).toBe(404)
        return asked > 0 && /fedmesh_cache_intake_total\{path="fetch",outcome="refused"\} [1-9]/.test((await a.api('GET', '/metrics')).body as string)
      }, 20_000, 'A to ask the peer and refuse its day-ahead answer')
      expect((await a.api('GET', '/metrics')).body as string).toMatch(/fedmesh_cache_refused_total\{reason="clock-skew"\} [1-9]/)
      const honest = await a.json<{ version: string }>('cache', 'put', 'fetched', 'honest')
      expect(await entryOn(a, 'fetched')).toMatchObject({ value: 'honest', version: honest.version })
    } finally {
      await raw.stop()
    }
  })
})
