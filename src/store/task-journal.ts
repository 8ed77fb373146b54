import { GroupCommit } from './group-commit.js'
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
 */
export class TaskJournal {
  private readonly commit: GroupCommit

  constructor (private readonly journal: Sublevel, private readonly results: Sublevel, commit?: GroupCommit) {
    this.commit = commit ?? new GroupCommit(journal.db)
  }

  /** Durable once this resolves. */
  async accept (record: JournalRecord): Promise<void> {
    await this.commit.write([{ type: 'put', sub: this.journal, key: record.taskId, value: encoder.encode(JSON.stringify(record)) }], true)
  }

  /** Record the result and drop the journal entry, atomically. */
  async complete (record: TaskRecord): Promise<void> {
    await this.commit.write([
      { type: 'put', sub: this.results, key: resultKey(record), value: encoder.encode(JSON.stringify(record)) },
      { type: 'del', sub: this.journal, key: record.taskId }
    ], false)
  }

  async pending (): Promise<JournalRecord[]> {
    const out: JournalRecord[] = []
    for await (const value of this.journal.values()) {
      const r = parse<JournalRecord>(value)
      if (r != null) out.push(r)
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
    const value = await this.journal.get(taskId)
    return value == null ? undefined : parse<JournalRecord>(value)
  }

  /** A finished task by id, while it is within the kept results (newest first scan of keys). */
  async result (taskId: string): Promise<TaskRecord | undefined> {
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
