import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDaemon, stopAll, waitFor } from '../helpers/daemon.js'
import { createRawPeer, multiaddr } from '../helpers/raw-peer.js'
import type { Daemon } from '../helpers/daemon.js'

interface RunDoc { taskId: string, status: string, peer: string, attempts: number, durationMs: number, output: any, errorCode?: string, error?: string }
interface ServedDoc { taskId: string, origin: string, status: string, errorCode?: string }
interface PeerDoc { peerId: string, capacity: unknown, reputation: number }

afterAll(stopAll)

const SLOTS = 2

async function meshOfThree (): Promise<Daemon[]> {
  const a = await startDaemon({ name: 'a', args: ['--concurrency', String(SLOTS)] })
  const addr = await a.address()
  const [b, c] = await Promise.all([
    startDaemon({ name: 'b', args: ['--concurrency', String(SLOTS), '--bootstrap', addr] }),
    startDaemon({ name: 'c', args: ['--concurrency', String(SLOTS), '--bootstrap', addr] })
  ])
  // A routes on what it knows: wait until it holds both peers' capacity advertisements.
  await waitFor(async () => (await a.json<PeerDoc[]>('peers')).filter(p => p.capacity != null).length === 2, 15_000, 'A to see B and C advertise')
  return [a, b, c]
}

async function submit (d: Daemon, n: number, ms: number): Promise<RunDoc[]> {
  return Promise.all(Array.from({ length: n }, async () => {
    const r = await d.api('POST', '/v1/tasks', { kind: 'sleep', input: { ms }, timeoutMs: 60_000 })
    expect(r.status).toBe(200)
    return r.body as RunDoc
  }))
}

describe('task routing across three daemons', () => {
  let a: Daemon, b: Daemon, c: Daemon
  beforeAll(async () => { [a, b, c] = await meshOfThree() })

  it('spreads 24 sleep tasks over all three nodes, well under the time one node needs', async () => {
    const ms = 500
    const started = Date.now()
    const runs = await submit(a, 24, ms)
    const elapsed = Date.now() - started
    expect(runs.every(r => r.status === 'ok')).toBe(true)
    const perPeer = new Map<string, number>()
    for (const r of runs) perPeer.set(r.peer, (perPeer.get(r.peer) ?? 0) + 1)
    const oneNodeMs = (24 / SLOTS) * ms
    console.info(`[tasks] 24 x sleep ${ms} ms: ${elapsed} ms on 3 nodes (one node: ${oneNodeMs} ms); per node ${JSON.stringify([...perPeer.values()])}`)
    expect(perPeer.size).toBe(3)
    for (const count of perPeer.values()) expect(count).toBeGreaterThanOrEqual(3)
    expect(elapsed).toBeLessThan(oneNodeMs * 0.75)
  })

  it('explains its routing choice', async () => {
    const route = await a.json<Array<{ peerId: string, eligible: boolean, score: number | null, rttMs: number, reason: string }>>('route', 'sleep')
    expect(route).toHaveLength(3)
    expect(route.every(r => r.eligible && r.score != null)).toBe(true)
    // Nobody serves it: the candidates say why, and the exit code is 4 (not found).
    const none = await a.cli('route', 'no-such-kind', '--json')
    expect(none.code).toBe(4)
    expect((JSON.parse(none.stdout) as Array<{ eligible: boolean, reason: string }>).every(r => !r.eligible && r.reason === 'does not serve this kind')).toBe(true)
  })

  it('rejects unknown kinds and oversized input with clear errors, and stays up', async () => {
    const unknown = await a.cli('run', 'no-such-kind', '--json')
    expect(unknown.code).toBe(1)
    expect(JSON.parse(unknown.stdout)).toMatchObject({ status: 'error', errorCode: 'KIND_NOT_SERVED' })
    const big = await a.api('POST', '/v1/tasks', { kind: 'echo', input: 'x'.repeat(1024 * 1024 + 10) })
    expect(big.status).toBe(413)
    expect(big.body.error).toMatch(/larger than/)
    const bad = await a.api('POST', '/v1/tasks', { kind: 'sleep', input: { ms: 'soon' } })
    expect(bad.body).toMatchObject({ status: 'error', errorCode: 'BAD_INPUT' })
    const typo = await a.api('POST', '/v1/tasks', { kind: 'echo', inptu: 1 })
    expect(typo.status).toBe(400)
    expect(typo.body.error).toMatch(/inptu/)
    expect((await a.cli('status')).code).toBe(0)
  })

  it('resets a stream that carries malformed frames, costs the sender reputation, and stays up', async () => {
    const raw = await createRawPeer()
    try {
      const addr = multiaddr(await b.address())
      const garbage = [
        new Uint8Array([0x05, 0xff, 0xff, 0xff, 0xff, 0xff]), // a frame that does not decode
        new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]), // a length prefix far over the limit
        new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]) // 2^63: a ten-byte prefix, nothing after it
      ]
      for (const bytes of garbage) {
        const stream = await raw.dialProtocol(addr, '/fedmesh/task/1.0.0')
        stream.send(bytes)
        await waitFor(() => stream.status !== 'open', 5_000, 'the daemon to reset the stream')
      }
      const rawId = raw.peerId.toString()
      await waitFor(async () => ((await b.json<PeerDoc[]>('peers')).find(p => p.peerId === rawId)?.reputation ?? 0) < 0, 5_000, 'the sender to lose reputation')
      expect((await b.cli('status')).code).toBe(0)
      const echo = await b.json<RunDoc>('run', 'echo', '--input', '"still here"')
      expect(echo.output).toBe('still here')
    } finally {
      await raw.stop()
    }
  })

  it('finishes every task when a peer is killed mid-batch, moving its tasks; none runs twice on a node', async () => {
    const idC = await c.peerId()
    const batch = submit(a, 18, 1000)
    await waitFor(async () => (await c.json<ServedDoc[]>('tasks', '--served')).length > 0 || (await c.api('GET', '/v1/status')).body.capacity.running > 0, 5_000, 'C to be running tasks')
    await c.kill9()
    const runs = await batch
    expect(runs.every(r => r.status === 'ok')).toBe(true)
    const moved = runs.filter(r => r.attempts > 1)
    console.info(`[tasks] kill -9 mid-batch: ${moved.length} of 18 moved, attempts ${JSON.stringify(moved.map(r => r.attempts))}, slowest ${Math.max(...runs.map(r => r.durationMs))} ms`)
    expect(moved.length).toBeGreaterThan(0)
    expect(runs.every(r => r.peer !== idC)).toBe(true)
    for (const d of [a, b]) {
      const served = await d.json<ServedDoc[]>('tasks', '--served')
      const ids = served.map(s => s.taskId)
      expect(new Set(ids).size).toBe(ids.length)
    }
  })
})

describe('the task journal', () => {
  it('a daemon killed with accepted tasks finishes them after a restart; the one it was running waits for another node', async () => {
    const d = await startDaemon({ args: ['--concurrency', '1'] })
    const pending = Array.from({ length: 3 }, async () => d.api('POST', '/v1/tasks', { kind: 'sleep', input: { ms: 1500 } }).catch(() => undefined))
    // Accepted = listed; wait for one to run, so the kill cuts it.
    await waitFor(async () => {
      const listed = await d.json<Array<{ status: string }>>('tasks')
      return listed.length === 3 && (await d.json<ServedDoc[]>('tasks', '--served')).length > 0
    }, 15_000, 'three tasks accepted, one running')
    const accepted = (await d.json<Array<{ taskId: string }>>('tasks')).map(t => t.taskId)
    const cut = (await d.json<Array<{ taskId: string, status: string }>>('tasks', '--served')).filter(s => s.status === 'running').map(s => s.taskId)
    await d.kill9()
    await Promise.all(pending)
    const again = await startDaemon({ dataDir: d.dataDir, args: ['--concurrency', '1'] })
    const doneOn = async (daemon: Daemon): Promise<string[]> => (await daemon.json<Array<{ taskId: string, status: string }>>('tasks')).filter(t => t.status === 'ok').map(t => t.taskId)
    await waitFor(async () => {
      const done = await doneOn(again)
      return accepted.filter(id => !cut.includes(id)).every(id => done.includes(id))
    }, 20_000, 'the restarted daemon to finish the journaled tasks it had not started')
    // A run cut by the crash is never repeated on this node: the task stays queued, and its
    // cut run is in the served log as INTERRUPTED.
    for (const id of cut) {
      expect((await again.json<{ status: string }>('tasks', 'show', id)).status).toBe('queued')
      expect((await again.json<ServedDoc[]>('tasks', '--served')).filter(s => s.taskId === id).map(s => [s.status, s.errorCode])).toEqual([['error', 'INTERRUPTED']])
    }
    // Once another node is there, it runs the cut one (same id).
    const helper = await startDaemon({ args: ['--concurrency', '1', '--bootstrap', await again.address()] })
    const idHelper = await helper.peerId()
    await waitFor(async () => {
      const done = await doneOn(again)
      return accepted.every(id => done.includes(id))
    }, 30_000, 'the peer to run the task cut by the crash')
    expect(cut).toHaveLength(1)
    for (const id of cut) expect((await again.json<{ peer: string }>('tasks', 'show', id)).peer).toBe(idHelper)
  })
})

describe('graceful shutdown', () => {
  it('SIGTERM keeps accepted tasks that could not finish; the restarted daemon runs them', async () => {
    const d = await startDaemon({ args: ['--concurrency', '1'] })
    const pending = Array.from({ length: 3 }, async () => d.api('POST', '/v1/tasks', { kind: 'sleep', input: { ms: 1500 } }).catch(() => undefined))
    // Accepted = listed (running, or already done on a slow machine).
    await waitFor(async () => (await d.json<Array<{ status: string }>>('tasks')).length === 3, 15_000, 'three tasks accepted')
    const accepted = (await d.json<Array<{ taskId: string }>>('tasks')).map(t => t.taskId)
    const started = Date.now()
    expect(await d.stop('SIGTERM')).toBe(0)
    expect(Date.now() - started).toBeLessThan(10_000)
    await Promise.all(pending)
    const again = await startDaemon({ dataDir: d.dataDir, args: ['--concurrency', '1'] })
    await waitFor(async () => {
      const done = (await again.json<Array<{ taskId: string, status: string }>>('tasks')).filter(t => t.status === 'ok').map(t => t.taskId)
      return accepted.every(id => done.includes(id))
    }, 30_000, 'the restarted daemon to finish every accepted task')
  })
})

describe('owner-configured command kinds', () => {
  it('run only where configured; a task submitted elsewhere is routed there (allow: members)', async () => {
    const a = await startDaemon({ name: 'plain' })
    const b = await startDaemon({
      name: 'tools',
      args: ['--bootstrap', await a.address()],
      config: { tasks: { upper: { command: ['tr', 'a-z', 'A-Z'], timeoutMs: 5_000, allow: ['members'] } } }
    })
    const idB = await b.peerId()
    await waitFor(async () => ((await a.json<Array<{ peerId: string, capacity: { kinds: string[] } | null }>>('peers')).find(p => p.peerId === idB)?.capacity?.kinds ?? []).includes('upper'), 15_000, 'A to see B advertise the kind')
    const run = await a.json<RunDoc>('run', 'upper', '--input', '"shout"')
    expect(run).toMatchObject({ status: 'ok', peer: idB, output: 'SHOUT' })
    const route = await a.json<Array<{ peerId: string, eligible: boolean, reason: string }>>('route', 'upper')
    expect(route.find(r => r.peerId === idB)?.eligible).toBe(true)
    expect(route.find(r => r.peerId !== idB)).toMatchObject({ eligible: false, reason: 'does not serve this kind' })
  })

  it('by default run only for the owner: not advertised, so no peer sends it there', async () => {
    const a = await startDaemon({ name: 'asker' })
    const b = await startDaemon({
      name: 'owner',
      args: ['--bootstrap', await a.address()],
      config: { tasks: { upper: { command: ['tr', 'a-z', 'A-Z'], timeoutMs: 5_000 } } }
    })
    const idB = await b.peerId()
    await waitFor(async () => (await a.json<Array<{ peerId: string, capacity: unknown }>>('peers')).find(p => p.peerId === idB)?.capacity != null, 15_000, 'A to hear B')
    expect((await a.json<Array<{ peerId: string, capacity: { kinds: string[] } }>>('peers')).find(p => p.peerId === idB)?.capacity.kinds).not.toContain('upper')
    expect(await b.json<RunDoc>('run', 'upper', '--input', '"mine"')).toMatchObject({ status: 'ok', output: 'MINE' })
    const asked = await a.cli('run', 'upper', '--input', '"yours"', '--peer', idB, '--json')
    expect(asked.code).toBe(1)
    expect(JSON.parse(asked.stdout)).toMatchObject({ status: 'error', error: expect.stringMatching(/does not serve this kind/) })
    // (A peer that sends it anyway is answered FORBIDDEN by B's executor: unit-tested.)
  })
})
