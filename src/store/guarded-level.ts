import { AbstractLevel } from 'abstract-level'
import { Level } from 'level'
import { StorageFaultError } from '../util/errors.js'
import { classifyStorageError } from './storage-health.js'
import type { StorageHealth, StoreOp } from './storage-health.js'

type Bytes = Uint8Array

/** abstract-level's private write methods (not in its typings): every sublevel write ends here. */
interface PrivateWrites {
  _put(key: unknown, value: unknown, options: unknown): Promise<void>
  _del(key: unknown, options: unknown): Promise<void>
  _batch(operations: unknown[], options: unknown): Promise<void>
  _clear(options: unknown): Promise<void>
  _chainedBatch(): unknown
}

const native = Level.prototype as unknown as PrivateWrites
const generic = AbstractLevel.prototype as unknown as PrivateWrites

/** A root key outside every sublevel (their prefixes start with "!"). */
const PROBE_KEY = '~storage-probe'

/**
 * LevelDB's in-memory write buffer (memtable), 1 MiB instead of its 4 MiB. An idle daemon keeps
 * writing small records (peer store, DHT, ledgers), so the memtable fills towards its limit
 * over hours and stays resident (two of them while one is written out). Measured: 24 MB of
 * writes left 14.7 MB more resident with the default, 9.7 MB with 1 MiB; bulk writes compact
 * more often (those 24 MB took 174-307 ms against 305-674 ms). The block cache (8 MiB) is left:
 * LevelDB reads its tables through mmap on 64-bit Linux and caches no block of them.
 */
export const WRITE_BUFFER_BYTES = 1024 * 1024

/**
 * The root LevelDB with one failure path for every write, whichever sublevel (or libp2p's
 * datastore) makes it: a disk error becomes a typed error and puts the store in the failed
 * condition, and from then on writes are refused before they reach LevelDB until recovery has
 * reopened the database and a probe write succeeded.
 *
 * Why refuse rather than let the next write try: after a failed append LevelDB's write-ahead log
 * holds a torn record, and records appended after it are dropped when the log is replayed
 * (measured: 300 of 300 writes acknowledged after a freed-up ENOSPC were gone after a restart).
 * A failed compaction also leaves LevelDB refusing every write until it is reopened. Reopening
 * starts a fresh log; everything acknowledged before the fault precedes the torn record and is
 * replayed.
 */
export class GuardedLevel extends Level<string, Bytes> {
  /** Bumped by every fault: a write that began before a fault and ends after it is not acknowledged. */
  private epoch = 0

  constructor (location: string, readonly health: StorageHealth) {
    super(location, { valueEncoding: 'view', writeBufferSize: WRITE_BUFFER_BYTES })
  }

  async _put (key: unknown, value: unknown, options: unknown): Promise<void> {
    await this.guard('put', async () => { await native._put.call(this, key, value, options) })
  }

  async _del (key: unknown, options: unknown): Promise<void> {
    await this.guard('del', async () => { await native._del.call(this, key, options) })
  }

  async _batch (operations: unknown[], options: unknown): Promise<void> {
    await this.guard('batch', async () => { await native._batch.call(this, operations, options) })
  }

  async _clear (options: unknown): Promise<void> {
    await this.guard('clear', async () => { await native._clear.call(this, options) })
  }

  /** abstract-level's generic chained batch commits through `_batch`, so it is guarded too. */
  _chainedBatch (): unknown {
    return generic._chainedBatch.call(this)
  }

  /** One synced write past the refusal: does the disk take writes again? Throws the typed error if not. */
  async probe (): Promise<void> {
    if (this.status !== 'open') throw new StorageFaultError('the store is not open: no probe write')
    try {
      await native._put.call(this, PROBE_KEY, new TextEncoder().encode(new Date().toISOString()), { sync: true, keyEncoding: 'utf8', valueEncoding: 'view' })
    } catch (err) {
      const fault = classifyStorageError(err)
      if (fault == null) throw err
      this.epoch++
      throw this.health.failed('probe', fault)
    }
  }

  private async guard (op: StoreOp, write: () => Promise<void>): Promise<void> {
    if (!this.health.ok) throw this.health.refuse()
    const epoch = this.epoch
    try {
      await write()
    } catch (err) {
      const fault = classifyStorageError(err)
      if (fault == null) throw err
      this.epoch++
      throw this.health.failed(op, fault)
    }
    // It may sit in the log after a torn record: not durable, so not acknowledged.
    if (epoch !== this.epoch) throw this.health.refuse()
  }
}
