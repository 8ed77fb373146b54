import { afterEach, describe, expect, it, vi } from 'vitest'
import { Executor } from '../../../../src/services/tasks/executor.js'
import { commandHandler } from '../../../../src/services/tasks/command-handler.js'
import { builtinHandlers, isPure } from '../../../../src/services/tasks/handlers.js'
import { ExecutionLog } from '../../../../src/store/execution-log.js'
import { FedStore } from '../../../../src/store/store.js'
import { ErrorCode } from '../../../../src/wire/task.js'
import { bytes, gatedHandler, manualClock, settle, spec } from '../../../helpers/unit-tasks.js'
import { spyOnBatches } from '../../../helpers/unit-store.js'
import type { TaskHandler } from '../../../../src/services/tasks/handlers.js'

/**
 * "A task id never runs twice on one node", across crashes: an executor over a persisted
 * execution log, "crashed" (dropped without finishing) and built again over the same store.
 */

const stores: FedStore[] = []

afterEach(async () => {
  vi.restoreAllMocks()
  for (const s of stores.splice(0)) await s.close()
})

async function node (fed?: FedStore): Promise<{ fed: FedStore, executor: Executor, gate: ReturnType<typeof gatedHandler>, log: ExecutionLog }> {
  const store = fed ?? await FedStore.memory()
  if (fed == null) stores.push(store)
  const gate = gatedHandler()
  const log = await ExecutionLog.open(store.sublevel('executions'))
  const executor = new Executor({ concurrency: 2, handlers: new Map<string, TaskHandler>([['k', gate.handler]]), clock: manualClock(), executions: log })
  return { fed: store, executor, gate, log }
}

describe('Executor over a persisted execution log', () => {
  it('records a start durably before the handler runs', async () => {
    const fed = await FedStore.memory()
    stores.push(fed)
    let onDiskWhenStarted: number | undefined
    const executor = new Executor({
      concurrency: 1,
      handlers: new Map<string, TaskHandler>([['k', async (input) => {
        onDiskWhenStarted = (await ExecutionLog.open(fed.sublevel('executions'))).size
        return input
      }]]),
      clock: manualClock(),
      executions: await ExecutionLog.open(fed.sublevel('executions'))
    })
    expect((await executor.submit(spec('a'))).error).toBe(ErrorCode.NONE)
    expect(onDiskWhenStarted).toBe(1)
  })

  it('a task cut by a crash is not run again after the restart: its retry answers INTERRUPTED', async () => {
    const before = await node()
    void before.executor.submit(spec('cut', { origin: 'peer-a' }))
    await settle()
    expect(before.gate.started('cut')).toBe(true)
    // kill -9: the run never finishes; a new executor starts over the same store.
    const after = await node(before.fed)
    const retry = await after.executor.submit(spec('cut', { origin: 'peer-a' }))
    await settle()
    expect(retry).toMatchObject({ error: ErrorCode.INTERRUPTED, deduped: false })
    expect(retry.message).toMatch(/crashed/)
    expect(after.gate.calls).toHaveLength(0)
    // A reservation bound to it answers the same, and the id stays refused.
    const res = after.executor.reserve('cut', 'k', () => {}, () => {})
    if (typeof res === 'string') throw new Error(`refused: ${res}`)
    expect((await after.executor.bind(res, spec('cut', { origin: 'peer-a' }))).error).toBe(ErrorCode.INTERRUPTED)
    expect(after.gate.calls).toHaveLength(0)
    // Other submitters' ids are theirs; other work under that id is an input error.
    void after.executor.submit(spec('cut', { origin: 'peer-b' }))
    await settle()
    expect(after.gate.started('cut')).toBe(true)
    expect((await after.executor.submit(spec('cut', { origin: 'peer-a', input: bytes('other') }))).error).toBe(ErrorCode.BAD_INPUT)
  })

  it('a task that finished before the restart is not run again either', async () => {
    const before = await node()
    const done = before.executor.submit(spec('done'))
    await settle()
    before.gate.calls[0].resolve()
    expect((await done).error).toBe(ErrorCode.NONE)
    await before.log.flush() // the lazy "finished" write lands
    const after = await node(before.fed)
    const retry = await after.executor.submit(spec('done'))
    expect(retry.error).toBe(ErrorCode.INTERRUPTED)
    expect(retry.message).toMatch(/no longer keeps its result/)
    expect(after.gate.calls).toHaveLength(0)
  })

  it('a run a graceful stop cut (its handler had started) is not run again after the restart: INTERRUPTED, like a crash', async () => {
    const before = await node()
    const running = before.executor.submit(spec('long'))
    await settle()
    await before.executor.drain(10) // out of time: the handler is aborted through its signal
    expect((await running).error).toBe(ErrorCode.INTERRUPTED)
    await before.log.flush()
    const after = await node(before.fed)
    const retry = await after.executor.submit(spec('long'))
    await settle()
    expect(retry.error).toBe(ErrorCode.INTERRUPTED)
    expect(after.gate.calls).toHaveLength(0)
    expect(after.executor.executed().find(e => e.taskId === 'long')).toMatchObject({ error: ErrorCode.INTERRUPTED })
  })

  it('a task still queued when a graceful stop hands it back never started: it runs after the restart', async () => {
    const before = await node()
    void before.executor.submit(spec('a'))
    void before.executor.submit(spec('b'))
    const queued = before.executor.submit(spec('queued'))
    await settle()
    await before.executor.drain(10)
    expect((await queued).error).toBe(ErrorCode.SHUTTING_DOWN)
    await before.log.flush()
    const after = await node(before.fed)
    void after.executor.submit(spec('queued'))
    await settle()
    expect(after.gate.started('queued')).toBe(true)
  })

  it('a retry of a task it ran and no longer remembers (more runs since than it keeps) is refused, not run again', async () => {
    const clock = manualClock()
    const fed = await FedStore.memory()
    stores.push(fed)
    const ran: string[] = []
    const executor = new Executor({
      concurrency: 1,
      handlers: new Map<string, TaskHandler>([['k', async (input, ctx) => { ran.push(ctx.taskId); return input }]]),
      clock,
      maxResults: 3,
      executions: await ExecutionLog.open(fed.sublevel('executions'), { keep: 5 })
    })
    // The submitter accepted `first` at t0 and sent it here; it ran. Then many other runs.
    const t0 = clock.now()
    expect((await executor.submit(spec('first', { origin: 'peer-a', ageMs: 0 }))).error).toBe(ErrorCode.NONE)
    for (let i = 0; i < 20; i++) {
      clock.advance(1_000)
      expect((await executor.submit(spec(`other-${i}`, { origin: 'peer-a', ageMs: 0 }))).error).toBe(ErrorCode.NONE)
    }
    clock.advance(1_000)
    // Its result long gone and its run forgotten: the retry (same id, its age since t0) is refused.
    const retry = await executor.submit(spec('first', { origin: 'peer-a', ageMs: clock.now() - t0 }))
    expect(retry.error).toBe(ErrorCode.INTERRUPTED)
    expect(retry.message).toMatch(/cannot tell/)
    expect(ran.filter(id => id === 'first')).toHaveLength(1)
    // A task accepted after the newest forgotten run is known never to have run here: it runs.
    expect((await executor.submit(spec('fresh', { origin: 'peer-a', ageMs: 0 }))).error).toBe(ErrorCode.NONE)
    // And after a restart the bound still holds.
    const again = new Executor({ concurrency: 1, handlers: new Map<string, TaskHandler>([['k', async (input) => input]]), clock, executions: await ExecutionLog.open(fed.sublevel('executions'), { keep: 5 }) })
    expect((await again.submit(spec('first', { origin: 'peer-a', ageMs: clock.now() - t0 }))).error).toBe(ErrorCode.INTERRUPTED)
  })

  it('lists the runs of the previous life in executed(), a cut one as interrupted', async () => {
    const before = await node()
    const ok = before.executor.submit(spec('ok'))
    void before.executor.submit(spec('cut'))
    await settle()
    before.gate.calls[0].resolve()
    await ok
    await before.log.flush()
    const after = await node(before.fed)
    expect(after.executor.executed().map(e => [e.taskId, e.error ?? null, e.interrupted ?? false])).toEqual([
      ['cut', null, true],
      ['ok', ErrorCode.NONE, false]
    ])
  })

  describe('pure kinds (protocols/task.md "Dedupe")', () => {
    /** An executor serving the built-ins and a command kind the owner marked deterministic. */
    async function mixed (): Promise<{ fed: FedStore, executor: Executor, log: ExecutionLog, writes: ReturnType<typeof spyOnBatches> }> {
      const fed = await FedStore.memory()
      stores.push(fed)
      const handlers = builtinHandlers()
      handlers.set('cmd', commandHandler({ command: ['/bin/cat'], timeoutMs: 10_000, maxOutputBytes: 1024, deterministic: true }))
      const log = await ExecutionLog.open(fed.sublevel('executions'))
      const writes = spyOnBatches(fed)
      return { fed, executor: new Executor({ concurrency: 2, handlers, clock: manualClock(), executions: log }), log, writes }
    }

    it('echo and sha256 are pure; sleep (a long run), a command kind, even a deterministic one, and a handler registered in code are not', () => {
      const pure = [...builtinHandlers()].filter(([, handler]) => isPure(handler)).map(([kind]) => kind)
      expect(pure).toEqual(['echo', 'sha256'])
      expect(isPure(commandHandler({ command: ['/bin/true'], timeoutMs: 1_000, maxOutputBytes: 1, deterministic: true }))).toBe(false)
      expect(isPure(async (input) => input)).toBe(false)
    })

    it('a pure built-in runs without waiting for its start record, which goes with the next batch, unsynced', async () => {
      const { fed, executor, log, writes } = await mixed()
      const outcome = await executor.submit(spec('e', { kind: 'echo', origin: 'peer-a' }))
      expect(outcome.error).toBe(ErrorCode.NONE)
      expect(writes).toEqual([]) // answered before anything was written
      await log.flush()
      expect(writes).toEqual([{ ops: 1, options: {} }])
      // Written all the same: after a restart the id is known (and not run again).
      const after = await ExecutionLog.open(fed.sublevel('executions'))
      expect(after.lookup('peer-a', 'e')).toMatchObject({ kind: 'echo', error: ErrorCode.NONE })
    })

    it('a command kind still waits for its start record to be synced before it runs', async () => {
      const { executor, writes } = await mixed()
      const outcome = await executor.submit(spec('c', { kind: 'cmd', origin: 'peer-a', input: bytes('hi') }))
      expect(outcome.error).toBe(ErrorCode.NONE)
      expect(writes[0]).toEqual({ ops: 1, options: { sync: true } })
    })
  })
})
