import { GroupCommit } from './group-commit.js'
import type { BatchOp } from './group-commit.js'
import type { Sublevel } from './store.js'

/**
 * The tasks this node's executor started, bounded: what makes "a task id never runs twice on one
 * node" hold across crashes, and what `fedmesh tasks --served` lists. A run is recorded durably
 * before its handler starts (a pure kind's is not waited for) and marked finished lazily; a run
 * found at start without an end was cut by a crash and is not run again here.
 *
 * On disk it is a log of records, one per batch rather than one per task (LevelDB's per-op cost
 * was most of a task's cost at 10k tasks/s): every start, end and forget since the last batch,
 * in one synced write shared with the task journal (group commit). Once as many runs were
 * written as are kept, the records are replaced by one snapshot of the kept runs.
 *
 * It is bounded by count, so it cannot remember every run for ever: for each submitter it keeps
 * the start time of the newest run it forgot (persisted too). A task of that submitter accepted
 * before then may have run here and been forgotten: `mayHaveForgotten` says so, and the executor
 * refuses it (INTERRUPTED, it runs elsewhere) rather than risk running it twice. So the guarantee
 * is exact: a task id never runs twice on one node; at worst a node too busy to remember a task's
 * whole life refuses it.
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
  /** Submitters whose forgotten runs are tracked one by one; beyond, they share one bound. Default 10,000. */
  maxOrigins?: number
  /** Shared with the task journal: a task accepted and started in the same tick costs one fsync. */
  commit?: GroupCommit
}

export const DEFAULT_EXECUTIONS_KEPT = 10_000

/** One record on disk: starts, ends (origin, task id, error code, run ms), runs handed back, and forgetting bounds (origin, ms). */
interface LogRecord {
  s?: ExecutionEntry[]
  f?: Array<[string, string, string, number]>
  d?: Array<[string, string]>
  g?: Array<[string, number]>
}

/** The forgetting bound shared by submitters not tracked one by one. */
const ANY_ORIGIN = '*'
const DEFAULT_MAX_ORIGINS = 10_000
/** Forgotten runs remembered by id in one life (a few MB at most). */
const RECENTLY_FORGOTTEN = 50_000

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export class ExecutionLog {
  /** By origin and task id, in start order (a Map keeps insertion order). */
  private readonly runs = new Map<string, ExecutionEntry>()
  private readonly keep: number
  private readonly commit: GroupCommit | undefined
  private starts: ExecutionEntry[] = []
  private ends: Array<[string, string, string, number]> = []
  private drops: Array<[string, string]> = []
  /** Per submitter (ANY_ORIGIN: the rest), the start time of the newest run forgotten. */
  private readonly forgotten = new Map<string, number>()
  /**
   * The runs forgotten in this life, by key, with their start (the newest RECENTLY_FORGOTTEN):
   * every forgotten run that started after `recentFloor` is here, so a task accepted after it
   * is looked up by id instead of refused because some other run was forgotten since.
   */
  private readonly recentlyForgotten = new Map<string, number>()
  private recentFloor = 0
  private forgottenChanged: Array<[string, number]> = []
  private readonly maxOrigins: number
  /** Keys of the records on disk, oldest first. */
  private records: string[] = []
  private nextRecord = 0
  /**
   * Runs written in records since the last snapshot (so the disk holds at most about twice
   * `keep`), records of earlier lives included.
   */
  private writtenSinceSnapshot = 0
  /** The records the snapshot in the batch being written replaces (put back if that batch fails). */
  private replacing: string[] = []

  private constructor (private readonly sub: Sublevel | undefined, init: ExecutionLogInit) {
    this.keep = Math.max(1, init.keep ?? DEFAULT_EXECUTIONS_KEPT)
    this.maxOrigins = Math.max(1, init.maxOrigins ?? DEFAULT_MAX_ORIGINS)
    if (sub != null) {
      this.commit = init.commit ?? new GroupCommit(sub.db)
      this.commit.contribute(() => this.collect(sub), () => { this.batchFailed() })
    }
  }

  /** A log kept in memory only. */
  static memory (init: ExecutionLogInit = {}): ExecutionLog {
    return new ExecutionLog(undefined, init)
  }

  /** Open the persisted log; runs found unfinished were cut by a crash. */
  static async open (sub: Sublevel, init: ExecutionLogInit = {}): Promise<ExecutionLog> {
    const log = new ExecutionLog(sub, init)
    for await (const [key, value] of sub.iterator()) {
      log.records.push(key)
      log.nextRecord = Math.max(log.nextRecord, parseInt(key, 36) + 1 || 0)
      let record: LogRecord
      try { record = JSON.parse(decoder.decode(value)) as LogRecord } catch { continue }
      log.replay(record)
      // Records of earlier lives count toward the next snapshot (a snapshot has no ends list),
      // or short lives, each writing fewer runs than are kept, would pile records up for ever.
      if (Array.isArray(record.f) && Array.isArray(record.s)) log.writtenSinceSnapshot += record.s.length
    }
    for (const entry of log.runs.values()) {
      if (entry.error == null) entry.interrupted = true
    }
    log.prune()
    return log
  }

  get size (): number {
    return this.runs.size
  }

  /** The run of this submitter's task id, if this node started it (within the kept runs). */
  lookup (origin: string, taskId: string): ExecutionEntry | undefined {
    return this.runs.get(runKey(origin, taskId))
  }

  /**
   * Could a task of `origin` accepted at `acceptedAt` (this node's clock) have run here and been
   * forgotten? True when a run of that submitter started since then was forgotten.
   */
  mayHaveForgotten (origin: string, taskId: string, acceptedAt: number): boolean {
    const bound = Math.max(this.forgotten.get(origin) ?? 0, this.forgotten.get(ANY_ORIGIN) ?? 0)
    if (!(bound > 0 && bound >= acceptedAt)) return false
    // A run of this submitter started since was forgotten. If it started after the floor it is
    // remembered by id: this task may only have run here if it is one of those.
    if (acceptedAt > this.recentFloor) return this.recentlyForgotten.has(runKey(origin, taskId))
    return true
  }

  /**
   * Record a start. Persisted: resolves once it is on disk (the handler must not start before);
   * in memory: undefined (nothing to wait for, so starting stays synchronous). `synced` false
   * (a pure kind: run again after a crash, it changes nothing): undefined too, the start goes
   * with the next batch (within the group commit's defer time) and a crash before then loses it.
   */
  started (entry: ExecutionEntry, synced = true): Promise<void> | undefined {
    const key = runKey(entry.origin, entry.taskId)
    this.runs.delete(key)
    this.runs.set(key, entry)
    this.prune()
    if (this.commit == null) return undefined
    this.starts.push(entry)
    if (synced) return this.commit.write([], true)
    this.commit.defer()
    return undefined
  }

  /** Record the end of a run (lazily: a crash before it is written leaves the run marked cut). */
  finished (entry: ExecutionEntry, error: string, runMs: number): void {
    if (this.runs.get(runKey(entry.origin, entry.taskId)) !== entry) return
    entry.error = error
    entry.runMs = runMs
    if (this.commit == null) return
    this.ends.push([entry.origin, entry.taskId, error, runMs])
    this.commit.defer()
  }

  /** Forget a run whose handler never started (its start could not be written): it may run again. */
  handedBack (entry: ExecutionEntry): void {
    const key = runKey(entry.origin, entry.taskId)
    if (this.runs.get(key) !== entry) return
    this.runs.delete(key)
    if (this.commit == null) return
    this.drops.push([entry.origin, entry.taskId])
    this.commit.defer()
  }

  /** The newest runs first. */
  recent (limit: number): ExecutionEntry[] {
    const all = [...this.runs.values()]
    return all.slice(Math.max(0, all.length - limit)).reverse()
  }

  /** Resolves once every write so far is on disk. */
  async flush (): Promise<void> {
    await this.commit?.flush()
  }

  /** What this log adds to the batch being written: one record, or a snapshot replacing them all. */
  private collect (sub: Sublevel): BatchOp[] {
    this.replacing = []
    if (this.starts.length + this.ends.length + this.drops.length + this.forgottenChanged.length === 0) return []
    this.writtenSinceSnapshot += this.starts.length
    const record: LogRecord = { s: this.starts, f: this.ends, d: this.drops, g: this.forgottenChanged }
    this.starts = []
    this.ends = []
    this.drops = []
    this.forgottenChanged = []
    if (this.writtenSinceSnapshot < this.keep || this.records.length === 0) {
      return [this.put(sub, record)]
    }
    // Everything kept, as it is now (this batch's changes included), replaces the old records.
    const stale = this.records
    this.records = []
    this.replacing = stale
    this.writtenSinceSnapshot = 0
    return [...stale.map(key => ({ type: 'del' as const, sub, key })), this.put(sub, { s: [...this.runs.values()], g: [...this.forgotten] })]
  }

  /**
   * The batch with this log's writes failed. A snapshot in it replaced nothing: its records are
   * still on disk and the next batch tries again (else nothing would ever delete them). What
   * else the batch held is on the safe side
   * once lost: a start was refused to its caller, an end missing makes the run look cut.
   */
  private batchFailed (): void {
    if (this.replacing.length === 0) return
    this.records = [...this.replacing, ...this.records]
    this.replacing = []
    this.writtenSinceSnapshot = Math.max(this.writtenSinceSnapshot, this.keep)
  }

  private put (sub: Sublevel, record: LogRecord): BatchOp {
    const key = (this.nextRecord++).toString(36).padStart(12, '0')
    this.records.push(key)
    return { type: 'put', sub, key, value: encoder.encode(JSON.stringify(record)) }
  }

  private replay (record: LogRecord): void {
    for (const entry of Array.isArray(record.s) ? record.s : []) {
      if (typeof entry?.taskId !== 'string' || typeof entry.origin !== 'string') continue
      const key = runKey(entry.origin, entry.taskId)
      this.runs.delete(key)
      this.runs.set(key, entry)
    }
    for (const end of Array.isArray(record.f) ? record.f : []) {
      const entry = Array.isArray(end) ? this.runs.get(runKey(String(end[0]), String(end[1]))) : undefined
      if (entry == null) continue
      entry.error = String(end[2])
      entry.runMs = Number(end[3]) || 0
    }
    for (const drop of Array.isArray(record.d) ? record.d : []) {
      if (Array.isArray(drop)) this.runs.delete(runKey(String(drop[0]), String(drop[1])))
    }
    for (const bound of Array.isArray(record.g) ? record.g : []) {
      if (Array.isArray(bound) && Number.isFinite(Number(bound[1]))) {
        this.forget(String(bound[0]), Number(bound[1]), false)
        // Runs forgotten in earlier lives are not known by id: tasks accepted before then are refused.
        this.recentFloor = Math.max(this.recentFloor, Number(bound[1]))
      }
    }
  }

  /**
   * A run of `origin` that started at `startedAt` is forgotten: raise that submitter's bound
   * (beyond `maxOrigins` submitters tracked, new ones share one bound, which applies to all).
   */
  private forget (origin: string, startedAt: number, persist = true): void {
    const key = this.forgotten.has(origin) || this.forgotten.size < this.maxOrigins ? origin : ANY_ORIGIN
    if ((this.forgotten.get(key) ?? 0) >= startedAt) return
    this.forgotten.set(key, startedAt)
    if (persist) this.forgottenChanged.push([key, startedAt])
  }

  /** Keep a forgotten run's key (bounded: the oldest go, and the floor rises to their start). */
  private rememberForgotten (key: string, startedAt: number): void {
    this.recentlyForgotten.delete(key)
    this.recentlyForgotten.set(key, startedAt)
    if (this.recentlyForgotten.size <= RECENTLY_FORGOTTEN + overshoot(RECENTLY_FORGOTTEN)) return
    for (const [oldest, start] of this.recentlyForgotten) {
      if (this.recentlyForgotten.size <= RECENTLY_FORGOTTEN) break
      this.recentlyForgotten.delete(oldest)
      this.recentFloor = Math.max(this.recentFloor, start)
    }
  }

  /** Drop the oldest finished runs beyond `keep` (a run still going is never dropped). */
  private prune (): void {
    if (this.runs.size <= this.keep + overshoot(this.keep)) return
    for (const [key, entry] of this.runs) {
      if (this.runs.size <= this.keep) break
      if (entry.error == null && entry.interrupted !== true) continue
      this.runs.delete(key)
      this.forget(entry.origin, entry.startedAt, this.commit != null)
      this.rememberForgotten(key, entry.startedAt)
    }
  }
}

/**
 * How far past its bound a map of runs may grow before its oldest go, all in one pass. A Map
 * iterates from its oldest slot, past the ones deleted since it last rehashed: dropping one run
 * per start walked thousands of those holes each time (a full log cost a task ~10 µs more).
 */
function overshoot (bound: number): number {
  return Math.floor(bound / 64)
}

function runKey (origin: string, taskId: string): string {
  return `${origin}\n${taskId}`
}
