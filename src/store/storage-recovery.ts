import { readdir, stat, statfs } from 'node:fs/promises'
import { join } from 'node:path'
import { repeatingTask } from '@libp2p/utils'
import { SECOND } from '../util/time.js'
import { classifyStorageError } from './storage-health.js'
import type { StorageHealth } from './storage-health.js'
import type { RepeatingTask } from '@libp2p/utils'

export interface StorageRecoveryInit {
  /** How often a failed store checks whether it can write again, ms. Default 2 s. */
  intervalMs?: number
  /**
   * Free space wanted beyond what a reopen needs before one is tried, bytes. Default 1 MiB.
   * Reopening replays the write-ahead log into a new table file: tried on a still-full disk it
   * would fail and leave the database closed (reads failing too) until the next attempt.
   */
  reserveBytes?: number
  /** Free bytes on the filesystem holding `dir` (statfs; tests may inject). */
  freeBytes?: (dir: string) => Promise<number>
}

export interface RecoverableStore {
  health: StorageHealth
  /** The LevelDB directory. */
  dbDir: string
  /** Close and reopen the database (a fresh write-ahead log, LevelDB's sticky error cleared). */
  reopen(): Promise<void>
  /** One synced write; throws the typed storage error when the disk still refuses. */
  probe(): Promise<void>
}

export const DEFAULT_RECOVERY_INTERVAL_MS = 2 * SECOND
export const DEFAULT_RECOVERY_RESERVE_BYTES = 1024 * 1024

/**
 * Brings a failed store back by itself: while the store is failed, every interval it checks the
 * free space, and once there is room reopens the database and makes a synced probe write; when
 * that succeeds writes are accepted again. Nothing runs while the store is healthy.
 */
export class StorageRecovery {
  private readonly task: RepeatingTask
  private readonly reserveBytes: number
  private readonly freeBytes: (dir: string) => Promise<number>
  private unsubscribe: (() => void) | undefined
  private attempting: Promise<boolean> | undefined

  constructor (private readonly store: RecoverableStore, init: StorageRecoveryInit = {}) {
    this.reserveBytes = init.reserveBytes ?? DEFAULT_RECOVERY_RESERVE_BYTES
    this.freeBytes = init.freeBytes ?? filesystemFreeBytes
    this.task = repeatingTask(async () => { await this.attempt() }, init.intervalMs ?? DEFAULT_RECOVERY_INTERVAL_MS)
  }

  start (): void {
    this.unsubscribe ??= this.store.health.onChange(event => {
      if (event.type === 'failed') this.task.start()
      else this.task.stop()
    })
    if (!this.store.health.ok) this.task.start()
  }

  stop (): void {
    this.unsubscribe?.()
    this.unsubscribe = undefined
    this.task.stop()
  }

  /** One recovery attempt (at most one at a time); true when the store takes writes again. */
  async attempt (): Promise<boolean> {
    this.attempting ??= this.tryOnce().finally(() => { this.attempting = undefined })
    return this.attempting
  }

  private async tryOnce (): Promise<boolean> {
    const { health } = this.store
    if (health.ok) return true
    const [free, logs] = await Promise.all([
      this.freeBytes(this.store.dbDir).catch(() => Number.POSITIVE_INFINITY),
      logBytes(this.store.dbDir).catch(() => 0)
    ])
    if (free < logs + this.reserveBytes) return false
    try {
      await this.store.reopen()
      health.reopened()
    } catch (err) {
      health.failed('reopen', classifyStorageError(err) ?? { kind: 'io', reason: 'the store could not be reopened', detail: String(err) })
      return false
    }
    try {
      await this.store.probe()
    } catch {
      return false
    }
    health.recovered()
    return true
  }
}

async function filesystemFreeBytes (dir: string): Promise<number> {
  const s = await statfs(dir)
  return s.bavail * s.bsize
}

/** Bytes in LevelDB's write-ahead logs: what a reopen turns into a table file. */
async function logBytes (dir: string): Promise<number> {
  let total = 0
  for (const name of await readdir(dir)) {
    if (name.endsWith('.log')) total += (await stat(join(dir, name))).size
  }
  return total
}
