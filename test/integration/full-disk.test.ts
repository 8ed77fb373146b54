import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { metricValue } from '../helpers/metrics.js'
import { startDaemon, stopAll, waitFor } from '../helpers/daemon.js'
import { mountSmallDisk, tmpfsUnavailable } from '../helpers/tmpfs.js'
import type { Daemon } from '../helpers/daemon.js'
import type { SmallDisk } from '../helpers/tmpfs.js'

const why = tmpfsUnavailable()
let disk: SmallDisk | undefined

afterAll(async () => {
  await stopAll()
  await disk?.unmount()
})

/** Keys whose value differs from (or is missing against) what was acknowledged. */
async function lostKeys (d: Daemon, acked: Map<string, string>): Promise<string[]> {
  const lost: string[] = []
  for (const [key, value] of acked) {
    const r = await d.api('GET', `/v1/cache/${key}`)
    if (r.status !== 200 || r.body.value !== value) lost.push(key)
  }
  return lost
}

describe.skipIf(why != null)(`a daemon whose data dir fills up${why != null ? ` (skipped: ${why})` : ''}`, () => {
  it('answers writes 507, keeps serving reads and peers, recovers by itself when space is back and loses nothing acknowledged', async () => {
    disk = await mountSmallDisk(32 * 1024 * 1024)
    const dataDir = join(disk.dir, 'data')
    const a = await startDaemon({ name: 'a', dataDir })
    const acked = new Map<string, string>()
    const put = async (key: string, value: string): Promise<{ status: number, body: any }> => {
      const r = await a.api('PUT', `/v1/cache/${key}`, { value })
      if (r.status === 200) acked.set(key, value)
      return r
    }
    for (let i = 0; i < 20; i++) expect((await put(`before-${i}`, `value ${i} ${'x'.repeat(2_000)}`)).status).toBe(200)
    const b = await startDaemon({ name: 'b', args: ['--bootstrap', await a.address()] })
    await waitFor(async () => (await a.json<any[]>('peers')).some(p => p.name === 'b' && p.connected), 20_000, 'a and b to connect')

    await disk.fill()
    // LevelDB may still fit a few small records in pages it holds: write until the disk says no.
    let refused: { status: number, body: any } | undefined
    for (let i = 0; i < 100 && refused == null; i++) {
      const r = await put(`during-${i}`, 'y'.repeat(50_000))
      if (r.status !== 200) refused = r
    }
    expect(refused?.status).toBe(507)
    expect(refused?.body.error).toMatch(/^no space left on device .*the write was not made; writes resume by themselves once space is freed$/)

    // What the user sees: the CLI says why, status says so, tasks (journaled) are refused too.
    const cliPut = await a.cli('cache', 'put', 'cli-key', 'v')
    expect(cliPut.code).toBe(1)
    expect(cliPut.stderr).toMatch(/^fedmesh: no space left on device/)
    expect(cliPut.stderr).not.toMatch(/\n\s+at /)
    const status = await a.json<any>('status')
    expect(status.storage).toMatchObject({ ok: false, error: 'no space left on device' })
    expect(Date.parse(status.storage.since)).toBeGreaterThan(0)
    expect((await a.cli('status')).stdout).toMatch(/storage {3}FAILING: no space left on device/)
    expect((await a.api('POST', '/v1/tasks', { kind: 'echo', input: 1 })).status).toBe(507)
    expect(await metricValue(a, 'fedmesh_store_failed')).toBe(1)
    expect(await metricValue(a, 'fedmesh_store_errors_total')).toBeGreaterThanOrEqual(1)
    expect(await metricValue(a, 'fedmesh_store_writes_refused_total')).toBeGreaterThanOrEqual(2)

    // Reads keep working: earlier keys (CLI and API), peers, status; peers come and go.
    expect((await a.json<any>('cache', 'get', 'before-0')).value).toBe(acked.get('before-0'))
    expect(await lostKeys(a, acked)).toEqual([])
    expect((await b.api('PUT', '/v1/cache/from-b', { value: 'written on b while a was full' })).status).toBe(200)
    const c = await startDaemon({ name: 'c', args: ['--bootstrap', await a.address()] })
    await waitFor(async () => (await a.json<any[]>('peers')).some(p => p.name === 'c' && p.connected), 20_000, 'c to join a while its disk is full')
    expect(a.alive).toBe(true)

    await disk.free()
    await waitFor(async () => (await a.json<any>('status')).storage.ok === true, 20_000, 'the store to recover by itself')
    for (let i = 0; i < 20; i++) expect((await put(`after-${i}`, `after ${i}`)).status).toBe(200)
    expect((await a.json<any>('cache', 'put', 'cli-key', 'v')).key).toBe('cli-key')
    acked.set('cli-key', 'v')
    expect((await a.api('POST', '/v1/tasks', { kind: 'echo', input: 2 })).body.status).toBe('ok')
    // What a could not store from b while full arrives once it takes writes again.
    await waitFor(async () => (await a.api('GET', '/v1/cache/from-b')).status === 200, 20_000, "b's entry to reach a after recovery")
    expect(await metricValue(a, 'fedmesh_store_failed')).toBe(0)
    expect(a.stderr.match(/ error storage failed/g)).toHaveLength(1)
    expect(a.stderr).toMatch(/ info storage recovered, writes accepted again /)
    expect(await lostKeys(a, acked)).toEqual([])

    // A restart replays everything that was acknowledged.
    expect(await a.stop()).toBe(0)
    const again = await startDaemon({ name: 'a', dataDir })
    expect(await lostKeys(again, acked)).toEqual([])
    expect(again.stderr).not.toMatch(/storage failed/)
    await Promise.all([again.stop(), b.stop(), c.stop()])
  }, 120_000)
})
