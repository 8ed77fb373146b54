import { afterEach, describe, expect, it, vi } from 'vitest'
import { FedStore } from '../../../src/store/store.js'
import { TaskJournal } from '../../../src/store/task-journal.js'
import { spyOnBatches } from '../../helpers/unit-store.js'
import type { JournalRecord, TaskRecord } from '../../../src/store/task-journal.js'

const stores: FedStore[] = []

afterEach(async () => {
  vi.restoreAllMocks()
  for (const s of stores.splice(0)) await s.close()
})

async function setup (): Promise<{ journal: TaskJournal, fed: FedStore }> {
  const fed = await FedStore.memory()
  stores.push(fed)
  return { journal: new TaskJournal(fed.sublevel('journal'), fed.sublevel('results')), fed }
}

function accepted (taskId: string, submittedAt = 1_000): JournalRecord {
  return { taskId, kind: 'echo', input: Buffer.from(taskId).toString('base64'), timeoutMs: 5_000, submittedAt }
}

function finished (taskId: string, submittedAt: number, over: Partial<TaskRecord> = {}): TaskRecord {
  return { taskId, kind: 'echo', status: 'ok', peer: 'local', attempts: 1, durationMs: 3, submittedAt, output: '', ...over }
}

describe('TaskJournal', () => {
  it('keeps an accepted task pending until it is completed, then lists its result', async () => {
    const { journal } = await setup()
    await journal.accept(accepted('a'))
    await journal.accept(accepted('b'))
    expect((await journal.pending()).map(r => r.taskId).sort()).toEqual(['a', 'b'])
    expect(await journal.recent(10)).toEqual([])

    await journal.complete(finished('a', 1_000, { output: 'b3V0' }))
    expect((await journal.pending()).map(r => r.taskId)).toEqual(['b'])
    expect(await journal.recent(10)).toEqual([finished('a', 1_000, { output: 'b3V0' })])
  })

  it('survives reopening the journal over the same store', async () => {
    const { journal, fed } = await setup()
    await journal.accept(accepted('a'))
    await journal.complete(finished('b', 5))
    const again = new TaskJournal(fed.sublevel('journal'), fed.sublevel('results'))
    expect((await again.pending()).map(r => r.taskId)).toEqual(['a'])
    expect((await again.recent(5)).map(r => r.taskId)).toEqual(['b'])
  })

  it('finds a task by id, journaled or finished, and only that id', async () => {
    const { journal } = await setup()
    await journal.accept(accepted('waiting'))
    await journal.complete(finished('a-x', 10))
    await journal.complete(finished('x', 5, { output: 'eA==' }))
    expect(await journal.pendingTask('waiting')).toMatchObject({ taskId: 'waiting' })
    expect(await journal.pendingTask('x')).toBeUndefined()
    expect(await journal.result('x')).toMatchObject({ taskId: 'x', output: 'eA==' })
    expect(await journal.result('a-x')).toMatchObject({ taskId: 'a-x' })
    expect(await journal.result('-x')).toBeUndefined()
    expect(await journal.result('nope')).toBeUndefined()
  })

  it('recent() is newest submission first, up to the limit', async () => {
    const { journal } = await setup()
    // Submission times of very different magnitudes: ordering must be numeric, not textual.
    for (const [id, at] of [['t9', 9], ['t1000', 1_000], ['t10', 10], ['t2', 2], ['big', 1_700_000_000_000]] as const) {
      await journal.complete(finished(id, at))
    }
    expect((await journal.recent(10)).map(r => r.taskId)).toEqual(['big', 't1000', 't10', 't9', 't2'])
    expect((await journal.recent(2)).map(r => r.taskId)).toEqual(['big', 't1000'])
  })

  it('prune(keep) keeps only the newest results and leaves pending tasks alone', async () => {
    const { journal } = await setup()
    await journal.accept(accepted('still-running'))
    for (let i = 1; i <= 6; i++) await journal.complete(finished(`t${i}`, i * 100))
    await journal.prune(2)
    expect((await journal.recent(10)).map(r => r.taskId)).toEqual(['t6', 't5'])
    expect((await journal.pending()).map(r => r.taskId)).toEqual(['still-running'])
    await journal.prune(5)
    expect(await journal.recent(10)).toHaveLength(2)
  })

  it('accepts made in one tick share one synced batch (group commit)', async () => {
    const { journal, fed } = await setup()
    const writes = spyOnBatches(fed)
    await Promise.all(Array.from({ length: 50 }, async (_, i) => journal.accept(accepted(`t${i}`))))
    expect(writes).toEqual([{ ops: 50, options: { sync: true } }])
    expect(await journal.pending()).toHaveLength(50)

    await journal.accept(accepted('later'))
    expect(writes).toHaveLength(2)
  })

  it('an accept and a completion in the same tick land in one batch, synced, and leave the task done', async () => {
    const { journal, fed } = await setup()
    const writes = spyOnBatches(fed)
    await Promise.all([journal.accept(accepted('x')), journal.complete(finished('x', 1_000))])
    expect(writes).toEqual([{ ops: 3, options: { sync: true } }])
    expect(await journal.pending()).toEqual([])
    expect((await journal.recent(1))[0].taskId).toBe('x')
  })

  it('completions alone are written without a sync', async () => {
    const { journal, fed } = await setup()
    await journal.accept(accepted('x'))
    const writes = spyOnBatches(fed)
    await journal.complete(finished('x', 1_000))
    expect(writes).toHaveLength(1)
    expect((writes[0].options as { sync?: boolean } | undefined)?.sync ?? false).toBe(false)
  })

  it('a result the store refuses is held: not pending, found by id, written by writeHeld() once the store takes writes', async () => {
    const { journal, fed } = await setup()
    await journal.accept(accepted('x'))
    const original = fed.db.batch.bind(fed.db) as () => any
    const refusing = vi.spyOn(fed.db, 'batch').mockImplementation((() => {
      const chained = original()
      chained.write = async () => { throw new Error('no space left on device') }
      return chained
    }) as any)
    expect(await journal.complete(finished('x', 1_000, { output: 'eA==' }))).toMatchObject({ written: false })
    expect(journal.heldResults).toBe(1)
    expect(await journal.pending()).toEqual([])
    expect(await journal.pendingTask('x')).toBeUndefined()
    expect(await journal.result('x')).toMatchObject({ taskId: 'x', output: 'eA==' })
    await expect(journal.writeHeld()).rejects.toThrow('no space left')
    expect(journal.heldResults).toBe(1)
    refusing.mockRestore()
    expect(await journal.writeHeld()).toBe(1)
    expect(journal.heldResults).toBe(0)
    const reopened = new TaskJournal(fed.sublevel('journal'), fed.sublevel('results'))
    expect(await reopened.pending()).toEqual([])
    expect(await reopened.result('x')).toMatchObject({ output: 'eA==' })
  })

  it('flush() with nothing to write resolves', async () => {
    const { journal } = await setup()
    await expect(journal.flush()).resolves.toBeUndefined()
  })

  // Regression test for a fixed bug (task-journal.ts `flushSoon`, lines 94-95 today): `flushing` is cleared when the batch
  // *starts*, not when it is written, so a flush() (TaskService.stop calls it before the store
  // closes) made while a batch is being written schedules an empty batch of its own and resolves
  // at once, before the earlier writes are durable. flush() should wait for every write already
  // in progress.
  it('flush() waits for a batch that is still being written', async () => {
    const { journal, fed } = await setup()
    const original = fed.db.batch.bind(fed.db) as () => any
    let release!: () => void
    const gate = new Promise<void>(resolve => { release = resolve })
    let written = false
    vi.spyOn(fed.db, 'batch').mockImplementation((() => {
      const chained = original()
      const write = chained.write.bind(chained)
      chained.write = async (options?: unknown) => {
        await gate
        await write(options)
        written = true
      }
      return chained
    }) as any)
    const accepting = journal.accept(accepted('a'))
    await vi.waitFor(() => { expect(fed.db.batch).toHaveBeenCalled() }) // the batch is being written
    let flushed = false
    const flushing = journal.flush().then(() => { flushed = true })
    await new Promise(resolve => setTimeout(resolve, 20))
    const flushedBeforeWrite = flushed && !written
    release()
    await Promise.all([accepting, flushing])
    expect(flushedBeforeWrite).toBe(false)
  })
})
