import { afterAll, describe, expect, it } from 'vitest'
import { startDaemon, stopAll, waitFor } from '../helpers/daemon.js'
import { createVethPair, vethUnavailableReason } from '../helpers/netns.js'
import type { Daemon } from '../helpers/daemon.js'

interface StatusDoc { peerId: string, mode: 'federated' | 'solo', peers: number, addresses: string[] }
interface ListDoc { key: string, version: string, origin: string }
interface RunDoc { status: string, peer: string, output: { hex: string } }

const unavailable = vethUnavailableReason()
const net = unavailable == null ? createVethPair(`fmp${process.pid % 100_000}`) : undefined

afterAll(async () => {
  await stopAll()
  net?.destroy()
})

async function mode (d: Daemon): Promise<string> {
  return (await d.json<StatusDoc>('status')).mode
}

async function ls (d: Daemon): Promise<string[]> {
  return (await d.json<ListDoc[]>('cache', 'ls')).map(e => `${e.key}@${e.version}`).sort()
}

async function value (d: Daemon, key: string): Promise<unknown> {
  const r = await d.cli('cache', 'get', key, '--json')
  if (r.code !== 0) return r.stderr.includes('not found') ? undefined : Promise.reject(new Error(r.stderr))
  return (JSON.parse(r.stdout) as { value: unknown }).value
}

async function sha256 (d: Daemon, data: string): Promise<RunDoc> {
  return d.json<RunDoc>('run', 'sha256', '--input', JSON.stringify({ data }))
}

/**
 * Both daemons list the same live entries (key and version) and exactly the keys of `want` that
 * have a value (undefined: deleted). One `cache ls` per daemon: a CLI call per key would make
 * the check itself take seconds.
 */
async function converged (a: Daemon, b: Daemon, want: Record<string, unknown>): Promise<boolean> {
  const [la, lb] = await Promise.all([ls(a), ls(b)])
  if (JSON.stringify(la) !== JSON.stringify(lb)) return false
  const live = Object.entries(want).filter(([, v]) => v !== undefined).map(([k]) => k).sort()
  return JSON.stringify(la.map(e => e.slice(0, e.lastIndexOf('@'))).sort()) === JSON.stringify(live)
}

/** Every key of `want` reads back with its value (undefined: not found) on both daemons. */
async function expectValues (a: Daemon, b: Daemon, want: Record<string, unknown>): Promise<void> {
  for (const d of [a, b]) {
    const got = await Promise.all(Object.keys(want).map(async k => [k, await value(d, k)] as const))
    expect(Object.fromEntries(got)).toEqual(want)
  }
}

// The cable is a veth pair between two namespaces this file creates; nothing touches a real interface.
describe.skipIf(unavailable != null)(`a partition between two namespaces${unavailable != null ? ` (skipped: ${unavailable})` : ''}`, () => {
  it('cut: both go solo, run tasks and accept writes and deletes; heal: they reconnect and reconcile, deletes stay deleted', async () => {
    const a = await startDaemon({ name: 'a', prefix: net!.a.prefix, listen: `/ip4/${net!.a.ip}/tcp/0`, args: ['--no-dht'] })
    const addrA = (await a.json<StatusDoc>('status')).addresses.find(x => x.includes(net!.a.ip))
    expect(addrA).toBeDefined()
    const b = await startDaemon({ name: 'b', prefix: net!.b.prefix, listen: `/ip4/${net!.b.ip}/tcp/0`, args: ['--no-dht', '--bootstrap', addrA!] })
    await waitFor(async () => await mode(a) === 'federated' && await mode(b) === 'federated', 20_000, 'A and B to federate')

    // Before the cut: entries both hold (through gossip or anti-entropy).
    await a.json('cache', 'put', 'before/1', 'one')
    await b.json('cache', 'put', 'before/2', 'two')
    await a.json('cache', 'put', 'both', 'original')
    const before = { 'before/1': 'one', 'before/2': 'two', both: 'original' }
    await waitFor(async () => converged(a, b, before), 15_000, 'the pre-cut entries on both')
    await expectValues(a, b, before)

    net!.cut()
    const cutAt = Date.now()
    const soloMs = await waitFor(async () => await mode(a) === 'solo' && await mode(b) === 'solo', 20_000, 'both sides to report solo', 50)
    console.info(`[partition] both solo ${soloMs} ms after the cut`)

    // Apart: tasks run locally, writes (and a delete of a key both held) are accepted on each side.
    const [ra, rb] = await Promise.all([sha256(a, 'apart-a'), sha256(b, 'apart-b')])
    expect(ra.status).toBe('ok')
    expect(rb.status).toBe('ok')
    expect(ra.peer).toBe((await a.json<StatusDoc>('status')).peerId)
    const writesA: Record<string, string> = {}
    const writesB: Record<string, string> = {}
    for (let i = 0; i < 20; i++) {
      writesA[`apart/a/${i}`] = `a${i}`
      writesB[`apart/b/${i}`] = `b${i}`
    }
    await Promise.all([
      (async () => { for (const [k, v] of Object.entries(writesA)) await a.json('cache', 'put', k, v) })(),
      (async () => { for (const [k, v] of Object.entries(writesB)) await b.json('cache', 'put', k, v) })()
    ])
    await a.json('cache', 'del', 'before/1')
    expect(await value(a, 'before/1')).toBeUndefined()
    expect(await value(b, 'before/1')).toBe('one')
    await a.json('cache', 'put', 'both', 'from-a')
    await new Promise(resolve => setTimeout(resolve, 20))
    await b.json('cache', 'put', 'both', 'from-b') // the later write wins everywhere
    await b.json('cache', 'del', 'before/2')
    expect(await mode(a)).toBe('solo')
    expect(await mode(b)).toBe('solo')
    console.info(`[partition] apart for ${Date.now() - cutAt} ms`)

    net!.heal()
    const want = { ...writesA, ...writesB, both: 'from-b', 'before/1': undefined, 'before/2': undefined }
    // Both timed from the heal. (Polls go through the CLI, ~0.2 s a call: figures are upper bounds.)
    const [reconnectMs, reconciledMs] = await Promise.all([
      waitFor(async () => await mode(a) === 'federated' && await mode(b) === 'federated', 90_000, 'A and B to reconnect by themselves', 100),
      waitFor(async () => converged(a, b, want), 90_000, 'every write made apart on both sides, deletes kept', 100)
    ])
    console.info(`[partition] federated again ${reconnectMs} ms after the heal; reconciled ${reconciledMs} ms after the heal`)
    await expectValues(a, b, want)
  }, 180_000)
})

describe('kill -9 and restart', () => {
  it('a daemon killed with -9 catches up on what was written meanwhile when it comes back', async () => {
    const a = await startDaemon({ name: 'a' })
    const addrA = await a.address()
    const b = await startDaemon({ name: 'b', args: ['--bootstrap', addrA] })
    await waitFor(async () => await mode(a) === 'federated' && await mode(b) === 'federated', 20_000, 'A and B to federate')
    await a.json('cache', 'put', 'kept', 'v1')
    await a.json('cache', 'put', 'gone', 'v1')
    await waitFor(async () => converged(a, b, { kept: 'v1', gone: 'v1' }), 15_000, 'B to hold the first writes')
    await expectValues(a, b, { kept: 'v1', gone: 'v1' })

    await b.kill9()
    await a.json('cache', 'put', 'kept', 'v2')
    await a.json('cache', 'del', 'gone')
    for (let i = 0; i < 10; i++) await a.json('cache', 'put', `while-down/${i}`, String(i))

    const restarted = Date.now()
    const b2 = await startDaemon({ name: 'b', dataDir: b.dataDir, args: ['--bootstrap', addrA] })
    const want: Record<string, unknown> = { kept: 'v2', gone: undefined }
    for (let i = 0; i < 10; i++) want[`while-down/${i}`] = String(i)
    const ms = await waitFor(async () => converged(a, b2, want), 30_000, 'B to reconcile after its restart', 100)
    console.info(`[kill -9] B reconciled ${Date.now() - restarted} ms after its restart (${ms} ms after it answered)`)
    await expectValues(a, b2, want)
  }, 120_000)
})
