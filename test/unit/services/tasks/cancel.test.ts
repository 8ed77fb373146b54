import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { logger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { streamPair } from '@libp2p/utils'
import { ErrorCode } from '../../../../src/wire/task.js'
import { CapacityTable } from '../../../../src/services/capacity/capacity-table.js'
import { Dispatcher } from '../../../../src/services/tasks/dispatcher.js'
import { Executor } from '../../../../src/services/tasks/executor.js'
import { frameLimitsFor } from '../../../../src/services/tasks/frame-limits.js'
import { StreamTaskClient } from '../../../../src/services/tasks/task-client.js'
import type { TaskClient } from '../../../../src/services/tasks/task-client.js'
import { serveTaskStream } from '../../../../src/services/tasks/task-server.js'
import { bytes, gatedHandler, manualClock, spec } from '../../../helpers/unit-tasks.js'
import type { TaskOutcome } from '../../../../src/services/tasks/executor.js'
import type { RequestOptions } from '../../../../src/services/tasks/task-client.js'
import type { ValidatedAd } from '../../../../src/services/capacity/validate-ad.js'
import type { PeerId, Stream } from '@libp2p/interface'
import type { TaskRequest } from '../../../../src/wire/task.js'

/**
 * `fedmesh tasks cancel`: an executor drops a task of its submitter that still waits in its
 * queue (over the wire: CANCEL naming the REQUEST); a cancelled dispatch tries nothing new and
 * says whether the task never started or may still finish somewhere.
 */

const limits = frameLimitsFor(64 * 1024)
const log = logger('fedmesh:test:cancel')
let remote: PeerId
const streams: Stream[] = []

beforeAll(async () => { remote = peerIdFromPrivateKey(await generateKeyPair('Ed25519')) })
afterEach(() => { for (const s of streams.splice(0)) s.abort(new Error('test over')) })

function executor (concurrency = 1): { executor: Executor, gate: ReturnType<typeof gatedHandler> } {
  const gate = gatedHandler()
  return { executor: new Executor({ concurrency, handlers: new Map([['k', gate.handler]]), clock: manualClock(), fairShare: 1 }), gate }
}

describe('Executor.cancelQueued', () => {
  it('drops a queued task of that submitter (CANCELLED, never run); a running one or another submitter\'s stays', async () => {
    const { executor: ex, gate } = executor(1)
    const running = ex.submit(spec('a'))
    const queued = ex.submit(spec('b'))
    const theirs = ex.submit(spec('b', { origin: 'peer-x' }))
    await vi.waitFor(() => { expect(gate.calls).toHaveLength(1) })
    expect(ex.cancelQueued('a', 'local')).toBe(false) // running: not stopped
    expect(ex.cancelQueued('b', 'peer-y')).toBe(false) // ids are the submitter's
    expect(ex.cancelQueued('b', 'local')).toBe(true)
    expect(await queued).toMatchObject({ error: ErrorCode.CANCELLED })
    expect(ex.load().queueDepth).toBe(1)
    gate.calls[0].resolve()
    expect((await running).error).toBe(ErrorCode.NONE)
    await vi.waitFor(() => { expect(gate.calls).toHaveLength(2) })
    expect(gate.calls[1].ctx.taskId).toBe('b') // peer-x's b runs; the cancelled one never did
    gate.calls[1].resolve()
    expect((await theirs).error).toBe(ErrorCode.NONE)
    // Never started: a later submission of the same id may run it.
    const again = ex.submit(spec('b'))
    await vi.waitFor(() => { expect(gate.calls).toHaveLength(3) })
    gate.calls[2].resolve()
    expect((await again).error).toBe(ErrorCode.NONE)
  })
})

describe('Executor.stopRunning', () => {
  it('stops a running task of that submitter (its signal aborts, the slot frees, CANCELLED) and never runs that id again', async () => {
    const { executor: ex, gate } = executor(1)
    const running = ex.submit(spec('a'))
    const next = ex.submit(spec('n'))
    await vi.waitFor(() => { expect(gate.calls).toHaveLength(1) })
    expect(ex.stopRunning('a', 'peer-y')).toBe(false) // ids are the submitter's
    expect(ex.stopRunning('n', 'local')).toBe(false) // queued, not running
    expect(ex.stopRunning('a', 'local')).toBe(true)
    expect(gate.calls[0].ctx.signal.aborted).toBe(true)
    expect(await running).toMatchObject({ error: ErrorCode.CANCELLED, message: expect.stringMatching(/stopped by its submitter/) })
    // The slot went to the next task at once.
    await vi.waitFor(() => { expect(gate.calls).toHaveLength(2) })
    expect(gate.calls[1].ctx.taskId).toBe('n')
    gate.calls[1].resolve()
    expect((await next).error).toBe(ErrorCode.NONE)
    // It ran: the same id is not run again here (the remembered answer).
    expect(await ex.submit(spec('a'))).toMatchObject({ error: ErrorCode.CANCELLED, deduped: true })
    expect(gate.calls).toHaveLength(2)
    expect(ex.stopRunning('a', 'local')).toBe(false)
  })
})

describe('CANCEL of a request over /fedmesh/task/1.0.0', () => {
  async function connected (): Promise<{ client: TaskClient, ex: Executor, gate: ReturnType<typeof gatedHandler> }> {
    const { executor: ex, gate } = executor(1)
    const client = new StreamTaskClient({
      openStream: async () => {
        const [a, b] = await streamPair()
        streams.push(a, b)
        void serveTaskStream(b, remote, { executor: ex, limits, log })
        return a
      },
      limits,
      log
    })
    return { client, ex, gate }
  }
  const request = (taskId: string): TaskRequest => ({ taskId, kind: 'k', input: bytes(taskId) as Uint8Array<ArrayBuffer>, deadlineMs: 30_000, attempt: 1, maxWaitMs: 0, expectedRunMs: 0, ageMs: 0, priority: 0 })

  it('a task still queued there is dropped and answered CANCELLED; a running one finishes and answers', async () => {
    const { client, ex, gate } = await connected()
    const cancelRunning = new AbortController()
    const cancelQueued = new AbortController()
    const first = client.request(request('first'), { cancel: cancelRunning.signal })
    await vi.waitFor(() => { expect(gate.calls).toHaveLength(1) })
    const second = client.request(request('second'), { cancel: cancelQueued.signal })
    await vi.waitFor(() => { expect(ex.load().queueDepth).toBe(1) })
    cancelQueued.abort()
    expect(await second).toMatchObject({ error: ErrorCode.CANCELLED })
    expect(ex.load().queueDepth).toBe(0)
    cancelRunning.abort()
    gate.calls[0].resolve()
    expect((await first).error).toBe(ErrorCode.NONE)
    expect(gate.calls).toHaveLength(1) // "second" never ran
  })

  it('CANCEL with stop (answered elsewhere): a running task is stopped and answers CANCELLED, a queued one is dropped', async () => {
    const { client, ex, gate } = await connected()
    const stopFirst = new AbortController()
    const stopSecond = new AbortController()
    const first = client.request(request('first'), { stop: stopFirst.signal })
    await vi.waitFor(() => { expect(gate.calls).toHaveLength(1) })
    const second = client.request(request('second'), { stop: stopSecond.signal })
    await vi.waitFor(() => { expect(ex.load().queueDepth).toBe(1) })
    stopSecond.abort()
    expect(await second).toMatchObject({ error: ErrorCode.CANCELLED })
    stopFirst.abort()
    expect(await first).toMatchObject({ error: ErrorCode.CANCELLED, message: expect.stringMatching(/stopped/) })
    expect(gate.calls[0].ctx.signal.aborted).toBe(true)
    expect(gate.calls).toHaveLength(1) // "second" never ran
    expect(ex.load()).toMatchObject({ running: 0, queueDepth: 0 })
  })
})

describe('a cancelled dispatch', () => {
  const clock = { now: () => Date.now() }
  const ad = (over: Partial<ValidatedAd> = {}): ValidatedAd => ({
    seq: Date.now(), name: 'p', cores: 4, freeMemoryMb: 1024, load: 0, queueDepth: 0, running: 0, concurrency: 2, queueLimit: 64,
    kinds: ['k'], meanRunMs: new Map([['k', 10]]), intervalMs: 60_000, addrs: [], clamped: [], ...over
  })
  /** One remote peer `a` whose answer to a request the test scripts; this node does not serve `k`. */
  function setup (answer: (r: TaskRequest, o: RequestOptions) => Promise<TaskOutcome>, cancelGraceMs = 200): Dispatcher {
    const table = new CapacityTable({ clock })
    table.update('a', ad())
    return new Dispatcher({
      selfId: 'self',
      executor: new Executor({ concurrency: 1, handlers: new Map(), clock }),
      table: () => table,
      view: { rtt: () => ({ rttMs: 5, source: 'ping' }), reputation: () => ({ score: 0, state: 'healthy' }), circuitOpen: () => false, connected: () => true },
      client: () => ({ request: answer }) as unknown as TaskClient,
      clock,
      random: () => 0,
      cancelGraceMs
    })
  }
  const outcome = (taskId: string, error: ErrorCode): TaskOutcome => ({ taskId, error, output: new Uint8Array(0), message: '', queuedMs: 0, runMs: 0, deduped: false })
  /** A peer that drops the task when told (it had not started). */
  const dropsOnCancel = async (r: TaskRequest, o: RequestOptions): Promise<TaskOutcome> => new Promise(resolve => {
    o.cancel?.addEventListener('abort', () => { resolve(outcome(r.taskId, ErrorCode.CANCELLED)) }, { once: true })
  })

  it('ends when the peer confirms it dropped the task (not after the grace): cancelled before it started', async () => {
    const cancel = new AbortController()
    // A grace longer than the test's own timeout: only the peer's answer can end the dispatch.
    const done = setup(dropsOnCancel, 10 * 60_000).dispatch({ taskId: 't', kind: 'k', input: bytes('x'), timeoutMs: 30_000, signal: cancel.signal })
    await new Promise(resolve => setTimeout(resolve, 20))
    cancel.abort()
    const r = await done
    expect(r.outcome.error).toBe(ErrorCode.CANCELLED)
    expect(r.cancelled).toEqual({ started: false })
  })

  it('says the task may still finish on the peer that does not confirm within the grace', async () => {
    const cancel = new AbortController()
    // A peer running the task: it answers only when done, long after.
    const done = setup(async () => new Promise(() => {})).dispatch({ taskId: 't', kind: 'k', input: bytes('x'), timeoutMs: 30_000, signal: cancel.signal })
    await new Promise(resolve => setTimeout(resolve, 20))
    cancel.abort()
    const r = await done
    expect(r.outcome.error).toBe(ErrorCode.CANCELLED)
    expect(r.cancelled).toEqual({ started: true, peer: 'a' })
    expect(r.outcome.message).toMatch(/may still finish/)
  })

  it('keeps a result that arrives within the grace: the task finished after all', async () => {
    const cancel = new AbortController()
    const done = setup(async (r, o) => new Promise(resolve => {
      o.cancel?.addEventListener('abort', () => { setTimeout(() => { resolve({ ...outcome(r.taskId, ErrorCode.NONE), output: bytes('done') }) }, 30) }, { once: true })
    })).dispatch({ taskId: 't', kind: 'k', input: bytes('x'), timeoutMs: 30_000, signal: cancel.signal })
    await new Promise(resolve => setTimeout(resolve, 20))
    cancel.abort()
    const r = await done
    expect(r.outcome.error).toBe(ErrorCode.NONE)
    expect(r.cancelled).toBeUndefined()
  })

  it('cancelled before anything was sent: nothing is tried', async () => {
    const cancel = new AbortController()
    cancel.abort()
    const sent: TaskRequest[] = []
    const r = await setup(async (req, o) => { sent.push(req); return dropsOnCancel(req, o) }).dispatch({ taskId: 't', kind: 'k', input: bytes('x'), timeoutMs: 30_000, signal: cancel.signal })
    expect(r.outcome.error).toBe(ErrorCode.CANCELLED)
    expect(r.cancelled).toEqual({ started: false })
    expect(sent).toHaveLength(0)
  })
})
