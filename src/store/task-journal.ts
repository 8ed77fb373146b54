import { GroupCommit } from './group-commit.js'
import type { BatchOp } from './group-commit.js'
import type { Sublevel } from './store.js'

/** A task accepted from a user, written before it is acknowledged. */
export interface JournalRecord {
  taskId: string
  kind: string
  /** Task input, base64. */
  input: string
  timeoutMs: number
  peer?: string
  submittedAt: number
  /** When it was first accepted, if before `submittedAt` (a task resumed after a restart). */
  acceptedAt?: number
  /** `interactive` or `batch`; absent = normal. */
  priority?: 'interactive' | 'batch'
}

/** A finished task as `fedmesh tasks` lists it. */
export interface TaskRecord {
  taskId: string
  kind: string
  status: 'ok' | 'error'
  peer: string
  attempts: number
  durationMs: number
  submittedAt: number
  errorCode?: string
  error?: string
  /** Output, base64 (kept so a retried submission gets the same answer). */
  output: string
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * The durable task journal: an accepted task is written (synced, by group commit) before it is
 * acknowledged and stays journaled until its result is recorded; after a crash the daemon
 * resumes what is still here. Results are kept for `fedmesh tasks` and lookups by id.
 *
 * A result that cannot be written (the disk is full or failing: the task ran all the same) is
 * held in memory and counts as written for every read here — the task is not pending, its result
 * is found — until `writeHeld()` writes it, once the store takes writes again. A restart before
 * then finds the task still journaled and runs it again (each node still runs an id once).
 */
export class TaskJournal {
  private readonly commit: GroupCommit
  /** Results not written yet, by task id. */
  private readonly held = new Map<string, TaskRecord>()

  constructor (private readonly journal: Sublevel, private readonly results: Sublevel, commit?: GroupCommit) {
    this.commit = commit ?? new GroupCommit(journal.db)
  }

  /** Durable once this resolves. */
  async accept (record: JournalRecord): Promise<void> {
    await this.commit.write([{ type: 'put', sub: this.journal, key: record.taskId, value: encoder.encode(JSON.stringify(record)) }], true)
  }

  /**
   * Record the result and drop the journal entry, atomically. Never throws: a result the store
   * refuses is held (resolves `held`, with the store's error) until `writeHeld()`.
   */
  async complete (record: TaskRecord): Promise<{ written: true } | { written: false, error: Error }> {
    try {
      await this.commit.write(this.completionOps(record), false)
      return { written: true }
    } catch (err) {
      this.held.set(record.taskId, record)
      return { written: false, error: err as Error }
    }
  }

  /** Results held in memory, not written yet. */
  get heldResults (): number {
    return this.held.size
  }

  /** Write the held results (the store takes writes again); what fails stays held. Resolves to how many were written. */
  async writeHeld (): Promise<number> {
    const records = [...this.held.values()]
    if (records.length === 0) return 0
    await this.commit.write(records.flatMap(r => this.completionOps(r)), false)
    for (const r of records) if (this.held.get(r.taskId) === r) this.held.delete(r.taskId)
    return records.length
  }

  async pending (): Promise<JournalRecord[]> {
    const out: JournalRecord[] = []
    for await (const value of this.journal.values()) {
      const r = parse<JournalRecord>(value)
      if (r != null && !this.held.has(r.taskId)) out.push(r)
    }
    return out
  }

  /** Most recent results first. */
  async recent (limit: number): Promise<TaskRecord[]> {
    const out: TaskRecord[] = []
    for await (const value of this.results.values({ reverse: true, limit })) {
      const r = parse<TaskRecord>(value)
      if (r != null) out.push(r)
    }
    return out
  }

  /** A journaled (not yet finished) task by id. */
  async pendingTask (taskId: string): Promise<JournalRecord | undefined> {
    if (this.held.has(taskId)) return undefined
    const value = await this.journal.get(taskId)
    return value == null ? undefined : parse<JournalRecord>(value)
  }

  /** A finished task by id, while it is within the kept results (newest first scan of keys). */
  async result (taskId: string): Promise<TaskRecord | undefined> {
    const held = this.held.get(taskId)
    if (held != null) return held
    for await (const key of this.results.keys({ reverse: true })) {
      // `<submittedAt, 15 digits>-<task id>`: the id is everything after the first '-'.
      if (key.slice(key.indexOf('-') + 1) !== taskId) continue
      const value = await this.results.get(key)
      return value == null ? undefined : parse<TaskRecord>(value)
    }
    return undefined
  }

  /** Keep only the newest `keep` results. */
  async prune (keep: number): Promise<void> {
    const stale: string[] = []
    let seen = 0
    for await (const key of this.results.keys({ reverse: true })) {
      if (++seen > keep) stale.push(key)
    }
    if (stale.length > 0) await this.results.batch(stale.map(key => ({ type: 'del' as const, key })))
  }

  /** A result in, its journal entry out: one batch. */
  private completionOps (record: TaskRecord): BatchOp[] {
    return [
      { type: 'put', sub: this.results, key: resultKey(record), value: encoder.encode(JSON.stringify(record)) },
      { type: 'del', sub: this.journal, key: record.taskId }
    ]
  }

  /** Resolves once everything written so far is on disk. */
  async flush (): Promise<void> {
    await this.commit.flush()
  }
}

function parse<T> (value: Uint8Array): T | undefined {
  try { return JSON.parse(decoder.decode(value)) as T } catch { return undefined }
}

/** Results sort by submission time, so `recent` is a reverse range read. */
function resultKey (r: TaskRecord): string {
  return `${r.submittedAt.toString().padStart(15, '0')}-${r.taskId}`
}
