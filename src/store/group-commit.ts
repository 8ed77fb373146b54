import { DURABLE } from './store.js'
import type { Db, Sublevel } from './store.js'

/** One write to a sublevel, queued for the next batch. */
export type BatchOp = { type: 'put', sub: Sublevel, key: string, value: Uint8Array } | { type: 'del', sub: Sublevel, key: string }

/**
 * Group commit over one LevelDB: every write queued in the same event-loop tick goes into one
 * batch, synced when any of them must be durable (a synced put alone is ~3.5k/s here, a synced
 * batch of 1,000 ~300k/s), so durability does not cap throughput. Batches are written one at a
 * time, in order. The task journal and the execution log share one, so a task accepted and
 * started in the same tick costs one fsync.
 */
export class GroupCommit {
  private durableOps: BatchOp[] = []
  private lazyOps: BatchOp[] = []
  private flushing: Promise<void> | undefined
  private writing: Promise<void> = Promise.resolve()

  constructor (private readonly db: Db) {}

  /** Queue writes; resolves once they are on disk (synced when `durable`). */
  async write (ops: BatchOp[], durable: boolean): Promise<void> {
    (durable ? this.durableOps : this.lazyOps).push(...ops)
    await this.flushSoon()
  }

  /** Resolves once everything queued so far is written. */
  async flush (): Promise<void> {
    await this.flushSoon()
  }

  private async flushSoon (): Promise<void> {
    // Everyone who wrote in this tick shares the next batch; a flush also waits for the batch
    // already being written.
    this.flushing ??= this.writing.then(async () => new Promise<void>(resolve => { setImmediate(resolve) })).then(async () => {
      this.flushing = undefined
      const done = this.writeBatch()
      this.writing = done.catch(() => {})
      await done
    })
    await this.flushing
  }

  private async writeBatch (): Promise<void> {
    const durable = this.durableOps
    const ops = [...durable, ...this.lazyOps]
    this.durableOps = []
    this.lazyOps = []
    if (ops.length === 0) return
    const batch = this.db.batch()
    for (const op of ops) {
      if (op.type === 'put') batch.put(op.key, op.value, { sublevel: op.sub as any })
      else batch.del(op.key, { sublevel: op.sub as any })
    }
    await batch.write(durable.length > 0 ? DURABLE : {})
  }
}
