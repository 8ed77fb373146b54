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

/** `run sleep MS --peer worker --json` from A, as a background process. */
function sleepOnWorker (ms: number, extra: string[] = []): CliProcess {
  return spawnCli(['run', 'sleep', '--input', JSON.stringify({ ms }), '--peer', 'worker', '--json', '--data-dir', a.dataDir, ...extra])
}

async function activeOnA (): Promise<TaskRow[]> {
  return (await a.json<TaskRow[]>('tasks')).filter(t => t.status === 'queued' || t.status === 'running')
}

describe('tasks cancel', () => {
  it('drops tasks that have not started (in the admission queue, in the worker\'s queue); a running one may still finish', async () => {
    const first = sleepOnWorker(6_000)
    await waitFor(async () => (await activeOnA()).length === 1, 10_000, 'the first task to go out')
    const second = sleepOnWorker(6_000)
    await waitFor(async () => (await activeOnA()).length === 2, 10_000, 'the second task to go out')
    const third = sleepOnWorker(6_000)
    // B has one slot: A lets two tasks out to it (one runs, one waits in B's queue); the third waits at A.
    await waitFor(async () => (await activeOnA()).some(t => t.status === 'queued'), 10_000, 'a task waiting in A\'s admission queue')
    await waitFor(async () => (await b.json<ServedRow[]>('tasks', '--served')).some(r => r.status === 'running'), 10_000, 'B to run the first')
    const [running] = (await b.json<ServedRow[]>('tasks', '--served')).filter(r => r.status === 'running')
    const queuedAtA = (await activeOnA()).find(t => t.status === 'queued') as TaskRow
    const queuedAtB = (await activeOnA()).find(t => t.taskId !== running.taskId && t.taskId !== queuedAtA.taskId) as TaskRow

    const c1 = await a.json<CancelDoc>('tasks', 'cancel', queuedAtA.taskId)
    expect(c1).toMatchObject({ outcome: 'cancelled', status: 'error', errorCode: 'CANCELLED' })
    // By the first 8 characters, as `tasks` prints them.
    const c2 = await a.cli('tasks', 'cancel', queuedAtB.taskId.slice(0, 8))
    expect(c2.code).toBe(0)
    expect(c2.stdout).toMatch(/cancelled before it started: it will not run/)
    const c3 = await a.json<CancelDoc>('tasks', 'cancel', running.taskId)
    expect(c3).toMatchObject({ outcome: 'may-still-finish', peer: idB })
    expect(c3.message).toMatch(/may still finish there/)

    const results = await Promise.all([first.done, second.done, third.done])
    for (const r of results) {
      expect(r.code).toBe(1) // a task that did not complete (cancelled) is a failed run
      expect(JSON.parse(r.stdout)).toMatchObject({ status: 'error', errorCode: 'CANCELLED' })
    }
    // Journaled as cancelled; cancelling again finds it finished.
    expect(await a.json('tasks', 'show', queuedAtA.taskId)).toMatchObject({ status: 'error', errorCode: 'CANCELLED', error: 'cancelled before it started' })
    expect(await a.json<CancelDoc>('tasks', 'cancel', queuedAtA.taskId)).toMatchObject({ outcome: 'already-finished' })
    // B ran only the first: it finishes there; the cancelled ones never started.
    await waitFor(async () => (await b.json<ServedRow[]>('tasks', '--served')).find(r => r.taskId === running.taskId)?.status === 'ok', 15_000, 'the running task to finish on B')
    const served = (await b.json<ServedRow[]>('tasks', '--served')).map(r => r.taskId)
    expect(served).not.toContain(queuedAtA.taskId)
    expect(served).not.toContain(queuedAtB.taskId)
  })
})

describe('Ctrl-C on run', () => {
  it('without a terminal to ask on: leaves the task running, says how to find it, exits 130', async () => {
    const run = spawnCli(['run', 'sleep', '--input', '{"ms":1500}', '--data-dir', a.dataDir])
    await waitFor(async () => (await activeOnA()).some(t => t.kind === 'sleep' && t.status === 'running'), 10_000, 'the task to run')
    const [task] = (await activeOnA()).filter(t => t.status === 'running')
    run.proc.kill('SIGINT')
    const r = await run.done
    expect(r.code).toBe(130)
    expect(r.stderr).toMatch(new RegExp(`interrupted: task ${task.taskId} goes on without this command; see: fedmesh tasks show ${task.taskId}`))
    await waitFor(async () => (await a.json<{ status: string }>('tasks', 'show', task.taskId)).status === 'ok', 15_000, 'the task to finish anyway')
  })

  const hasScript = spawnSync('sh', ['-c', 'command -v script']).status === 0
  it('in a terminal: a progress line, then Ctrl-C asks; "y" cancels the task (here before it started)', async (ctx) => {
    ctx.skip(!hasScript, 'util-linux `script` (Debian package bsdutils) is not installed to give the CLI a terminal')
    // Keep B's slot busy so the task waits in B's queue.
    const blocker = sleepOnWorker(4_000)
    await waitFor(async () => (await b.json<ServedRow[]>('tasks', '--served')).some(r => r.status === 'running'), 10_000, 'B to be busy')
    const tty = spawnInTty(['run', 'sleep', '--input', '{"ms":3000}', '--peer', 'worker', '--data-dir', a.dataDir])
    await waitFor(() => /sleep +task \w{8} +running/.test(tty.stdout()), 10_000, 'the progress line')
    tty.proc.stdin?.write('\u0003')
    await waitFor(() => /cancel task [\w-]+\? \[y\/N\]/.test(tty.stdout()), 10_000, 'the question')
    tty.proc.stdin?.write('y\r')
    const r = await tty.done
    expect(r.stdout).toMatch(/cancelled before it started: it will not run/)
    expect(r.stdout).toMatch(/CANCELLED: cancelled before it started/)
    expect(r.stdout).toMatch(/exit=130/)
    await blocker.done
  })

  it('in a terminal: "n" (or Enter) keeps waiting and the task completes', async (ctx) => {
    ctx.skip(!hasScript, 'util-linux `script` (Debian package bsdutils) is not installed to give the CLI a terminal')
    const tty = spawnInTty(['run', 'sleep', '--input', '{"ms":1500}', '--data-dir', a.dataDir])
    await waitFor(() => /sleep +task \w{8} +(running|queued)/.test(tty.stdout()), 10_000, 'the progress line')
    tty.proc.stdin?.write('\u0003')
    await waitFor(() => /\[y\/N\]/.test(tty.stdout()), 10_000, 'the question')
    tty.proc.stdin?.write('\r')
    const r = await tty.done
    expect(r.stdout).toMatch(/\{"sleptMs":\d+\}/)
    expect(r.stdout).toMatch(/exit=0/)
  })
})
