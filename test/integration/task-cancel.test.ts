import { spawnSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDaemon, stopAll, waitFor } from '../helpers/daemon.js'
import { spawnCli, spawnInTty } from '../helpers/cli-process.js'
import type { Daemon } from '../helpers/daemon.js'
import type { CliProcess } from '../helpers/cli-process.js'

/**
 * `fedmesh tasks cancel` and Ctrl-C on `fedmesh run`, with real daemons: A submits, B (one
 * slot) runs. A task waiting in A's admission queue and one waiting in B's executor queue are
 * cancelled before they start (B never runs them); a task running on B may still finish there,
 * and the answer says so.
 */

interface TaskRow { taskId: string, status: string, kind: string }
interface CancelDoc { taskId: string, outcome: string, status: string, errorCode?: string, peer?: string, message: string }
interface ServedRow { taskId: string, status: string }

let a: Daemon
let b: Daemon
let idB: string

beforeAll(async () => {
  a = await startDaemon({ name: 'submitter', args: ['--concurrency', '1'] })
  b = await startDaemon({ name: 'worker', args: ['--concurrency', '1', '--bootstrap', await a.address()] })
  idB = await b.peerId()
  await waitFor(async () => (await a.json<Array<{ peerId: string, capacity: unknown }>>('peers')).some(p => p.peerId === idB && p.capacity != null), 15_000, 'A to hear B')
})

afterAll(stopAll)

/** `run sleep MS --peer PEER --json` from A, as a background process. */
function sleepOn (peer: string, ms: number): CliProcess {
  return spawnCli(['run', 'sleep', '--input', JSON.stringify({ ms }), '--peer', peer, '--json', '--data-dir', a.dataDir])
}

async function activeOnA (): Promise<TaskRow[]> {
  return (await a.json<TaskRow[]>('tasks')).filter(t => t.status === 'queued' || t.status === 'running')
}

/**
 * Tasks here sleep far longer than the test needs (30 s), so a loaded machine (slow CLI calls)
 * cannot let one finish or start before the test cancels it; each test cancels what it left.
 */
const LONG_MS = 30_000

async function cancelEverything (): Promise<void> {
  for (const t of await activeOnA()) await a.cli('tasks', 'cancel', t.taskId)
}

describe('tasks cancel', () => {
  it('on this node: drops the task waiting in the admission queue and the one in the executor\'s queue; the running one may still finish', async () => {
    // A has one slot: of three tasks pinned to itself one runs, one waits in its executor's
    // queue (two may be out per slot), one waits in the admission queue. No network involved.
    const runs: CliProcess[] = []
    for (let i = 1; i <= 3; i++) {
      runs.push(sleepOn('submitter', LONG_MS))
      await waitFor(async () => (await activeOnA()).length === i, 10_000, `task ${i} to be accepted`)
    }
    await waitFor(async () => (await activeOnA()).some(t => t.status === 'queued'), 10_000, 'a task waiting in the admission queue')
    const served = await a.json<ServedRow[]>('tasks', '--served')
    const running = served.find(r => r.status === 'running') as ServedRow
    const queuedHere = (await activeOnA()).find(t => t.status === 'queued') as TaskRow
    const queuedInExecutor = (await activeOnA()).find(t => t.taskId !== running.taskId && t.taskId !== queuedHere.taskId) as TaskRow

    expect(await a.json<CancelDoc>('tasks', 'cancel', queuedHere.taskId)).toMatchObject({ outcome: 'cancelled', status: 'error', errorCode: 'CANCELLED' })
    // By the first 8 characters, as `tasks` prints them.
    const second = await a.cli('tasks', 'cancel', queuedInExecutor.taskId.slice(0, 8))
    expect(second.code).toBe(0)
    expect(second.stdout).toMatch(/cancelled before it started: it will not run/)
    const third = await a.json<CancelDoc>('tasks', 'cancel', running.taskId)
    expect(third).toMatchObject({ outcome: 'may-still-finish', peer: await a.peerId() })
    expect(third.message).toMatch(/this node had started it/)

    for (const r of await Promise.all(runs.map(async p => p.done))) {
      expect(r.code).toBe(1) // a run that did not complete is a failed run
      expect(JSON.parse(r.stdout)).toMatchObject({ status: 'error', errorCode: 'CANCELLED' })
    }
    // Journaled as cancelled; cancelling again finds it finished.
    expect(await a.json('tasks', 'show', queuedHere.taskId)).toMatchObject({ status: 'error', errorCode: 'CANCELLED', error: 'cancelled before it started' })
    expect(await a.json<CancelDoc>('tasks', 'cancel', queuedHere.taskId)).toMatchObject({ outcome: 'already-finished' })
    const ran = await a.json<ServedRow[]>('tasks', '--served')
    expect(ran.find(r => r.taskId === running.taskId)?.status).toBe('running') // not stopped
    expect(ran.map(r => r.taskId)).not.toContain(queuedHere.taskId)
    expect(ran.map(r => r.taskId)).not.toContain(queuedInExecutor.taskId)
  }, 90_000)

  it('on a peer: the task waiting in the peer\'s queue is dropped there (CANCEL); the one running there may still finish', async () => {
    const runs = [sleepOn('worker', LONG_MS)]
    await waitFor(async () => (await b.json<ServedRow[]>('tasks', '--served')).some(r => r.status === 'running'), 10_000, 'B to run the first')
    const running = (await b.json<ServedRow[]>('tasks', '--served')).find(r => r.status === 'running') as ServedRow
    runs.push(sleepOn('worker', LONG_MS))
    await waitFor(async () => (await activeOnA()).filter(t => t.status === 'running').length === 2, 10_000, 'the second to go out to B')
    const queuedAtB = (await activeOnA()).find(t => t.taskId !== running.taskId) as TaskRow

    expect(await a.json<CancelDoc>('tasks', 'cancel', queuedAtB.taskId)).toMatchObject({ outcome: 'cancelled', errorCode: 'CANCELLED' })
    const c = await a.json<CancelDoc>('tasks', 'cancel', running.taskId)
    expect(c).toMatchObject({ outcome: 'may-still-finish', peer: idB })
    expect(c.message).toMatch(new RegExp(`peer ${idB} had started it .*may still finish there`))
    for (const r of await Promise.all(runs.map(async p => p.done))) expect(JSON.parse(r.stdout)).toMatchObject({ errorCode: 'CANCELLED' })
    const served = await b.json<ServedRow[]>('tasks', '--served')
    expect(served.find(r => r.taskId === running.taskId)?.status).toBe('running')
    expect(served.map(r => r.taskId)).not.toContain(queuedAtB.taskId)
  }, 90_000)
})

describe('Ctrl-C on run', () => {
  it('without a terminal to ask on: leaves the task running, says how to find it, exits 130', async () => {
    const run = spawnCli(['run', 'sleep', '--input', JSON.stringify({ ms: LONG_MS }), '--data-dir', a.dataDir])
    await waitFor(async () => (await activeOnA()).some(t => t.kind === 'sleep' && t.status === 'running'), 10_000, 'the task to run')
    const [task] = (await activeOnA()).filter(t => t.status === 'running')
    run.proc.kill('SIGINT')
    const r = await run.done
    expect(r.code).toBe(130)
    expect(r.stderr).toMatch(new RegExp(`interrupted: task ${task.taskId} goes on without this command; see: fedmesh tasks show ${task.taskId}`))
    expect((await a.json<{ status: string }>('tasks', 'show', task.taskId)).status).toBe('running')
    await cancelEverything()
  }, 90_000)

  const hasScript = spawnSync('sh', ['-c', 'command -v script']).status === 0
  it('in a terminal: a progress line, then Ctrl-C asks; "y" cancels the task (here before it started)', async (ctx) => {
    ctx.skip(!hasScript, 'util-linux `script` (Debian package bsdutils) is not installed to give the CLI a terminal')
    // Keep B's slot busy so the task waits in B's queue.
    const blocker = sleepOn('worker', LONG_MS)
    await waitFor(async () => (await b.json<ServedRow[]>('tasks', '--served')).some(r => r.status === 'running'), 10_000, 'B to be busy')
    const tty = spawnInTty(['run', 'sleep', '--input', JSON.stringify({ ms: LONG_MS }), '--peer', 'worker', '--data-dir', a.dataDir])
    await waitFor(() => /sleep +task \w{8} +running/.test(tty.stdout()), 10_000, 'the progress line')
    tty.proc.stdin?.write('\u0003')
    await waitFor(() => /cancel task [\w-]+\? \[y\/N\]/.test(tty.stdout()), 10_000, 'the question')
    tty.proc.stdin?.write('y\r')
    const r = await tty.done
    expect(r.stdout).toMatch(/cancelled before it started: it will not run/)
    expect(r.stdout).toMatch(/CANCELLED: cancelled before it started/)
    expect(r.code).toBe(130)
    await cancelEverything()
    await blocker.done
  }, 90_000)

  it('in a terminal: "n" (or Enter) keeps waiting and the task completes', async (ctx) => {
    ctx.skip(!hasScript, 'util-linux `script` (Debian package bsdutils) is not installed to give the CLI a terminal')
    // A node of its own: A's and B's slots still hold the 30 s tasks the tests above could not stop.
    const solo = await startDaemon({ name: 'solo' })
    const tty = spawnInTty(['run', 'sleep', '--input', '{"ms":2000}', '--data-dir', solo.dataDir])
    await waitFor(() => /sleep +task \w{8} +(running|queued)/.test(tty.stdout()), 10_000, 'the progress line')
    tty.proc.stdin?.write('\u0003')
    await waitFor(() => /\[y\/N\]/.test(tty.stdout()), 10_000, 'the question')
    tty.proc.stdin?.write('\r')
    const r = await tty.done
    expect(r.stdout).toMatch(/\{"sleptMs":\d+\}/)
    expect(r.code).toBe(0)
  })
})
