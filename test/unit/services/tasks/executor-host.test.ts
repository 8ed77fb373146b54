import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../../../../src/wire/task.js'
import { Executor } from '../../../../src/services/tasks/executor.js'
import { gatedHandler, manualClock, settle, spec } from '../../../helpers/unit-tasks.js'
import type { ExecutorInit } from '../../../../src/services/tasks/executor.js'

/** The executor under the host policy (serving caps, pauses) and task priorities. */

const PEER = '12D3KooWPeerA'
const OTHER = '12D3KooWPeerB'

function setup (over: Partial<ExecutorInit> = {}): { executor: Executor, gate: ReturnType<typeof gatedHandler> } {
  const gate = gatedHandler()
  const executor = new Executor({ concurrency: 2, handlers: new Map([['k', gate.handler]]), clock: manualClock(), fairShare: 1, ...over })
  return { executor, gate }
}

const startedIds = (gate: ReturnType<typeof gatedHandler>): string[] => gate.calls.map(c => c.ctx.taskId)

describe('Executor under the host policy', () => {
  it('estimates a capped peer\'s wait by the slots it may take: its direct send that allows a short wait is refused BUSY', async () => {
    const { executor, gate } = setup({ concurrency: 4 })
    executor.setServing({ slots: 1, paused: false, reason: 'user-active' })
    const first = executor.submit(spec('r1', { origin: PEER }))
    await settle()
    expect(startedIds(gate)).toEqual(['r1'])
    // Three slots are free, but not for peers: a peer's task would wait for r1 (100 ms runs here).
    expect(executor.estimateWaitMs('k', 100, OTHER)).toBe(100)
    expect(executor.estimateWaitMs('k', 100)).toBe(0)
    const busy = await executor.submit(spec('r2', { origin: OTHER, maxWaitMs: 20, expectedRunMs: 100 }))
    expect(busy.error).toBe(ErrorCode.BUSY)
    // The owner's own task with the same allowance starts at once.
    const own = executor.submit(spec('own', { maxWaitMs: 20, expectedRunMs: 100 }))
    await settle()
    expect(startedIds(gate)).toEqual(['r1', 'own'])
    for (const c of gate.calls) c.resolve()
    expect((await Promise.all([first, own])).map(o => o.error)).toEqual([ErrorCode.NONE, ErrorCode.NONE])
  })

  it('an active user caps remote work at one slot; the owner still uses the rest', async () => {
    const { executor, gate } = setup({ concurrency: 3 })
    executor.setServing({ slots: 1, paused: false, reason: 'user-active' })
    const remote = ['r1', 'r2', 'r3'].map(async id => executor.submit(spec(id, { origin: PEER })))
    await settle()
    expect(startedIds(gate)).toEqual(['r1'])
    // What the peer is told: one slot (taken), not three.
    expect(executor.loadFor(PEER)).toMatchObject({ running: 1, concurrency: 1 })
    const own = executor.submit(spec('own'))
    await settle()
    expect(startedIds(gate)).toEqual(['r1', 'own'])
    gate.calls[0].resolve()
    await settle()
    expect(startedIds(gate)).toEqual(['r1', 'own', 'r2'])
    // The cap lifted: the last one starts at once.
    executor.setServing({ slots: 3, paused: false })
    await settle()
    expect(startedIds(gate)).toEqual(['r1', 'own', 'r2', 'r3'])
    for (const c of gate.calls) c.resolve()
    expect((await Promise.all([...remote, own])).map(o => o.error)).toEqual([ErrorCode.NONE, ErrorCode.NONE, ErrorCode.NONE, ErrorCode.NONE])
  })

  it('paused: queued remote work is handed back, new remote work refused, running remote work finishes; the owner is not paused', async () => {
    const { executor, gate } = setup()
    const running = executor.submit(spec('r1', { origin: PEER }))
    const second = executor.submit(spec('r2', { origin: PEER }))
    const queued = executor.submit(spec('r3', { origin: PEER }))
    const onExpired: string[] = []
    executor.reserve('res', 'k', () => {}, () => { onExpired.push('res') }, OTHER)
    await settle()
    expect(startedIds(gate)).toEqual(['r1', 'r2'])

    executor.setServing({ slots: 0, paused: true, reason: 'battery-low' })
    const handedBack = await queued
    expect(handedBack.error).toBe(ErrorCode.SHUTTING_DOWN)
    expect(handedBack.message).toMatch(/paused \(battery-low\)/)
    expect(onExpired).toEqual(['res'])
    expect((await executor.submit(spec('r4', { origin: PEER }))).error).toBe(ErrorCode.SHUTTING_DOWN)
    expect(executor.reserve('res2', 'k', () => {}, () => {}, PEER)).toBe(ErrorCode.SHUTTING_DOWN)
    // Told: no slot and no queue place.
    expect(executor.loadFor(PEER)).toMatchObject({ concurrency: 2, running: 2, queueDepth: 0, queueLimit: 0 })

    gate.calls[0].resolve()
    expect((await running).error).toBe(ErrorCode.NONE)
    const own = executor.submit(spec('own'))
    await settle()
    expect(startedIds(gate)).toEqual(['r1', 'r2', 'own'])
    gate.calls[1].resolve()
    gate.calls[2].resolve()
    expect((await second).error).toBe(ErrorCode.NONE)
    expect((await own).error).toBe(ErrorCode.NONE)
  })

  it("onPause 'handBack' stops running remote tasks and hands them back INTERRUPTED (they started: never run here again)", async () => {
    const { executor, gate } = setup()
    const remote = executor.submit(spec('r1', { origin: PEER }))
    const own = executor.submit(spec('own'))
    await settle()
    executor.setServing({ slots: 0, paused: true, reason: 'paused' }, 'handBack')
    const o = await remote
    expect(o.error).toBe(ErrorCode.INTERRUPTED)
    expect(o.message).toMatch(/handed back/)
    gate.calls[1].resolve()
    expect((await own).error).toBe(ErrorCode.NONE)
    // Resumed: the same id from the same peer is answered INTERRUPTED (its handler had started,
    // as after a crash), and does not run again here.
    executor.setServing({ slots: 2, paused: false })
    expect((await executor.submit(spec('r1', { origin: PEER }))).error).toBe(ErrorCode.INTERRUPTED)
    expect(gate.calls).toHaveLength(2)
  })
})

describe('Executor priorities', () => {
  it('interactive before normal before batch, FIFO within one', async () => {
    const { executor, gate } = setup({ concurrency: 1 })
    const blocker = executor.submit(spec('blocker', { origin: PEER }))
    await settle()
    const order = [
      ['b1', 'batch'], ['n1', 'normal'], ['i1', 'interactive'], ['b2', 'batch'], ['n2', undefined], ['i2', 'interactive']
    ] as const
    const all = order.map(async ([id, priority]) => executor.submit(spec(id, { origin: PEER, priority })))
    await settle()
    for (let i = 0; i <= order.length; i++) {
      gate.calls[i].resolve()
      await settle()
    }
    await Promise.all([blocker, ...all])
    expect(startedIds(gate)).toEqual(['blocker', 'i1', 'i2', 'n1', 'n2', 'b1', 'b2'])
  })

  it("the owner's task overtakes queued remote batch work; at normal priority it waits its turn (adverts stay true)", async () => {
    const { executor, gate } = setup({ concurrency: 1 })
    const first = executor.submit(spec('first', { origin: PEER, priority: 'batch' }))
    await settle()
    const remote = ['b1', 'b2', 'b3'].map(async id => executor.submit(spec(id, { origin: id === 'b2' ? OTHER : PEER, priority: 'batch' })))
    const remoteNormal = executor.submit(spec('n1', { origin: OTHER }))
    await settle()
    const ownBatch = executor.submit(spec('own-batch', { priority: 'batch' }))
    const own = executor.submit(spec('own'))
    await settle()
    for (let i = 0; i < 7; i++) {
      gate.calls[i].resolve()
      await settle()
    }
    await Promise.all([first, ...remote, remoteNormal, own, ownBatch])
    expect(startedIds(gate)).toEqual(['first', 'n1', 'own', 'own-batch', 'b1', 'b2', 'b3'])
  })

  it('reservations queue by priority too', async () => {
    const { executor, gate } = setup({ concurrency: 1 })
    const blocker = executor.submit(spec('blocker', { origin: PEER }))
    await settle()
    const ready: string[] = []
    executor.reserve('slow', 'k', () => { ready.push('slow') }, () => {}, PEER, 'batch')
    executor.reserve('fast', 'k', () => { ready.push('fast') }, () => {}, PEER, 'interactive')
    gate.calls[0].resolve()
    await blocker
    await settle()
    expect(ready).toEqual(['fast'])
  })
})
