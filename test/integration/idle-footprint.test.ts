import { spawnSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT, startDaemon, stopAll, tempDir, waitFor } from '../helpers/daemon.js'
import type { Daemon } from '../helpers/daemon.js'

/**
 * What an idle daemon must not load (README, "What an idle daemon costs"): ICU's locale data
 * (any localeCompare, Intl or toLocale* call: libp2p's peer store sorted with localeCompare,
 * 1.5-2.5 MB per daemon) and Node's TLS and zlib (prom-client's push-gateway client, ~1-3 MB).
 * Two real daemons from the bundle form a mesh with a preload that records both
 * (test/helpers/idle-tripwire.cjs).
 */

afterAll(stopAll)

const TRIPWIRE = join(ROOT, 'test', 'helpers', 'idle-tripwire.cjs')
/** Built-ins an idle daemon has no use for. */
const UNUSED_BUILTINS = ['tls', 'https', 'zlib', 'http2']

interface TripwireRecord { calls: Array<{ what: string, at: string[] }>, modules: string[] }

async function tripwired (out: string, args: string[] = []): Promise<Daemon> {
  return startDaemon({ args, env: { NODE_OPTIONS: `--require ${JSON.stringify(TRIPWIRE)}`, FEDMESH_TRIPWIRE_OUT: out } })
}

interface PeerDoc { peerId: string, connected: boolean, capacity: unknown, rttMs: number | null }

describe('an idle daemon', () => {
  it('the tripwire sees ICU calls and built-in modules (so its silence below means something)', async () => {
    const out = join(await tempDir(), 'control.json')
    const r = spawnSync(process.execPath, ['--require', TRIPWIRE, '-e', "'b'.localeCompare('a'); require('node:zlib')"], { env: { ...process.env, FEDMESH_TRIPWIRE_OUT: out } })
    expect(r.status).toBe(0)
    const record = JSON.parse(await readFile(out, 'utf8')) as TripwireRecord
    expect(record.calls.map(c => c.what)).toEqual(['String.prototype.localeCompare'])
    expect(record.modules).toContain('zlib')
  })

  it('touches no ICU locale data and loads no TLS or zlib while it meets a peer and idles', async () => {
    const dir = await tempDir()
    const a = await tripwired(join(dir, 'a.json'))
    const b = await tripwired(join(dir, 'b.json'), ['--bootstrap', await a.address()])
    const [aId, bId] = await Promise.all([a.peerId(), b.peerId()])
    // Met (identify and the peer-store writes done), heard each other's ads and measured a round trip.
    const sees = async (x: Daemon, id: string): Promise<boolean> =>
      (await x.json<PeerDoc[]>('peers')).some(p => p.peerId === id && p.connected && p.capacity != null && p.rttMs != null)
    await waitFor(async () => await sees(a, bId) && await sees(b, aId), 30_000, 'the two daemons to meet and measure each other')
    expect(await a.stop()).toBe(0)
    expect(await b.stop()).toBe(0)

    for (const name of ['a', 'b']) {
      const record = JSON.parse(await readFile(join(dir, `${name}.json`), 'utf8')) as TripwireRecord
      expect(record.calls, `daemon ${name} called into ICU`).toEqual([])
      expect(record.modules).toContain('net') // the record is a daemon's
      expect(record.modules.filter(m => UNUSED_BUILTINS.includes(m)), `daemon ${name} loaded`).toEqual([])
    }
  })
})
