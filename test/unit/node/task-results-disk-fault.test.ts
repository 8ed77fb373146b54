import { afterEach, describe, expect, it } from 'vitest'
import { createFederationNode } from '../../../src/node/create-node.js'
import { FedStore } from '../../../src/store/store.js'
import { StorageFullError } from '../../../src/util/errors.js'
import { bytes, gatedHandler } from '../../helpers/unit-tasks.js'
import type { FederationNode } from '../../../src/node/federation-node.js'

/**
 * A task that ran while the disk filled up: its result cannot be written, but the client gets the
 * result (not a 507, which says "nothing was written, retry" and would make it run again), the
 * result is held, written once the store recovers, and the task is not journaled any more.
 */

const cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

let n = 0
async function node (store: FedStore, handlers: Record<string, any>): Promise<FederationNode> {
  const node = await createFederationNode({ open: true, store, transport: 'memory', listen: [`/memory/results-fault-${process.pid}-${n++}`], mdns: false, dht: false, journal: true, handlers })
  await node.start()
  cleanup.push(async () => { await node.stop(0) })
  return node
}

/** Every batch the store writes fails as on a full disk, and the store is in the failed condition. */
function fillDisk (store: FedStore): () => void {
  const db = store.db as any
  const original = db.batch
  db.batch = (...args: unknown[]) => {
    if (args.length > 0) return original.apply(db, args)
    const chained = original.call(db)
    chained.write = async () => { throw store.health.failed('batch', { kind: 'full', reason: 'no space left on device', detail: 'test' }) }
    return chained
  }
  return () => { db.batch = original }
}

async function journaled (store: FedStore, taskId: string): Promise<boolean> {
  return (await store.sublevel('journal').get(taskId)) != null
}

describe('a task result the disk refuses', () => {
  it('is answered, held, written when the store recovers, and the task does not run again', async () => {
    const store = await FedStore.memory()
    cleanup.push(async () => { await store.close() })
    const gate = gatedHandler()
    const a = await node(store, { side: gate.handler })
    const running = a.run({ kind: 'side', input: bytes('"x"'), taskId: 't1' })
    await expect.poll(() => gate.started('t1')).toBe(true)
    expect(await journaled(store, 't1')).toBe(true)

    const emptyDisk = fillDisk(store)
    gate.calls[0].resolve()
    const answer = await running
    expect(answer).toMatchObject({ taskId: 't1', status: 'ok', output: 'x' })
    expect(store.health.ok).toBe(false)
    // Nothing could be written: still in the journal on disk, but finished for every reader.
    expect(await journaled(store, 't1')).toBe(true)
    expect(await a.task('t1')).toMatchObject({ status: 'ok', output: 'x' })
    // A resubmission of the same id gets the same answer without running it.
    expect(await a.run({ kind: 'side', input: bytes('"x"'), taskId: 't1' })).toMatchObject({ status: 'ok' })
    expect(gate.calls).toHaveLength(1)
    // A new submission is refused meanwhile (nothing can be journaled): 507, nothing accepted.
    await expect(a.run({ kind: 'side', input: bytes('"y"'), taskId: 't2' })).rejects.toBeInstanceOf(StorageFullError)

    emptyDisk()
    store.health.recovered()
    await expect.poll(async () => journaled(store, 't1')).toBe(false)
    await a.stop(0)

    // After a restart nothing is left to resume, and the result is found from the store.
    const again = gatedHandler()
    const b = await node(store, { side: again.handler })
    expect(await b.task('t1')).toMatchObject({ status: 'ok', output: 'x' })
    expect(await store.sublevel('journal').keys().all()).toEqual([])
    expect(again.calls).toHaveLength(0)
  }, 30_000)
})
