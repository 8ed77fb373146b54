import { afterEach, describe, expect, it } from 'vitest'
import { ExecutionLog } from '../../../src/store/execution-log.js'
import { FedStore } from '../../../src/store/store.js'
import type { ExecutionEntry } from '../../../src/store/execution-log.js'

/** The execution log's records on disk stay bounded: across restarts, and when a snapshot's batch fails. */

const stores: FedStore[] = []

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

async function store (): Promise<FedStore> {
  const fed = await FedStore.memory()
  stores.push(fed)
  return fed
}

function run (taskId: string, startedAt: number): ExecutionEntry {
  return { taskId, kind: 'sleep', origin: 'peer-a', work: `sleep:${taskId}`, startedAt }
}

async function recordKeys (fed: FedStore): Promise<string[]> {
  const keys: string[] = []
  for await (const key of fed.sublevel('executions').keys()) keys.push(key)
  return keys
}

async function recordsOnDisk (fed: FedStore): Promise<number> {
  return (await recordKeys(fed)).length
}

/** Start and finish `count` runs, each in its own batch, then flush. */
async function runMany (log: ExecutionLog, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const e = run(`t${i}`, i)
    await log.started(e)
    log.finished(e, 'NONE', 1)
    await log.flush()
  }
}

describe('ExecutionLog snapshots', () => {
  it('records written in earlier lives count toward the next snapshot: many short lives do not pile records up', async () => {
    const fed = await store()
    const keep = 10
    let next = 0
    for (let life = 0; life < 30; life++) {
      const log = await ExecutionLog.open(fed.sublevel('executions'), { keep })
      await runMany(log, next, 3) // fewer runs per life than it keeps
      next += 3
    }
    // Each run is a start record and an end record: about 2 x keep between snapshots, plus the snapshot.
    expect(await recordsOnDisk(fed)).toBeLessThanOrEqual(2 * keep + 3)
    const reopened = await ExecutionLog.open(fed.sublevel('executions'), { keep })
    expect(reopened.lookup('peer-a', `t${next - 1}`)).toMatchObject({ error: 'NONE' })
    expect(reopened.mayHaveForgotten('peer-a', 'never-seen', next - keep - 1)).toBe(true)
  })

  it('a snapshot whose batch fails does not lose track of the records it was to replace', async () => {
    const fed = await store()
    const keep = 5
    const log = await ExecutionLog.open(fed.sublevel('executions'), { keep })
    await runMany(log, 0, keep - 1)
    const before = await recordKeys(fed)
    // The batch that would carry the snapshot fails (a disk error).
    const root = fed.db as unknown as { _batch: (...args: unknown[]) => Promise<void> }
    const original = root._batch.bind(root)
    let failures = 0
    root._batch = async (...args: unknown[]) => {
      const ops = args[0] as unknown[]
      if (failures === 0 && ops.length > 2) {
        failures++
        throw new Error('disk error')
      }
      await original(...args)
    }
    await expect(log.started(run('fails', 100))).rejects.toThrow('disk error')
    expect(failures).toBe(1)
    // Later snapshots replace every record, the ones the failed snapshot was to delete included.
    await runMany(log, 200, 4 * keep)
    const after = await recordKeys(fed)
    expect(after.filter(key => before.includes(key))).toEqual([])
    expect(after.length).toBeLessThanOrEqual(2 * keep + 3)
  })
})
