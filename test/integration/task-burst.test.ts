import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDaemon, stopAll, waitFor } from '../helpers/daemon.js'
import type { Daemon } from '../helpers/daemon.js'

/**
 * A burst of a node's own tasks, far beyond every slot in the mesh, is admitted and queued
 * locally, never answered with errors, and never costs the honest peers that truthfully said
 * they were busy any reputation (issue 11, point 2).
 */

interface RunDoc { taskId: string, status: string, peer: string, attempts: number, errorCode?: string, error?: string }
interface PeerDoc { peerId: string, name: string, capacity: unknown, reputation: number, reputationState?: string }

afterAll(stopAll)

const SLOTS = 4
const TASKS = 1_000

describe('bursts beyond every slot of a three-node mesh', () => {
  let a: Daemon, b: Daemon, c: Daemon
  beforeAll(async () => {
    a = await startDaemon({ name: 'a', args: ['--concurrency', String(SLOTS)] })
    const addr = await a.address()
    ;[b, c] = await Promise.all(['b', 'c'].map(async name => startDaemon({ name, args: ['--concurrency', String(SLOTS), '--bootstrap', addr] })))
    await waitFor(async () => (await a.json<PeerDoc[]>('peers')).filter(p => p.capacity != null).length === 2, 15_000, 'A to see B and C advertise')
    await waitFor(async () => (await b.json<PeerDoc[]>('peers')).filter(p => p.capacity != null).length === 2, 15_000, 'B to see A and C advertise')
  })

  it('1,000 concurrent tasks on one node all complete, and every peer stays in good standing', async () => {
    // Sleeps of 50-300 ms, spread evenly (deterministic, so runs compare).
    const sleeps = Array.from({ length: TASKS }, (_, i) => 50 + ((i * 97) % 251))
    const started = Date.now()
    const answers = await Promise.all(sleeps.map(async ms => a.api('POST', '/v1/tasks', { kind: 'sleep', input: { ms }, timeoutMs: 120_000 })))
    const wallMs = Date.now() - started
    const idealMs = sleeps.reduce((s, ms) => s + ms, 0) / (3 * SLOTS)
    const runs = answers.map(r => r.body as RunDoc)
    const reputations = await reputationsOf({ a, b, c })
    console.info(`[burst] ${TASKS} x sleep 50-300 ms on A (3 x ${SLOTS} slots): wall ${wallMs} ms (ideal ${Math.round(idealMs)} ms); http ${JSON.stringify(countBy(answers.map(r => String(r.status))))}; outcomes ${JSON.stringify(outcomesOf(runs))}; per node ${JSON.stringify(countBy(runs.map(r => r.peer?.slice(-6) ?? `none: ${JSON.stringify(r).slice(0, 200)}`)))}; attempts ${JSON.stringify(countBy(runs.map(r => String(r.attempts))))}; reputations ${JSON.stringify(reputations)}`)

    expect(countBy(answers.map(r => String(r.status)))).toEqual({ 200: TASKS })
    expect(outcomesOf(runs)).toEqual({ ok: TASKS })
    expectGoodStanding(reputations)
    expect((await a.json<{ mode: string }>('status')).mode).toBe('federated')
  }, 240_000)

  it('two nodes bursting at once, each also on the other node\'s slots: every task completes, nobody is charged', async () => {
    const each = 400
    const burst = (d: Daemon): Array<Promise<{ status: number, body: any }>> => Array.from({ length: each }, async (_, i) => d.api('POST', '/v1/tasks', { kind: 'sleep', input: { ms: 50 + ((i * 37) % 151) }, timeoutMs: 120_000 }))
    const started = Date.now()
    const answers = await Promise.all([...burst(a), ...burst(b)])
    const wallMs = Date.now() - started
    const runs = answers.map(r => r.body as RunDoc)
    const reputations = await reputationsOf({ a, b, c })
    console.info(`[burst] ${each} on A and ${each} on B at once: wall ${wallMs} ms; outcomes ${JSON.stringify(outcomesOf(runs))}; attempts ${JSON.stringify(countBy(runs.map(r => String(r.attempts))))}; reputations ${JSON.stringify(reputations)}`)
    expect(outcomesOf(runs)).toEqual({ ok: 2 * each })
    expectGoodStanding(reputations)
  }, 240_000)
})

async function reputationsOf (daemons: Record<string, Daemon>): Promise<Record<string, Array<{ peer: string, reputation: number, state?: string }>>> {
  const out: Record<string, Array<{ peer: string, reputation: number, state?: string }>> = {}
  for (const [name, d] of Object.entries(daemons)) {
    out[name] = (await d.json<PeerDoc[]>('peers')).map(p => ({ peer: p.name !== '' ? p.name : p.peerId.slice(-6), reputation: p.reputation, state: p.reputationState }))
  }
  return out
}

function expectGoodStanding (reputations: Record<string, Array<{ peer: string, reputation: number, state?: string }>>): void {
  for (const [name, peers] of Object.entries(reputations)) {
    expect(peers.filter(p => p.reputation < 0 || p.state === 'banned'), `peers ${name} holds against others`).toEqual([])
  }
}

function outcomesOf (runs: RunDoc[]): Record<string, number> {
  return countBy(runs.map(r => r.status === 'ok' ? 'ok' : `${r.errorCode ?? r.status}`))
}

describe('the admission queue', () => {
  it('holds what does not fit, shows it as queued, and answers 503 with Retry-After beyond its limit', async () => {
    const d = await startDaemon({ name: 'solo', args: ['--concurrency', '1'], config: { admissionQueueLimit: 4 } })
    // One slot, depth 2: two tasks go out, four wait, the seventh is refused.
    const ids = Array.from({ length: 6 }, (_, i) => `adm-${i}`)
    const submit = async (taskId: string, ms: number): Promise<{ status: number, body: any }> =>
      d.api('POST', '/v1/tasks', { kind: 'sleep', input: { ms }, taskId }).catch(err => ({ status: -1, body: String(err) }))
    const statusOf = async (id: string): Promise<string> => (await d.api('GET', `/v1/tasks/${id}`)).body.status
    // Two long ones take the window, then four short ones wait behind them.
    const runs = ids.slice(0, 2).map(async id => submit(id, 2_000))
    await waitFor(async () => (await statusOf('adm-0')) === 'running' && (await statusOf('adm-1')) === 'running', 10_000, 'two tasks to go out')
    runs.push(...ids.slice(2).map(async id => submit(id, 50)))
    await waitFor(async () => (await Promise.all(ids.slice(2).map(statusOf))).every(s => s === 'queued'), 10_000, 'four tasks to wait in the admission queue')
    const res = await fetch(`${await d.apiUrl()}/v1/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await d.token()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'sleep', input: { ms: 1 }, taskId: 'adm-refused' })
    })
    expect(res.status).toBe(503)
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(((await res.json()) as { error: string }).error).toMatch(/wait for a free slot/)
    // Refused before it was journaled: unknown here.
    expect((await d.api('GET', '/v1/tasks/adm-refused')).status).toBe(404)
    const unknown = await d.cli('tasks', 'show', 'adm-refused')
    expect(unknown.code).toBe(4)
    expect(unknown.stderr).toMatch(/not found/)
    expect((await d.cli('tasks', 'show', 'adm-0')).stdout).toMatch(/^status +(running|ok)$/m) // the table for people
    const done = await Promise.all(runs)
    expect(done.map(r => [r.status, r.body.status])).toEqual(ids.map(() => [200, 'ok']))
    const shown = await d.json<{ status: string, output: { sleptMs: number } }>('tasks', 'show', 'adm-5')
    expect(shown.status).toBe('ok')
    expect(shown.output.sleptMs).toBeGreaterThan(40) // the sleep it was given (timers may fire a millisecond early)
  })
})

function countBy (values: string[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const v of values) out[v] = (out[v] ?? 0) + 1
  return out
}
