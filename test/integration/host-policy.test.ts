import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startDaemon, stopAll, tempDir, waitFor } from '../helpers/daemon.js'
import type { Daemon } from '../helpers/daemon.js'

/**
 * The laptop policy against real daemons: `fedmesh pause --for` / `resume` (kept across a
 * restart, expiring by itself), a low battery read from a fake power_supply dir, and what the
 * router and the tables say about such a peer.
 */

afterAll(stopAll)

interface RouteDoc { peerId: string, eligible: boolean, reason: string }
interface ServingDoc { slots: number, of: number, paused: boolean, reason?: string, pause?: { since: string, until?: string } }
interface RunDoc { status: string, peer: string }

async function fakePower (dir: string, ac: boolean, percent: number): Promise<void> {
  await mkdir(join(dir, 'AC'), { recursive: true })
  await mkdir(join(dir, 'BAT0'), { recursive: true })
  await writeFile(join(dir, 'AC', 'type'), 'Mains\n')
  await writeFile(join(dir, 'AC', 'online'), ac ? '1\n' : '0\n')
  await writeFile(join(dir, 'BAT0', 'type'), 'Battery\n')
  await writeFile(join(dir, 'BAT0', 'capacity'), `${percent}\n`)
  await writeFile(join(dir, 'BAT0', 'status'), ac ? 'Charging\n' : 'Discharging\n')
}

const reasonFor = async (router: Daemon, peerId: string): Promise<string | undefined> =>
  (await router.json<RouteDoc[]>('route', 'sleep')).find(r => r.peerId === peerId)?.reason

describe('the laptop policy on real daemons', () => {
  it('pause --for takes a daemon out of routing, survives a restart, and resume (or expiry) brings it back', async () => {
    const power = await tempDir('fedmesh-power-')
    await fakePower(power, true, 80)
    const a = await startDaemon({ name: 'a', args: ['--concurrency', '2'] })
    const addr = await a.address()
    const config = { policy: { hostSignals: true, powerSupplyDir: power, sampleIntervalMs: 200, yieldToOwner: false } }
    let b = await startDaemon({ name: 'b', args: ['--concurrency', '2', '--bootstrap', addr], config })
    const bId = await b.peerId()
    await waitFor(async () => (await reasonFor(a, bId)) != null, 15_000, 'A to see B advertise')

    // A low battery (fake power_supply): B takes no work, and says why.
    await fakePower(power, false, 12)
    await waitFor(async () => (await reasonFor(a, bId)) === 'takes no work: battery-low', 10_000, 'A to see B paused on a low battery')
    expect((await b.json<{ serving: ServingDoc }>('status')).serving).toMatchObject({ slots: 0, paused: true, reason: 'battery-low' })
    const peers = await a.cli('peers')
    expect(peers.stdout).toMatch(/none: battery-low/)
    await fakePower(power, true, 12)
    await waitFor(async () => !((await reasonFor(a, bId)) ?? '').startsWith('takes no work'), 10_000, 'B to serve again on AC')

    // The owner's pause, for an hour.
    const paused = await b.json<ServingDoc>('pause', '--for', '1h')
    expect(paused).toMatchObject({ paused: true, reason: 'paused', slots: 0, of: 2 })
    expect(Date.parse(paused.pause?.until ?? '') - Date.now()).toBeGreaterThan(59 * 60_000)
    await waitFor(async () => (await reasonFor(a, bId)) === 'takes no work: paused', 5_000, 'A to see B paused')
    const runs = await Promise.all(Array.from({ length: 6 }, async () => (await a.api('POST', '/v1/tasks', { kind: 'sleep', input: { ms: 200 }, timeoutMs: 30_000 })).body as RunDoc))
    expect(runs.every(r => r.status === 'ok' && r.peer !== bId)).toBe(true)

    // Kept across a restart until it expires.
    expect(await b.stop('SIGTERM')).toBe(0)
    b = await startDaemon({ name: 'b', dataDir: b.dataDir, args: ['--concurrency', '2', '--bootstrap', addr], config })
    expect((await b.json<{ serving: ServingDoc }>('status')).serving).toMatchObject({ paused: true, reason: 'paused' })
    await waitFor(async () => (await reasonFor(a, bId)) === 'takes no work: paused', 15_000, 'A to see the restarted B still paused')

    const resumed = await b.json<ServingDoc>('resume')
    expect(resumed).toMatchObject({ paused: false, slots: 2, of: 2 })
    expect(resumed.pause).toBeUndefined()
    await waitFor(async () => !((await reasonFor(a, bId)) ?? 'takes no work').startsWith('takes no work'), 5_000, 'A to see B serving again')

    // A short pause ends by itself.
    expect(await b.json<ServingDoc>('pause', '--for', '2s')).toMatchObject({ paused: true })
    await waitFor(async () => !(await b.json<{ serving: ServingDoc }>('status')).serving.paused, 10_000, 'the 2 s pause to expire')

    // Bad input: a usage error (exit 2), nothing changed.
    const bad = await b.cli('pause', '--for', 'soon')
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--for must be a duration/)
    expect((await b.api('POST', '/v1/pause', { forMs: -1 })).status).toBe(400)
    expect((await b.json<{ serving: ServingDoc }>('status')).serving.paused).toBe(false)
  }, 120_000)

  it('run --priority is passed through; a bad priority is a usage error', async () => {
    const d = await startDaemon({ name: 'p' })
    const ok = await d.json<RunDoc>('run', 'echo', '--input', '"hi"', '--priority', 'batch')
    expect(ok.status).toBe('ok')
    const bad = await d.cli('run', 'echo', '--input', '"hi"', '--priority', 'urgent')
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--priority must be one of interactive, normal, batch/)
    expect((await d.api('POST', '/v1/tasks', { kind: 'echo', input: 1, priority: 'urgent' })).status).toBe(400)
  }, 60_000)
})
