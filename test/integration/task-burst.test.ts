import { afterAll, describe, expect, it } from 'vitest'
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

describe('a burst of 1,000 tasks on one node of three', () => {
  it('completes every task and leaves every peer in good standing', async () => {
    const a = await startDaemon({ name: 'a', args: ['--concurrency', String(SLOTS)] })
    const addr = await a.address()
    const [b, c] = await Promise.all(['b', 'c'].map(async name => startDaemon({ name, args: ['--concurrency', String(SLOTS), '--bootstrap', addr] })))
    await waitFor(async () => (await a.json<PeerDoc[]>('peers')).filter(p => p.capacity != null).length === 2, 15_000, 'A to see B and C advertise')

    // Sleeps of 50-300 ms, spread evenly (deterministic, so runs compare).
    const sleeps = Array.from({ length: TASKS }, (_, i) => 50 + ((i * 97) % 251))
    const started = Date.now()
    const answers = await Promise.all(sleeps.map(async ms => a.api('POST', '/v1/tasks', { kind: 'sleep', input: { ms }, timeoutMs: 120_000 })))
    const wallMs = Date.now() - started

    const statuses = countBy(answers.map(r => String(r.status)))
    const runs = answers.map(r => r.body as RunDoc)
    const outcomes = countBy(runs.map(r => r.status === 'ok' ? 'ok' : `${r.errorCode ?? r.status}`))
    const perPeer = countBy(runs.map(r => r.peer.slice(-6)))
    const idealMs = sleeps.reduce((s, ms) => s + ms, 0) / (3 * SLOTS)
    const reputations: Record<string, Array<{ peer: string, reputation: number, state?: string }>> = {}
    for (const [name, d] of [['a', a], ['b', b], ['c', c]] as Array<[string, Daemon]>) {
      reputations[name] = (await d.json<PeerDoc[]>('peers')).map(p => ({ peer: p.name !== '' ? p.name : p.peerId.slice(-6), reputation: p.reputation, state: p.reputationState }))
    }
    console.info(`[burst] ${TASKS} x sleep 50-300 ms on A (3 x ${SLOTS} slots): wall ${wallMs} ms (ideal ${Math.round(idealMs)} ms); http ${JSON.stringify(statuses)}; outcomes ${JSON.stringify(outcomes)}; per node ${JSON.stringify(perPeer)}; reputations ${JSON.stringify(reputations)}`)

    expect(statuses).toEqual({ 200: TASKS })
    expect(outcomes).toEqual({ ok: TASKS })
    for (const [name, peers] of Object.entries(reputations)) {
      expect(peers.filter(p => p.reputation < 0 || p.state === 'banned'), `peers ${name} holds against others`).toEqual([])
    }
    expect((await a.json<{ mode: string }>('status')).mode).toBe('federated')
  }, 240_000)
})

describe('the admission queue', () => {
  it('holds what does not fit, shows it as queued, and answers 503 with Retry-After beyond its limit', async () => {
    const d = await startDaemon({ name: 'solo', args: ['--concurrency', '1'], config: { admissionQueueLimit: 4 } })
    // One slot, depth 2: two tasks go out, four wait, the seventh is refused.
    const ids = Array.from({ length: 6 }, (_, i) => `adm-${i}`)
    const runs = ids.map(async (taskId, i) => d.api('POST', '/v1/tasks', { kind: 'sleep', input: { ms: i < 2 ? 1_500 : 50 }, taskId }))
    await waitFor(async () => (await d.api('GET', '/v1/tasks/adm-5')).body.status === 'queued', 10_000, 'the last task to wait in the admission queue')
    expect((await d.api('GET', '/v1/tasks/adm-0')).body.status).toBe('running')
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
    expect((await d.cli('tasks', 'show', 'adm-refused')).stderr).toMatch(/not found/)
    const done = await Promise.all(runs)
    expect(done.map(r => [r.status, r.body.status])).toEqual(ids.map(() => [200, 'ok']))
    const shown = await d.json<{ status: string, output: { sleptMs: number } }>('tasks', 'show', 'adm-5')
    expect(shown.status).toBe('ok')
    expect(shown.output.sleptMs).toBeGreaterThanOrEqual(50)
  })
})

function countBy (values: string[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const v of values) out[v] = (out[v] ?? 0) + 1
  return out
}
