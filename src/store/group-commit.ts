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
  private ops: BatchOp[] = []
  private durable = false
  private flushing: Promise<void> | undefined
  private writing: Promise<void> = Promise.resolve()
  private deferTimer: NodeJS.Timeout | undefined
  private readonly contributors: Array<{ collect: () => BatchOp[], failed?: () => void }> = []

  /** @param deferMs - the longest a deferred write waits for a batch to join. Default 100 ms. */
  constructor (private readonly db: Db, private readonly deferMs = 100) {}

  /**
   * Add writes to every batch as it is written: `collect` hands over what its owner queued since
   * (e.g. one record for all the task starts of a tick, instead of one op per task). `failed` is
   * called when a batch it added writes to was not written (its owner may have to undo state).
   */
  contribute (collect: () => BatchOp[], failed?: () => void): void {
    this.contributors.push({ collect, failed })
  }

  /** Queue writes; resolves once they are on disk (synced when `durable`). */
  async write (ops: BatchOp[], durable: boolean): Promise<void> {
    this.ops.push(...ops)
    if (durable) this.durable = true
    await this.flushSoon()
  }

  /**
   * Queue writes that may wait: they go with the next batch anyone writes, or after `deferMs`
   * at the latest (a crash before then loses them, so only for what is safe to lose).
   */
  defer (ops: BatchOp[] = []): void {
    this.ops.push(...ops)
    this.deferTimer ??= setTimeout(() => {
      this.deferTimer = undefined
      this.flushSoon().catch(() => {})
    }, this.deferMs)
    this.deferTimer.unref?.()
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
    clearTimeout(this.deferTimer)
    this.deferTimer = undefined
    const ops = this.ops
    const added: Array<() => void> = []
    for (const { collect, failed } of this.contributors) {
      const theirs = collect()
      ops.push(...theirs)
      if (theirs.length > 0 && failed != null) added.push(failed)
    }
    const durable = this.durable
    this.ops = []
    this.durable = false
    if (ops.length === 0) return
    try {
      const batch = this.db.batch()
      for (const op of ops) {
        if (op.type === 'put') batch.put(op.key, op.value, { sublevel: op.sub as any })
        else batch.del(op.key, { sublevel: op.sub as any })
      }
      await batch.write(durable ? DURABLE : {})
    } catch (err) {
      for (const failed of added) failed()
      throw err
    }
  }
}
