import { afterEach, describe, expect, it, vi } from 'vitest'
import { ExecutionLog } from '../../../src/store/execution-log.js'
import { FedStore } from '../../../src/store/store.js'
import { spyOnBatches } from '../../helpers/unit-store.js'
import type { ExecutionEntry } from '../../../src/store/execution-log.js'

const stores: FedStore[] = []

afterEach(async () => {
  vi.restoreAllMocks()
  for (const s of stores.splice(0)) await s.close()
})

async function store (): Promise<FedStore> {
  const fed = await FedStore.memory()
  stores.push(fed)
  return fed
}

function run (taskId: string, startedAt = 1_000, origin = 'peer-a'): ExecutionEntry {
  return { taskId, kind: 'sleep', origin, work: `sleep:${taskId}`, startedAt }
}

describe('ExecutionLog', () => {
  it('a start is on disk (synced) when started() resolves; all starts of one tick share one record in one batch', async () => {
    const fed = await store()
    const log = await ExecutionLog.open(fed.sublevel('executions'))
    const writes = spyOnBatches(fed)
    await Promise.all(Array.from({ length: 200 }, async (_, i) => log.started(run(`t${i}`, 1_000 + i))))
    expect(writes).toEqual([{ ops: 1, options: { sync: true } }])
    // What is on disk now: a fresh log over the same store sees every start.
    const reopened = await ExecutionLog.open(fed.sublevel('executions'))
    expect(reopened.size).toBe(200)
  })

  it('a run found unfinished at open was cut by a crash; a finished one keeps its outcome', async () => {
    const fed = await store()
    const log = await ExecutionLog.open(fed.sublevel('executions'))
    const cut = run('cut', 1_000)
    const done = run('done', 2_000)
    await log.started(cut)
    await log.started(done)
    log.finished(done, 'NONE', 40)
    await log.flush()
    // The "crash": the first log is dropped without finishing `cut`.
    const after = await ExecutionLog.open(fed.sublevel('executions'))
    expect(after.lookup('peer-a', 'cut')).toMatchObject({ taskId: 'cut', interrupted: true })
    expect(after.lookup('peer-a', 'done')).toMatchObject({ error: 'NONE', runMs: 40 })
    expect(after.lookup('peer-a', 'done')?.interrupted).toBeUndefined()
    expect(after.lookup('peer-b', 'done')).toBeUndefined() // per submitter
    expect(after.recent(10).map(e => e.taskId)).toEqual(['done', 'cut']) // newest start first
  })

  it('finishing is not synced (a crash before it is written leaves the run marked cut, the safe side)', async () => {
    const fed = await store()
    const log = await ExecutionLog.open(fed.sublevel('executions'))
    const e = run('x')
    await log.started(e)
    const writes = spyOnBatches(fed)
    log.finished(e, 'FAILED', 3)
    await log.flush()
    expect(writes).toHaveLength(1)
    expect((writes[0].options as { sync?: boolean }).sync ?? false).toBe(false)
  })

  it('a run handed back (its handler never started) is forgotten, on disk too: it may run again', async () => {
    const fed = await store()
    const log = await ExecutionLog.open(fed.sublevel('executions'))
    const e = run('stopped')
    await log.started(e)
    log.handedBack(e)
    await log.flush()
    expect(log.lookup('peer-a', 'stopped')).toBeUndefined()
    expect((await ExecutionLog.open(fed.sublevel('executions'))).lookup('peer-a', 'stopped')).toBeUndefined()
  })

  it('keeps the newest `keep` runs, never dropping one that still runs', async () => {
    const fed = await store()
    const log = await ExecutionLog.open(fed.sublevel('executions'), { keep: 3 })
    const long = run('long', 1)
    await log.started(long) // never finishes
    for (let i = 0; i < 6; i++) {
      const e = run(`t${i}`, 10 + i)
      await log.started(e)
      log.finished(e, 'NONE', 1)
    }
    await log.flush()
    expect(log.recent(10).map(e => e.taskId)).toEqual(['t5', 't4', 'long'])
    // After a restart 'long' is a run cut by the crash, no longer running: the oldest goes first.
    const reopened = await ExecutionLog.open(fed.sublevel('executions'), { keep: 3 })
    expect(reopened.recent(10).map(e => e.taskId)).toEqual(['t5', 't4', 't3'])
  })

  it('a large log lets its oldest runs go a batch at a time (at most keep/64 over), keeping the newest `keep`', () => {
    const log = ExecutionLog.memory({ keep: 640 })
    let most = 0
    for (let i = 0; i < 5_000; i++) {
      const e = run(`t${i}`, 1_000 + i)
      log.started(e)
      log.finished(e, 'NONE', 1)
      most = Math.max(most, log.size)
    }
    expect(most).toBe(650)
    const kept = log.recent(1_000).map(e => e.taskId)
    expect(kept.slice(0, 640)).toEqual(Array.from({ length: 640 }, (_, i) => `t${4_999 - i}`))
    // What went was forgotten oldest first, and is still known by id in this life.
    expect(log.mayHaveForgotten('peer-a', 't0', 1_000)).toBe(true)
    expect(log.mayHaveForgotten('peer-a', 'never-seen', 1_000)).toBe(false)
  })

  it('remembers, per submitter, when the newest run it forgot started (on disk too, snapshots included)', async () => {
    const fed = await store()
    const log = await ExecutionLog.open(fed.sublevel('executions'), { keep: 3 })
    for (let i = 0; i < 12; i++) {
      const e = run(`t${i}`, 100 + i, i % 4 === 3 ? 'peer-b' : 'peer-a')
      await log.started(e)
      log.finished(e, 'NONE', 1)
    }
    await log.flush()
    // Kept: t9, t10, t11. Forgotten: peer-a up to t8 (started at 108), peer-b up to t7 (107).
    expect(log.recent(10).map(e => e.taskId)).toEqual(['t11', 't10', 't9'])
    // In this life the forgotten runs are known by id: only those may have run here.
    expect(log.mayHaveForgotten('peer-a', 't8', 108)).toBe(true)
    expect(log.mayHaveForgotten('peer-a', 'never-seen', 108)).toBe(false)
    expect(log.mayHaveForgotten('peer-b', 't7', 107)).toBe(true)
    // After a restart only the bounds are known: anything accepted before them may have run.
    const reopened = await ExecutionLog.open(fed.sublevel('executions'), { keep: 3 })
    for (const l of [log, reopened]) {
      expect(l.mayHaveForgotten('peer-a', 'never-seen', 109)).toBe(false)
      expect(l.mayHaveForgotten('peer-b', 'never-seen', 108)).toBe(false)
      expect(l.mayHaveForgotten('peer-c', 'never-seen', 0)).toBe(false)
    }
    expect(reopened.mayHaveForgotten('peer-a', 'never-seen', 108)).toBe(true)
    expect(reopened.mayHaveForgotten('peer-b', 'never-seen', 107)).toBe(true)
  })

  it('a busy submitter is not refused for runs of its own that were forgotten meanwhile (they are known by id)', () => {
    const log = ExecutionLog.memory({ keep: 2 })
    for (let i = 0; i < 1_000; i++) {
      const e = run(`t${i}`, 1_000 + i, 'busy')
      log.started(e)
      log.finished(e, 'NONE', 1)
    }
    // Hundreds of runs forgotten in the last instant: a new task is not one of them.
    expect(log.mayHaveForgotten('busy', 'new-task', 1_500)).toBe(false)
    expect(log.mayHaveForgotten('busy', 't700', 1_500)).toBe(true)
  })

  it('beyond maxOrigins submitters, the forgotten runs of new ones raise one bound shared by all', () => {
    const log = ExecutionLog.memory({ keep: 1, maxOrigins: 2 })
    for (const [i, origin] of ['a', 'b', 'c', 'd'].entries()) {
      const e = run(`t${i}`, 10 + i, origin)
      log.started(e)
      log.finished(e, 'NONE', 1)
    }
    // a (10) and b (11) are tracked; c (12) is forgotten into the shared bound, which counts for
    // everyone; d is kept.
    expect(log.mayHaveForgotten('a', 't0', 10)).toBe(true)
    expect(log.mayHaveForgotten('c', 't2', 12)).toBe(true)
    expect(log.mayHaveForgotten('a', 't9', 13)).toBe(false)
    expect(log.mayHaveForgotten('d', 't9', 13)).toBe(false)
  })

  it('replaces its records by one snapshot of the kept runs once as many runs were written as it keeps', async () => {
    const fed = await store()
    const log = await ExecutionLog.open(fed.sublevel('executions'), { keep: 10 })
    for (let i = 0; i < 35; i++) {
      const e = run(`t${i}`, i)
      await log.started(e)
      if (i !== 30) log.finished(e, i % 7 === 0 ? 'FAILED' : 'NONE', i)
    }
    await log.flush()
    let records = 0
    for await (const _ of fed.sublevel('executions').keys()) records++
    expect(records).toBeLessThanOrEqual(11) // a snapshot and the records written since
    const reopened = await ExecutionLog.open(fed.sublevel('executions'), { keep: 10 })
    expect(reopened.recent(100).map(e => e.taskId)).toEqual(log.recent(100).map(e => e.taskId))
    expect(reopened.lookup('peer-a', 't28')).toMatchObject({ error: 'FAILED', runMs: 28 })
    expect(reopened.lookup('peer-a', 't30')?.interrupted).toBe(true)
    expect(reopened.lookup('peer-a', 't34')).toMatchObject({ error: 'NONE', runMs: 34 })
  })

  it('skips records it cannot read instead of failing to open', async () => {
    const fed = await store()
    await fed.sublevel('executions').put('000000000000001-x', new TextEncoder().encode('{not json'))
    await fed.sublevel('executions').put('000000000000002-y', new TextEncoder().encode('[]'))
    const log = await ExecutionLog.open(fed.sublevel('executions'))
    expect(log.size).toBe(0)
  })

  it('in memory: the same rules, nothing to wait for', () => {
    const log = ExecutionLog.memory({ keep: 2 })
    const e = run('m')
    expect(log.started(e)).toBeUndefined()
    log.finished(e, 'NONE', 1)
    expect(log.lookup('peer-a', 'm')).toMatchObject({ error: 'NONE' })
  })
})
