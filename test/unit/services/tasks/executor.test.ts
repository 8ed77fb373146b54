import { afterEach, describe, expect, it, vi } from 'vitest'
import { ErrorCode } from '../../../../src/wire/task.js'
import { Executor } from '../../../../src/services/tasks/executor.js'
import { TaskError } from '../../../../src/services/tasks/task-error.js'
import { bytes, gatedHandler, manualClock, settle, spec, text } from '../../../helpers/unit-tasks.js'
import type { ExecutorInit } from '../../../../src/services/tasks/executor.js'
import type { TaskHandler } from '../../../../src/services/tasks/handlers.js'

function setup (over: Partial<ExecutorInit> = {}, extra: Record<string, TaskHandler> = {}): { executor: Executor, gate: ReturnType<typeof gatedHandler>, clock: ReturnType<typeof manualClock> } {
  const gate = gatedHandler()
  const clock = manualClock()
  const executor = new Executor({ concurrency: 2, handlers: new Map([['k', gate.handler], ...Object.entries(extra)]), clock, ...over })
  return { executor, gate, clock }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('Executor', () => {
  describe('slots and queue', () => {
    it('runs at most `concurrency` at once and starts queued work FIFO as slots free', async () => {
      const { executor, gate } = setup({ concurrency: 2 })
      const outcomes = ['a', 'b', 'c', 'd'].map(async id => executor.submit(spec(id)))
      await settle()
      expect(gate.calls.map(c => c.ctx.taskId)).toEqual(['a', 'b'])
      expect(executor.load()).toMatchObject({ running: 2, queueDepth: 2, concurrency: 2 })

      gate.calls[1].resolve() // b finishes first: c takes its slot, d still waits
      await settle()
      expect(gate.calls.map(c => c.ctx.taskId)).toEqual(['a', 'b', 'c'])
      expect(executor.load()).toMatchObject({ running: 2, queueDepth: 1 })

      gate.calls[0].resolve()
      await settle()
      expect(gate.calls.map(c => c.ctx.taskId)).toEqual(['a', 'b', 'c', 'd'])
      gate.calls[2].resolve()
      gate.calls[3].resolve()
      const done = await Promise.all(outcomes)
      expect(done.map(o => [o.taskId, o.error, text(o.output)])).toEqual([
        ['a', ErrorCode.NONE, 'a'], ['b', ErrorCode.NONE, 'b'], ['c', ErrorCode.NONE, 'c'], ['d', ErrorCode.NONE, 'd']
      ])
      expect(executor.load()).toMatchObject({ running: 0, queueDepth: 0 })
    })

    it('refuses with QUEUE_FULL once queueLimit tasks wait, without running them', async () => {
      const { executor, gate } = setup({ concurrency: 1, queueLimit: 2 })
      void executor.submit(spec('run'))
      void executor.submit(spec('q1'))
      void executor.submit(spec('q2'))
      const full = await executor.submit(spec('q3'))
      expect(full.error).toBe(ErrorCode.QUEUE_FULL)
      expect(full.deduped).toBe(false)
      await settle()
      expect(gate.started('q3')).toBe(false)
      expect(executor.load().queueDepth).toBe(2)
    })

    it('refuses a kind it does not serve (KIND_NOT_SERVED) and input over the limit (INPUT_TOO_LARGE)', async () => {
      const { executor, gate } = setup({ maxInputBytes: 4 })
      expect((await executor.submit(spec('x', { kind: 'nope' }))).error).toBe(ErrorCode.KIND_NOT_SERVED)
      expect((await executor.submit(spec('y', { input: bytes('12345') }))).error).toBe(ErrorCode.INPUT_TOO_LARGE)
      const ok = executor.submit(spec('z', { input: bytes('1234') }))
      await settle()
      expect(gate.calls.map(c => c.ctx.taskId)).toEqual(['z'])
      gate.calls[0].resolve()
      expect((await ok).error).toBe(ErrorCode.NONE)
    })

    it('refuses with BUSY when the expected wait passes maxWaitMs, and queues when it does not', async () => {
      const { executor, gate, clock } = setup({ concurrency: 1 })
      // Teach it that k takes 100 ms.
      const first = executor.submit(spec('first'))
      await settle()
      clock.advance(100)
      gate.calls[0].resolve()
      await first
      expect(executor.meanRunMs('k')).toBe(100)

      void executor.submit(spec('occupy'))
      await settle()
      expect(executor.estimateWaitMs('k')).toBe(100)
      const busy = await executor.submit(spec('impatient', { maxWaitMs: 50 }))
      expect(busy.error).toBe(ErrorCode.BUSY)
      const patient = executor.submit(spec('patient', { maxWaitMs: 150 }))
      const unlimited = executor.submit(spec('unlimited', { maxWaitMs: 0 }))
      await settle()
      expect(executor.load().queueDepth).toBe(2)
      gate.calls[1].resolve()
      await settle()
      gate.calls[2].resolve()
      await settle()
      gate.calls[3].resolve()
      expect((await patient).error).toBe(ErrorCode.NONE)
      expect((await unlimited).error).toBe(ErrorCode.NONE)
      expect(gate.started('impatient')).toBe(false)
    })

    it('a task that waited past its deadline in the queue times out without running', async () => {
      const { executor, gate, clock } = setup({ concurrency: 1 })
      const running = executor.submit(spec('running'))
      const late = executor.submit(spec('late', { deadlineMs: 50 }))
      const onTime = executor.submit(spec('on-time', { deadlineMs: 10_000 }))
      await settle()
      clock.advance(60)
      gate.calls[0].resolve()
      const o = await late
      expect(o.error).toBe(ErrorCode.TIMED_OUT)
      expect(gate.started('late')).toBe(false)
      // The slot went to the next task instead.
      await settle()
      expect(gate.calls.map(c => c.ctx.taskId)).toEqual(['running', 'on-time'])
      gate.calls[1].resolve()
      await running
      expect((await onTime).queuedMs).toBe(60)
    })
  })

  describe('outcomes', () => {
    it('a handler that overruns its deadline is aborted and TIMED_OUT', async () => {
      const { executor, gate } = setup()
      const o = await executor.submit(spec('slow', { deadlineMs: 20 }))
      expect(o.error).toBe(ErrorCode.TIMED_OUT)
      expect(gate.calls[0].ctx.signal.aborted).toBe(true)
      expect(executor.load().running).toBe(0)
    })

    it('maps handler errors to codes: TaskError keeps its code, anything else is FAILED with its message', async () => {
      const { executor } = setup({ maxOutputBytes: 4 }, {
        bad: async () => { throw new TaskError(ErrorCode.BAD_INPUT, 'nope') },
        boom: async () => { throw new Error('kaboom') },
        big: async () => bytes('12345'),
        fits: async () => bytes('1234')
      })
      const bad = await executor.submit(spec('1', { kind: 'bad' }))
      expect([bad.error, bad.message]).toEqual([ErrorCode.BAD_INPUT, 'nope'])
      const boom = await executor.submit(spec('2', { kind: 'boom' }))
      expect([boom.error, boom.message]).toEqual([ErrorCode.FAILED, 'kaboom'])
      const big = await executor.submit(spec('3', { kind: 'big' }))
      expect(big.error).toBe(ErrorCode.OUTPUT_TOO_LARGE)
      expect(big.output.byteLength).toBe(0)
      expect(text((await executor.submit(spec('4', { kind: 'fits' }))).output)).toBe('1234')
    })

    it('reports queue and run time from its clock, and learns the mean run time per kind', async () => {
      const { executor, gate, clock } = setup({ concurrency: 1 })
      const a = executor.submit(spec('a'))
      const b = executor.submit(spec('b'))
      await settle()
      clock.advance(100)
      gate.calls[0].resolve()
      await settle()
      clock.advance(200)
      gate.calls[1].resolve()
      expect(await a).toMatchObject({ queuedMs: 0, runMs: 100 })
      expect(await b).toMatchObject({ queuedMs: 100, runMs: 200 })
      const mean = executor.meanRunMs('k') as number
      expect(mean).toBeGreaterThan(100)
      expect(mean).toBeLessThan(200)
      expect(executor.meanRunMs('other')).toBeUndefined()
    })
  })

  describe('dedupe', () => {
    it('a second submit of a running task id waits for the same outcome, marked deduped; the handler runs once', async () => {
      const { executor, gate } = setup()
      const first = executor.submit(spec('t'))
      const second = executor.submit(spec('t'))
      await settle()
      expect(gate.calls).toHaveLength(1)
      gate.calls[0].resolve(bytes('result'))
      const [o1, o2] = await Promise.all([first, second])
      expect(o1).toMatchObject({ error: ErrorCode.NONE, deduped: false })
      expect(o2).toMatchObject({ error: ErrorCode.NONE, deduped: true })
      expect(text(o2.output)).toBe('result')
    })

    it('a request that joins a running task is told it started at once; one that joins a queued task, when it starts', async () => {
      const { executor, gate } = setup({ concurrency: 1 })
      const told: string[] = []
      const first = executor.submit(spec('run', { onStart: () => { told.push('run:first') } }))
      const queued = executor.submit(spec('later', { onStart: () => { told.push('later:first') } }))
      await settle()
      const joinRunning = executor.submit(spec('run', { onStart: () => { told.push('run:joiner') } }))
      const joinQueued = executor.submit(spec('later', { onStart: () => { told.push('later:joiner') } }))
      await settle()
      expect(told).toEqual(['run:first', 'run:joiner'])
      gate.calls[0].resolve(bytes('r'))
      await settle()
      expect(told).toEqual(['run:first', 'run:joiner', 'later:first', 'later:joiner'])
      gate.calls[1].resolve(bytes('l'))
      expect((await Promise.all([first, joinRunning, queued, joinQueued])).map(o => o.deduped)).toEqual([false, true, false, true])
      expect(gate.calls).toHaveLength(2)
    })

    it('refuses a task id reused for different work instead of answering with the other result', async () => {
      const { executor, gate } = setup()
      const first = executor.submit(spec('t'))
      await settle()
      const other = await executor.submit(spec('t', { input: bytes('different') }))
      expect(other).toMatchObject({ error: ErrorCode.BAD_INPUT })
      gate.calls[0].resolve(bytes('result'))
      await first
      expect(await executor.submit(spec('t', { input: bytes('different') }))).toMatchObject({ error: ErrorCode.BAD_INPUT })
    })

    it('remembers at most maxResults outcomes, forgetting the least recently used first', async () => {
      const { executor } = setup({ maxResults: 3 }, { echo: async (i) => i })
      for (const id of ['a', 'b', 'c', 'd', 'e']) await executor.submit(spec(id, { kind: 'echo' }))
      expect(['a', 'b', 'c', 'd', 'e'].map(id => executor.remembered(id) != null)).toEqual([false, false, true, true, true])
    })

    it('dedupes per submitter: another peer reusing the id runs its own task (no poisoning)', async () => {
      const { executor } = setup({}, { echo: async (i) => i })
      const mine = await executor.submit(spec('t', { kind: 'echo', origin: 'peer-a', input: bytes('mine') }))
      const theirs = await executor.submit(spec('t', { kind: 'echo', origin: 'peer-m', input: bytes('evil') }))
      expect(text(mine.output)).toBe('mine')
      expect(text(theirs.output)).toBe('evil')
      const again = await executor.submit(spec('t', { kind: 'echo', origin: 'peer-a', input: bytes('mine') }))
      expect(again).toMatchObject({ deduped: true })
      expect(text(again.output)).toBe('mine')
    })

    it('a submit of a finished task id returns the remembered outcome, even a failure', async () => {
      const { executor, gate } = setup()
      const first = executor.submit(spec('t'))
      await settle()
      gate.calls[0].reject(new Error('it broke'))
      expect((await first).error).toBe(ErrorCode.FAILED)
      const again = await executor.submit(spec('t'))
      expect(again).toMatchObject({ error: ErrorCode.FAILED, message: 'it broke', deduped: true })
      expect(gate.calls).toHaveLength(1)
      expect(executor.remembered('t')?.error).toBe(ErrorCode.FAILED)
    })

    it('refusals are not remembered: a retry of a refused task id can run', async () => {
      const { executor, gate } = setup({ concurrency: 1, queueLimit: 1 })
      void executor.submit(spec('blocker'))
      void executor.submit(spec('queued'))
      expect((await executor.submit(spec('t'))).error).toBe(ErrorCode.QUEUE_FULL)
      await settle()
      gate.calls[0].resolve()
      await settle()
      gate.calls[1].resolve()
      await settle()
      const retry = executor.submit(spec('t'))
      await settle()
      expect(gate.started('t')).toBe(true)
      gate.calls[2].resolve()
      expect(await retry).toMatchObject({ error: ErrorCode.NONE, deduped: false })
    })

    it('a task that timed out in the queue is not remembered either', async () => {
      const { executor, gate, clock } = setup({ concurrency: 1 })
      void executor.submit(spec('blocker'))
      const late = executor.submit(spec('t', { deadlineMs: 10 }))
      await settle()
      clock.advance(20)
      gate.calls[0].resolve()
      expect((await late).error).toBe(ErrorCode.TIMED_OUT)
      const retry = executor.submit(spec('t'))
      await settle()
      expect(gate.started('t')).toBe(true)
      gate.calls[1].resolve()
      expect(await retry).toMatchObject({ error: ErrorCode.NONE, deduped: false })
    })
  })

  describe('reservations', () => {
    it('is READY at once when a slot is free, holds that slot, and bind runs the task in it', async () => {
      const { executor, gate } = setup({ concurrency: 1 })
      const onReady = vi.fn()
      const onExpired = vi.fn()
      const res = executor.reserve('t', 'k', onReady, onExpired)
      if (typeof res === 'string') throw new Error(res)
      expect(onReady).toHaveBeenCalledOnce()
      expect(executor.load()).toMatchObject({ running: 1, queueDepth: 0 })
      // The held slot is not given to a plain task.
      const other = executor.submit(spec('other'))
      await settle()
      expect(gate.calls).toHaveLength(0)
      const bound = executor.bind(res, spec('t'))
      await settle()
      expect(gate.calls.map(c => c.ctx.taskId)).toEqual(['t'])
      gate.calls[0].resolve()
      expect(await bound).toMatchObject({ taskId: 't', error: ErrorCode.NONE })
      await settle()
      expect(gate.calls.map(c => c.ctx.taskId)).toEqual(['t', 'other'])
      gate.calls[1].resolve()
      await other
      expect(onExpired).not.toHaveBeenCalled()
    })

    it('waits in the FIFO queue behind running work and becomes READY when a slot frees', async () => {
      const { executor, gate } = setup({ concurrency: 1 })
      void executor.submit(spec('running'))
      const onReady = vi.fn()
      const res = executor.reserve('t', 'k', onReady, () => {})
      void executor.submit(spec('after'))
      await settle()
      expect(onReady).not.toHaveBeenCalled()
      expect(typeof res).not.toBe('string')
      gate.calls[0].resolve()
      await settle()
      expect(onReady).toHaveBeenCalledOnce()
      expect(gate.started('after')).toBe(false)
    })

    it('cancel releases a held slot to the next in the queue', async () => {
      const { executor, gate } = setup({ concurrency: 1 })
      const res = executor.reserve('t', 'k', () => {}, () => {})
      if (typeof res === 'string') throw new Error(res)
      const next = executor.submit(spec('next'))
      await settle()
      expect(gate.calls).toHaveLength(0)
      executor.cancel(res)
      await settle()
      expect(gate.calls.map(c => c.ctx.taskId)).toEqual(['next'])
      gate.calls[0].resolve()
      expect((await next).error).toBe(ErrorCode.NONE)
    })

    it('cancel of a queued reservation removes it: it never becomes READY', async () => {
      const { executor, gate } = setup({ concurrency: 1 })
      void executor.submit(spec('running'))
      const onReady = vi.fn()
      const res = executor.reserve('t', 'k', onReady, () => {})
      if (typeof res === 'string') throw new Error(res)
      expect(executor.load().queueDepth).toBe(1)
      executor.cancel(res)
      expect(executor.load().queueDepth).toBe(0)
      await settle()
      gate.calls[0].resolve()
      await settle()
      expect(onReady).not.toHaveBeenCalled()
      expect(executor.load().running).toBe(0)
    })

    it('a hold nobody binds expires: onExpired fires and the slot goes to the next', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
      const { executor, gate } = setup({ concurrency: 1, holdMs: 2_000 })
      const onExpired = vi.fn()
      const res = executor.reserve('t', 'k', () => {}, onExpired)
      if (typeof res === 'string') throw new Error(res)
      const next = executor.submit(spec('next'))
      vi.advanceTimersByTime(1_999)
      await settle()
      expect(onExpired).not.toHaveBeenCalled()
      expect(gate.calls).toHaveLength(0)
      vi.advanceTimersByTime(1)
      expect(onExpired).toHaveBeenCalledOnce()
      await settle()
      expect(gate.calls.map(c => c.ctx.taskId)).toEqual(['next'])
      gate.calls[0].resolve()
      await next
      // A late bind after the expiry still runs the task, through the queue.
      const late = executor.bind(res, spec('t'))
      await settle()
      expect(gate.started('t')).toBe(true)
      gate.calls[1].resolve()
      expect((await late).error).toBe(ErrorCode.NONE)
    })

    it('reserve refuses a kind it does not serve and a full queue', () => {
      const { executor } = setup({ concurrency: 1, queueLimit: 1 })
      expect(executor.reserve('t', 'nope', () => {}, () => {})).toBe(ErrorCode.KIND_NOT_SERVED)
      void executor.submit(spec('running'))
      void executor.submit(spec('queued'))
      expect(executor.reserve('t', 'k', () => {}, () => {})).toBe(ErrorCode.QUEUE_FULL)
    })

    it('binding a task id that already ran returns the remembered outcome and frees the slot', async () => {
      const { executor, gate } = setup({ concurrency: 1 })
      const first = executor.submit(spec('t'))
      await settle()
      gate.calls[0].resolve(bytes('once'))
      await first
      const res = executor.reserve('t', 'k', () => {}, () => {})
      if (typeof res === 'string') throw new Error(res)
      expect(executor.load().running).toBe(1)
      const o = await executor.bind(res, spec('t'))
      expect(o).toMatchObject({ deduped: true, error: ErrorCode.NONE })
      expect(text(o.output)).toBe('once')
      expect(gate.calls).toHaveLength(1)
      expect(executor.load().running).toBe(0)
    })

    // Regression test for a fixed bug (executor.ts `bind`, line 220 → `admit`, line 272 today): bind re-runs the full admission
    // check, including `queue.length >= queueLimit`, although a bound task goes straight into the
    // slot its READY reservation already holds and never enters the queue. Under load (queue full
    // of tasks and other reservations) a reservation that reached the head and holds a free slot
    // is refused QUEUE_FULL at bind and its slot released, so late binding fails exactly when it
    // matters. The queue-limit check should not apply to a bind into a held slot.
    it('binding into a held slot succeeds even when the queue behind it is full', async () => {
      const { executor, gate } = setup({ concurrency: 1, queueLimit: 1 })
      const res = executor.reserve('t', 'k', () => {}, () => {})
      if (typeof res === 'string') throw new Error(res)
      void executor.submit(spec('waiting')) // fills the queue (limit 1)
      const bound = executor.bind(res, spec('t'))
      await settle()
      gate.calls.find(c => c.ctx.taskId === 't')?.resolve()
      expect((await bound).error).toBe(ErrorCode.NONE)
    })
  })

  describe('drain', () => {
    it('hands back queued tasks with SHUTTING_DOWN, lets running ones finish, then refuses new work', async () => {
      const { executor, gate } = setup({ concurrency: 1 })
      const running = executor.submit(spec('running'))
      const queued = executor.submit(spec('queued'))
      await settle()
      let drained = false
      const draining = executor.drain(10_000).then(() => { drained = true })
      expect((await queued).error).toBe(ErrorCode.SHUTTING_DOWN)
      await settle()
      expect(drained).toBe(false)
      gate.calls[0].resolve()
      expect((await running).error).toBe(ErrorCode.NONE)
      await draining
      expect(gate.started('queued')).toBe(false)
      expect((await executor.submit(spec('new'))).error).toBe(ErrorCode.SHUTTING_DOWN)
      expect(executor.reserve('r', 'k', () => {}, () => {})).toBe(ErrorCode.SHUTTING_DOWN)
    })

    it('after its timeout, stops the tasks still running; they started, so they are not run here again', async () => {
      const { executor } = setup({ concurrency: 1 })
      const forever = executor.submit(spec('forever'))
      await settle()
      await executor.drain(20) // resolves although the task would never finish by itself
      expect(await forever).toMatchObject({ error: ErrorCode.INTERRUPTED })
      expect(executor.load().running).toBe(0)
      expect(executor.executed().find(e => e.taskId === 'forever')).toMatchObject({ error: ErrorCode.INTERRUPTED })
    })

    // Regression test for a fixed bug (executor.ts `drain`, lines 247-250 today): queued reservations are spliced away silently and
    // held ones released without calling `onExpired`, so whoever waits for READY (a remote client
    // via task-server, or the dispatcher's local `place()` whose `ready` only settles through
    // onReady/onExpired) is never told. The dispatcher's `Promise.any` over reservations then
    // waits forever on the local one. drain should call `onExpired` (or a refusal) for every
    // reservation it drops.
    it('tells the holders of queued and held reservations that they are gone', async () => {
      const { executor } = setup({ concurrency: 1 })
      const heldExpired = vi.fn()
      const queuedExpired = vi.fn()
      executor.reserve('held', 'k', () => {}, heldExpired)
      executor.reserve('queued', 'k', () => {}, queuedExpired)
      await executor.drain(10)
      expect(heldExpired).toHaveBeenCalledOnce()
      expect(queuedExpired).toHaveBeenCalledOnce()
    })
  })

  describe('introspection', () => {
    it('executed() lists tasks that ran, newest first, and not the refused ones', async () => {
      const { executor, clock } = setup({}, { echo: async (i) => i, fail: async () => { throw new Error('x') } })
      await executor.submit(spec('a', { kind: 'echo', origin: 'peer-1' }))
      clock.advance(5)
      await executor.submit(spec('b', { kind: 'fail' }))
      await executor.submit(spec('c', { kind: 'unknown' }))
      await executor.submit(spec('a', { kind: 'echo', origin: 'peer-1' })) // deduped: did not run again
      const log = executor.executed()
      expect(log.map(e => [e.taskId, e.kind, e.origin, e.error])).toEqual([
        ['b', 'fail', 'local', ErrorCode.FAILED],
        ['a', 'echo', 'peer-1', ErrorCode.NONE]
      ])
      expect(log[0].startedAt - log[1].startedAt).toBe(5)
    })

    it('estimateWaitMs: 0 with a free slot, otherwise the work ahead over the slots times the mean run time', async () => {
      const { executor, gate, clock } = setup({ concurrency: 2 })
      expect(executor.estimateWaitMs('k')).toBe(0)
      const warm = executor.submit(spec('warm'))
      await settle()
      clock.advance(100)
      gate.calls[0].resolve()
      await warm
      void executor.submit(spec('a'))
      expect(executor.estimateWaitMs('k')).toBe(0)
      void executor.submit(spec('b'))
      expect(executor.estimateWaitMs('k')).toBe(50) // (0 ahead - 0 free + 1) / 2 × 100
      void executor.submit(spec('c'))
      expect(executor.estimateWaitMs('k')).toBe(100)
      void executor.submit(spec('d'))
      expect(executor.estimateWaitMs('k')).toBe(150)
    })

    it('firstFreeMs: a run that has lasted long holds its slot longer when the kind\'s runs are heavy-tailed', async () => {
      const { executor, gate, clock } = setup({ concurrency: 1 })
      // Teach it k: nine in ten runs take 10 ms, one in ten 10 s.
      for (let i = 0; i < 40; i++) {
        const run = executor.submit(spec(`teach-${i}`))
        await settle()
        clock.advance(i % 10 === 9 ? 10_000 : 10)
        gate.calls[i].resolve()
        await run
      }
      expect(executor.firstFreeMs()).toBe(0) // a slot is free
      void executor.submit(spec('long'))
      await settle()
      const fresh = executor.firstFreeMs()
      // Just started: most such runs end at once, so about the mean (~1 s).
      expect(fresh).toBeGreaterThan(500)
      expect(fresh).toBeLessThan(1_500)
      clock.advance(2_000)
      // Past 10 ms it is one of the long ones: about 8 s left, and a queued task waits that long.
      expect(executor.firstFreeMs()).toBeGreaterThan(6_000)
      expect(executor.estimateWaitMs('k')).toBe(executor.firstFreeMs())
      gate.calls[40].resolve()
    })

    it('firstFreeMs: no estimate (0) while a running kind never finished here', async () => {
      const { executor, gate, clock } = setup({ concurrency: 1 })
      void executor.submit(spec('first'))
      await settle()
      clock.advance(5)
      // Not "free in 5 ms": nothing is known of k yet, so receivers assume a mean run instead.
      expect(executor.firstFreeMs()).toBe(0)
      expect(executor.estimateWaitMs('k', 60_000)).toBe(60_000)
      gate.calls[0].resolve()
    })

    it('calls onLoadChange when work starts and finishes', async () => {
      const { executor, gate } = setup()
      const onLoadChange = vi.fn()
      executor.onLoadChange = onLoadChange
      const o = executor.submit(spec('a'))
      expect(onLoadChange).toHaveBeenCalled()
      onLoadChange.mockClear()
      await settle()
      gate.calls[0].resolve()
      await o
      expect(onLoadChange).toHaveBeenCalled()
    })
  })
})
