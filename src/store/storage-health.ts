import { StorageFaultError, StorageFullError } from '../util/errors.js'
import type { Clock } from '../util/time.js'

/** The store's writes, as counted in `fedmesh_store_errors_total{op}`. */
export const STORE_OPS = ['put', 'del', 'batch', 'clear', 'probe', 'reopen'] as const
export type StoreOp = typeof STORE_OPS[number]

/** `full`: no space (or quota) left; `io`: any other failure of the disk. */
export type FaultKind = 'full' | 'io'

/** A disk failure as LevelDB reported it, in words a user reads. */
export interface StorageFault {
  kind: FaultKind
  /** Short and lower case, e.g. "no space left on device". */
  reason: string
  /** LevelDB's own message (names the file). */
  detail: string
}

/** What `status` shows under `storage`. */
export interface StorageCondition {
  ok: boolean
  /** While failed: the reason ("no space left on device"). */
  error?: string
  /** While failed: when it started (epoch ms). */
  since?: number
  /** Writes refused since the daemon started (they answered 507). */
  writesRefused: number
}

export type StorageEvent =
  | { type: 'failed', fault: StorageFault, op: StoreOp }
  | { type: 'recovered', fault: StorageFault, downMs: number, writesRefused: number }

/**
 * Turn a LevelDB (or fs) error into a storage fault, or undefined when it is not the disk's doing
 * (a bad key, a closed database: those stay ordinary errors). classic-level reports every failed
 * file operation as LEVEL_IO_ERROR with the OS message in the text.
 */
export function classifyStorageError (err: unknown): StorageFault | undefined {
  // abstract-level wraps open failures (LEVEL_DATABASE_NOT_OPEN) around the I/O error as `cause`.
  for (let e = err, depth = 0; e != null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const fault = classifyOne(e)
    if (fault != null) return fault
  }
  return undefined
}

function classifyOne (err: unknown): StorageFault | undefined {
  const e = err as { code?: unknown, message?: unknown } | undefined
  const code = typeof e?.code === 'string' ? e.code : ''
  const detail = typeof e?.message === 'string' ? e.message : String(err)
  const io = code === 'LEVEL_IO_ERROR' || /^IO error\b/.test(detail) || ['ENOSPC', 'EDQUOT', 'EIO', 'EROFS'].includes(code)
  if (!io) return undefined
  if (code === 'ENOSPC' || /no space left on device/i.test(detail)) return { kind: 'full', reason: 'no space left on device', detail }
  if (code === 'EDQUOT' || /quota exceeded/i.test(detail)) return { kind: 'full', reason: 'disk quota exceeded', detail }
  if (code === 'EROFS' || /read-only file system/i.test(detail)) return { kind: 'io', reason: 'read-only file system', detail }
  if (code === 'EIO' || /input\/output error/i.test(detail)) return { kind: 'io', reason: 'input/output error', detail }
  return { kind: 'io', reason: 'I/O error', detail }
}

/**
 * Whether the store can take writes, and the counts behind the metrics. The first disk error
 * puts it in the failed condition (one event, so the daemon logs one line); from then on every
 * write is refused with the same typed error until recovery reports success.
 */
export class StorageHealth {
  private fault: (StorageFault & { since: number }) | undefined
  private refusedSinceFault = 0
  /** Writes that failed on the disk, by operation. */
  readonly errors: Record<StoreOp, number> = Object.fromEntries(STORE_OPS.map(op => [op, 0])) as Record<StoreOp, number>
  /** Writes refused because the store was failed. */
  writesRefused = 0
  /** Times the database was reopened to recover. */
  private reopenCount = 0
  private readonly listeners = new Set<(event: StorageEvent) => void>()

  constructor (private readonly clock: Clock, private readonly where: string) {}

  get ok (): boolean {
    return this.fault == null
  }

  /** A write failed on the disk: count it, enter the failed condition; returns the error to throw. */
  failed (op: StoreOp, fault: StorageFault): Error {
    this.errors[op]++
    if (this.fault == null) {
      this.fault = { ...fault, since: this.clock.now() }
      this.refusedSinceFault = 0
      this.emit({ type: 'failed', fault, op })
    } else if (fault.kind === 'full') {
      // A full disk is the more useful thing to tell the user than the I/O error it may cause.
      this.fault = { ...fault, since: this.fault.since }
    }
    return this.toError(this.fault)
  }

  /** A write that was not attempted (or not acknowledged) because the store is failed. */
  refuse (): Error {
    this.writesRefused++
    this.refusedSinceFault++
    return this.toError(this.fault ?? { kind: 'io', reason: 'I/O error', detail: '' })
  }

  get reopens (): number {
    return this.reopenCount
  }

  /** The database was reopened (recovery): a fresh write-ahead log. */
  reopened (): void {
    this.reopenCount++
  }

  /** A probe write went through after a reopen: writes are accepted again. */
  recovered (): void {
    const fault = this.fault
    if (fault == null) return
    this.fault = undefined
    this.emit({ type: 'recovered', fault, downMs: this.clock.now() - fault.since, writesRefused: this.refusedSinceFault })
  }

  condition (): StorageCondition {
    if (this.fault == null) return { ok: true, writesRefused: this.writesRefused }
    return { ok: false, error: this.fault.reason, since: this.fault.since, writesRefused: this.writesRefused }
  }

  onChange (listener: (event: StorageEvent) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  private emit (event: StorageEvent): void {
    for (const listener of this.listeners) {
      try { listener(event) } catch {}
    }
  }

  private toError (fault: StorageFault): Error {
    return fault.kind === 'full'
      ? new StorageFullError(`${fault.reason} (store in ${this.where}): the write was not made; writes resume by themselves once space is freed`)
      : new StorageFaultError(`${fault.reason} writing the store in ${this.where}: the write was not made; writes resume by themselves once the disk takes writes again`)
  }
}
