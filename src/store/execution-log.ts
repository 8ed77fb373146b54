import { GroupCommit } from './group-commit.js'
import type { Sublevel } from './store.js'

/**
 * The tasks this node's executor started, bounded: what makes "a task id never runs twice on one
 * node" hold across crashes, and what `fedmesh tasks --served` lists. A run is recorded durably
 * (a synced batch shared by every start in the same tick: group commit) before its handler
 * starts, and marked finished lazily. A record found at start without an end is a run cut by a
 * crash: it is not run again here.
 *
 * Without a sublevel the log is kept in memory only (simulations, tests): same rules, one life.
 */

/** One task run on this node. */
export interface ExecutionEntry {
  taskId: string
  kind: string
  /** 'local' or the peer id that asked. */
  origin: string
  /** What the id stands for (kind and a digest of the input): the same id with other work is refused. */
  work: string
  startedAt: number
  /** Set when it finished (task.proto ErrorCode, NONE = ok); absent while it runs. */
  error?: string
  runMs?: number
  /** It was running when the node crashed (found unfinished at start). */
  interrupted?: true
}

export interface ExecutionLogInit {
  /** Runs remembered at most (oldest finished ones go first). Default 10,000. */
  keep?: number
  /** Shared with the task journal: a task accepted and started in the same tick costs one fsync. */
  commit?: GroupCommit
}

export const DEFAULT_EXECUTIONS_KEPT = 10_000

const encoder = new TextEncoder()
const decoder = new TextDecoder()

interface Held { entry: ExecutionEntry, storeKey: string }

export class ExecutionLog {
  /** By origin and task id, in start order (a Map keeps insertion order). */
  private readonly runs = new Map<string, Held>()
  private readonly keep: number
  private readonly commit: GroupCommit | undefined
  /** Orders starts within one millisecond on disk as in memory. */
  private seq = 0

  private constructor (private readonly sub: Sublevel | undefined, init: ExecutionLogInit) {
    this.keep = Math.max(1, init.keep ?? DEFAULT_EXECUTIONS_KEPT)
    this.commit = sub == null ? undefined : init.commit ?? new GroupCommit(sub.db)
  }

  /** A log kept in memory only. */
  static memory (init: ExecutionLogInit = {}): ExecutionLog {
    return new ExecutionLog(undefined, init)
  }

  /** Open the persisted log; runs found unfinished were cut by a crash. */
  static async open (sub: Sublevel, init: ExecutionLogInit = {}): Promise<ExecutionLog> {
    const log = new ExecutionLog(sub, init)
    for await (const [storeKey, value] of sub.iterator()) {
      let entry: ExecutionEntry
      try { entry = JSON.parse(decoder.decode(value)) as ExecutionEntry } catch { continue }
      if (typeof entry?.taskId !== 'string' || typeof entry.origin !== 'string') continue
      if (entry.error == null) entry.interrupted = true
      log.runs.set(runKey(entry.origin, entry.taskId), { entry, storeKey })
    }
    log.prune()
    return log
  }

  get size (): number {
    return this.runs.size
  }

  /** The run of this submitter's task id, if this node started it (within the kept runs). */
  lookup (origin: string, taskId: string): ExecutionEntry | undefined {
    return this.runs.get(runKey(origin, taskId))?.entry
  }

  /**
   * Record a start. Persisted: resolves once it is on disk (the handler must not start before);
   * in memory: undefined (nothing to wait for, so starting stays synchronous).
   */
  started (entry: ExecutionEntry): Promise<void> | undefined {
    const held = { entry, storeKey: storeKeyOf(entry, this.seq++) }
    const key = runKey(entry.origin, entry.taskId)
    this.runs.delete(key)
    this.runs.set(key, held)
    this.prune()
    return this.write(held, true)
  }

  /** Record the end of a run (lazily: a crash before it is written leaves the run marked cut). */
  finished (entry: ExecutionEntry, error: string, runMs: number): void {
    const held = this.runs.get(runKey(entry.origin, entry.taskId))
    if (held == null || held.entry !== entry) return
    entry.error = error
    entry.runMs = runMs
    this.write(held, false)?.catch(() => {})
  }

  /** Forget a run that was stopped through its abort signal (a graceful stop): it may run again. */
  handedBack (entry: ExecutionEntry): void {
    const key = runKey(entry.origin, entry.taskId)
    const held = this.runs.get(key)
    if (held == null || held.entry !== entry) return
    this.runs.delete(key)
    if (this.sub != null) this.commit?.write([{ type: 'del', sub: this.sub, key: held.storeKey }], false).catch(() => {})
  }

  /** The newest runs first. */
  recent (limit: number): ExecutionEntry[] {
    const all = [...this.runs.values()]
    return all.slice(Math.max(0, all.length - limit)).reverse().map(h => h.entry)
  }

  /** Resolves once every write so far is on disk. */
  async flush (): Promise<void> {
    await this.commit?.flush()
  }

  private write (held: Held, durable: boolean): Promise<void> | undefined {
    if (this.sub == null || this.commit == null) return undefined
    return this.commit.write([{ type: 'put', sub: this.sub, key: held.storeKey, value: encoder.encode(JSON.stringify(held.entry)) }], durable)
  }

  /** Drop the oldest finished runs beyond `keep` (a run still going is never dropped). */
  private prune (): void {
    if (this.runs.size <= this.keep) return
    const dropped: string[] = []
    for (const [key, held] of this.runs) {
      if (this.runs.size <= this.keep) break
      if (held.entry.error == null && held.entry.interrupted !== true) continue
      this.runs.delete(key)
      dropped.push(held.storeKey)
    }
    if (this.sub != null && dropped.length > 0) {
      const sub = this.sub
      this.commit?.write(dropped.map(key => ({ type: 'del' as const, sub, key })), false).catch(() => {})
    }
  }
}

function runKey (origin: string, taskId: string): string {
  return `${origin}\n${taskId}`
}

/** Runs sort by start time (then start order) on disk, so the log loads in start order. */
function storeKeyOf (e: ExecutionEntry, seq: number): string {
  return `${e.startedAt.toString().padStart(15, '0')}-${seq.toString(36).padStart(8, '0')}-${e.origin}-${e.taskId}`
}
