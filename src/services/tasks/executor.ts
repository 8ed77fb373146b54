import { hash } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { ErrorCode } from '../../wire/task.js'
import { ExecutionLog } from '../../store/execution-log.js'
import { SECOND, MINUTE } from '../../util/time.js'
import { systemTimers } from '../../util/timers.js'
import { TaskError, codeOf } from './task-error.js'
import { DEFAULT_FAIR_SHARE, FairShare, LOCAL_ORIGIN } from './fair-share.js'
import { PRIORITY_RANK, rankOf } from '../../core/priority.js'
import { RunTimesByKind } from '../../core/routing/run-times.js'
import { queueWaitMs } from '../../core/routing/score.js'
import type { Priority } from '../../core/priority.js'
import type { Serving } from '../../core/host-policy.js'
import { isPure } from './handlers.js'
import type { TaskHandler } from './handlers.js'
import type { Clock } from '../../util/time.js'
import type { TimerHandle, Timers } from '../../util/timers.js'
import type { ExecutionEntry } from '../../store/execution-log.js'

export interface ExecutorInit {
  /** Tasks run at once. Default: the number of cores (the daemon passes it). */
  concurrency: number
  /** Tasks and reservations waiting at most; beyond, new work is refused (QUEUE_FULL). Default concurrency × 32. */
  queueLimit?: number
  handlers: Map<string, TaskHandler>
  /** Largest task input accepted, bytes. Default 1 MiB. */
  maxInputBytes?: number
  /** Largest task output returned, bytes. Default 1 MiB. */
  maxOutputBytes?: number
  /** How long a finished task's result is kept for dedupe. Default 10 min. */
  resultTtlMs?: number
  /** Results kept for dedupe at most. Default 10,000. */
  maxResults?: number
  /** Bytes of remembered results at most (outputs can be large). Default 64 MiB. */
  maxResultBytes?: number
  /** How long a READY slot is held for its reservation before it is given to the next. Default 2 s. */
  holdMs?: number
  /**
   * The runs this executor started (durable in the daemon: a task id never runs twice here,
   * across crashes too). Default: in memory, the last 500.
   */
  executions?: ExecutionLog
  /**
   * Share of the slots and of the queue places one remote submitter may hold at once, in (0, 1]
   * (at least one of each). The node's own submissions are not limited. Default 0.75.
   */
  fairShare?: number
  /**
   * May `origin` ('local' or a peer id) run `kind` here? A refusal is returned as the task's
   * outcome (roles, command kinds' `allow` lists). Default: everyone may run every served kind.
   */
  authorize?: (origin: string, kind: string) => { code: ErrorCode, message: string } | undefined
  clock: Clock
  /** Hold times, run deadlines and drains run on these. Default: the event loop's. */
  timers?: Timers
  /** A run here ended (served for `origin`): events and metrics. Not called for work that never started. */
  onRun?: (run: RunReport) => void
}

/** One run of a task here, as `onRun` reports it. */
export interface RunReport {
  taskId: string
  kind: string
  /** 'local' or the peer id that sent it. */
  origin: string
  /** task.proto ErrorCode name when it failed; undefined when ok. */
  error?: string
  /** Time in this executor's queue, ms. */
  queuedMs: number
  runMs: number
}

export const DEFAULT_MAX_INPUT_BYTES = 1024 * 1024
export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024
export const DEFAULT_RESULT_TTL_MS = 10 * MINUTE
export const DEFAULT_MAX_RESULTS = 10_000
export const DEFAULT_MAX_RESULT_BYTES = 64 * 1024 * 1024
export const DEFAULT_HOLD_MS = 2 * SECOND
/** A request's age is measured at the submitter: its transit and queueing here make it look younger by up to this, ms. */
const AGE_SLACK_MS = 5 * SECOND
/** Run-time EWMA weight of a new sample. */
const RUN_TIME_ALPHA = 0.2

/** One task to run here. */
export interface TaskSpec {
  taskId: string
  kind: string
  input: Uint8Array
  /** Time budget from now, ms. */
  deadlineMs: number
  attempt?: number
  /** Refuse with BUSY rather than wait longer than this; 0/undefined = wait. */
  maxWaitMs?: number
  /** The caller's run-time estimate, used while this kind has no measured run time here. */
  expectedRunMs?: number
  /** Called when the task leaves the queue and starts running here. */
  onStart?: () => void
  /** Who asked: 'local' or the peer id. */
  origin: string
  /** How long ago the submitter accepted the task, ms (its request's age). Default 0. */
  ageMs?: number
  /** Queue order: interactive, normal, batch (FIFO within one). Default normal. */
  priority?: Priority
}

export interface TaskOutcome {
  taskId: string
  error: ErrorCode
  output: Uint8Array
  message: string
  queuedMs: number
  runMs: number
  /** This task id had already run (or was running) here; the result is the remembered one. */
  deduped: boolean
  /** The server's signed receipt of a successful run (receipt.ts); absent or empty: none. */
  receipt?: Uint8Array
  /** When the receipt was signed, seconds since the Unix epoch. */
  receiptAt?: number
}

/** Runs listed by `executed()` (`fedmesh tasks --served`), and kept by the default in-memory log. */
const EXECUTIONS_LISTED = 500

export interface LocalLoad {
  running: number
  queueDepth: number
  concurrency: number
  queueLimit: number
}

/** A place in the queue held for a task that is not bound to this executor yet (late binding). */
export interface Reservation {
  readonly id: number
  readonly taskId: string
  readonly kind: string
  /** Who holds it: 'local' or the peer id (its fair share counts it). */
  readonly origin: string
  /** Its place in the queue's order. Default normal. */
  readonly priority?: Priority
}

/** Runs of a kind after which its own run times say how long a running one has left. */
const RESIDUAL_MIN_RUNS = 8

/** A task running here: whose, what, since when. */
interface RunningTask { origin: string, kind: string, startedAt: number }

/** What happens to remote tasks running here when serving pauses: they finish, or are stopped and handed back. */
export type OnPause = 'finish' | 'handBack'

interface QueuedTask { type: 'task', spec: TaskSpec, work: string, enqueuedAt: number, resolve: (o: TaskOutcome) => void }
interface QueuedReservation { type: 'reservation', res: Reservation, enqueuedAt: number, onReady: () => void, onExpired: () => void }
type Queued = QueuedTask | QueuedReservation

interface Held { res: Reservation, timer: TimerHandle, onExpired: () => void }

/**
 * Runs tasks in a fixed number of slots behind a bounded FIFO queue. Dedupes by task id (a retry
 * of a finished or running task gets the same result, it never runs twice here) and supports
 * Sparrow-style reservations: a reservation waits in the queue like a task and, at the head,
 * holds a free slot until it is bound to a task, cancelled, or times out.
 */
export class Executor {
  private readonly handlers: Map<string, TaskHandler>
  private readonly queue: Queued[] = []
  private readonly held = new Map<number, Held>()
  /** Dedupe is per submitter: a peer cannot poison another's task id (key: origin + id). */
  /** Tasks queued or running here (running: in `runningStops`); `joiners` are told when it starts. */
  private readonly inflight = new Map<string, { work: string, outcome: Promise<TaskOutcome>, joiners?: Array<() => void> }>()
  private readonly results: LRUCache<string, { work: string, outcome: TaskOutcome }>
  private readonly maxResults: number
  private readonly runTimes = new Map<string, number>()
  /** Each kind's recent run times here: how much longer a run that has lasted so far may take. */
  private readonly runTimeSketches = new RunTimesByKind(64)
  private readonly executions: ExecutionLog
  private readonly clock: Clock
  private readonly timers: Timers
  private readonly holdMs: number
  readonly maxInputBytes: number
  readonly maxOutputBytes: number
  concurrency: number
  queueLimit: number
  private running = 0
  private nextReservation = 1
  private accepting = true
  private readonly idleWaiters: Array<() => void> = []
  /** Aborts the handlers still running when a drain runs out of time (or a pause hands them back), with what runs. */
  private readonly runningControllers = new Map<AbortController, RunningTask>()
  /** What the host policy lets remote peers use (services/host): every slot until told otherwise. */
  private serving: Serving = { slots: Infinity, paused: false }
  /** The running tasks' controllers by submitter and id (a CANCEL with stop names one). */
  private readonly runningStops = new Map<string, AbortController>()
  /** Called whenever the load changes (capacity advertises significant changes at once). */
  onLoadChange?: () => void
  private readonly fair: FairShare
  private readonly authorize: NonNullable<ExecutorInit['authorize']>
  private readonly onRun: ExecutorInit['onRun']

  constructor (init: ExecutorInit) {
    this.handlers = init.handlers
    this.concurrency = init.concurrency
    this.queueLimit = init.queueLimit ?? init.concurrency * 32
    this.maxInputBytes = init.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES
    this.maxOutputBytes = init.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES
    this.holdMs = init.holdMs ?? DEFAULT_HOLD_MS
    this.clock = init.clock
    this.timers = init.timers ?? systemTimers
    this.fair = new FairShare(init.fairShare ?? DEFAULT_FAIR_SHARE)
    this.authorize = init.authorize ?? (() => undefined)
    this.onRun = init.onRun
    this.executions = init.executions ?? ExecutionLog.memory({ keep: EXECUTIONS_LISTED })
    // Bounded in bytes here and in count by remember(): lru-cache's own `max` preallocates
    // ~0.5 MB of arrays per node at 10,000 (0.5 GB for a thousand simulated nodes).
    this.maxResults = init.maxResults ?? DEFAULT_MAX_RESULTS
    this.results = new LRUCache({
      maxSize: init.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES,
      sizeCalculation: (r) => r.outcome.output.byteLength + r.outcome.message.length + 256,
      ttl: init.resultTtlMs ?? DEFAULT_RESULT_TTL_MS,
      // Expiry in the executor's time (virtual in the simulator), read at every lookup: no timer.
      perf: this.timers,
      ttlResolution: 0
    })
  }

  kinds (): string[] {
    return [...this.handlers.keys()].sort()
  }

  serves (kind: string): boolean {
    return this.handlers.has(kind)
  }

  /** Register a handler in code (library API). */
  register (kind: string, handler: TaskHandler): void {
    this.handlers.set(kind, handler)
    this.onLoadChange?.()
  }

  load (): LocalLoad {
    return { running: this.running, queueDepth: this.queue.length, concurrency: this.concurrency, queueLimit: this.queueLimit }
  }

  /**
   * The load as one remote submitter may use it: the slots it may still take beyond what runs
   * (its fair share) are all it is told there are, and the queue ends at its share. What its
   * capacity ad says, so its router predicts right (an idle 4-slot node shows a peer 0/3).
   */
  loadFor (origin: string): LocalLoad {
    const free = Math.max(0, this.concurrency - this.running)
    const places = this.serving.paused && origin !== LOCAL_ORIGIN ? 0 : Math.max(0, this.queueLimit - this.queue.length)
    return {
      running: this.running,
      queueDepth: this.queue.length,
      concurrency: this.running + Math.min(this.fair.freeFor(origin, free, this.concurrency), this.servingFreeFor(origin)),
      queueLimit: this.queue.length + this.fair.placesFor(origin, places, this.queueLimit)
    }
  }

  /**
   * The host policy's decision (services/host): remote tasks start only while fewer than
   * `slots` of them run; paused, remote work waiting here is handed back at once (its
   * submitters place it elsewhere under the same id) and new remote work is refused. Running
   * remote tasks finish, or with `onPause` 'handBack' are stopped and handed back too. The
   * owner's own tasks are not limited.
   */
  setServing (serving: Serving, onPause: OnPause = 'finish'): void {
    this.serving = serving
    if (serving.paused) {
      const message = `this node is paused (${serving.reason ?? 'paused'}): it takes no work from peers now`
      for (const q of this.queue.filter(q => originOf(q) !== LOCAL_ORIGIN)) {
        this.queue.splice(this.queue.indexOf(q), 1)
        this.fair.dequeued(originOf(q))
        if (q.type === 'task') q.resolve(refused(q.spec.taskId, ErrorCode.SHUTTING_DOWN, message))
        else q.onExpired()
      }
      for (const [id, held] of [...this.held]) {
        if (held.res.origin === LOCAL_ORIGIN) continue
        this.release(id)
        held.onExpired()
      }
      if (onPause === 'handBack') {
        for (const [c, { origin }] of this.runningControllers) {
          if (origin !== LOCAL_ORIGIN) c.abort(new TaskError(ErrorCode.SHUTTING_DOWN, `${message}; the task was handed back unfinished`))
        }
      }
    }
    this.pump()
  }

  /** Slots the host policy leaves `origin` beyond what remote peers run now. */
  private servingFreeFor (origin: string): number {
    if (origin === LOCAL_ORIGIN) return Infinity
    return Math.max(0, this.serving.slots - this.fair.remoteRunning())
  }

  /** A refusal when the host policy pauses serving and `origin` is a peer. */
  private pausedFor (origin: string): string | undefined {
    if (origin === LOCAL_ORIGIN || !this.serving.paused) return undefined
    return `this node is paused (${this.serving.reason ?? 'paused'}): it takes no work from peers now`
  }

  /** Remote submitters holding slots or queue places here now (their view differs from others'). */
  holders (): string[] {
    return this.fair.origins()
  }

  /** Mean observed run time of a kind here, ms (undefined until one ran). */
  meanRunMs (kind: string): number | undefined {
    return this.runTimes.get(kind)
  }

  runStats (): Array<{ kind: string, meanRunMs: number }> {
    return [...this.runTimes].map(([kind, meanRunMs]) => ({ kind, meanRunMs }))
  }

  /**
   * How long a task of `kind` from `origin` submitted now would wait for a slot, ms (an
   * estimate). For a peer only the slots the host policy leaves peers count as free: capped at
   * one busy slot of four, it waits for that one, and its direct send that allowed a short wait
   * is refused BUSY at once instead of sitting in the queue. (Counting only a peer's fair share
   * too was measured in the harness: sybil-forger lost 2-3 tasks per seed instead of 0-2.)
   */
  estimateWaitMs (kind: string, fallbackRunMs = 0, origin = LOCAL_ORIGIN): number {
    const runMs = this.meanRunMs(kind) ?? fallbackRunMs
    const free = Math.min(Math.max(0, this.concurrency - this.running), this.servingFreeFor(origin))
    return queueWaitMs({ queueDepth: this.queue.length, running: this.running, concurrency: this.running + free, sentSinceAd: 0, firstFreeMs: this.firstFreeMs() }, runMs)
  }

  /**
   * While every slot is taken: how long until one frees, ms, from what runs here and for how long
   * it has run (a heavy-tailed run that has lasted long is likely to last long yet: its expected
   * remainder comes from this kind's recent run times here). Each run ends at its own rate; the
   * first of them at their sum. 0 while a slot is free, or before anything is known.
   */
  firstFreeMs (): number {
    if (this.running < this.concurrency || this.running === 0) return 0
    const now = this.clock.now()
    let rate = 0
    for (const run of this.runningControllers.values()) {
      const mean = this.runTimes.get(run.kind)
      // A kind that never finished here: nothing to go by (receivers then assume a mean run).
      if (mean === undefined) return 0
      const age = now - run.startedAt
      // Past every recent run of its kind, or too few runs to say: at least the mean, and a run
      // that has outlived the mean is taken to last about as long again (a heavy tail's rule).
      const remaining = this.runTimeSketches.meanResidualMs(run.kind, age, RESIDUAL_MIN_RUNS) ?? Math.max(mean, age)
      rate += 1 / Math.max(1, remaining)
    }
    // Slots held for a reservation (counted in running) start a task any moment: a fresh run.
    const held = this.running - this.runningControllers.size
    if (held > 0) {
      const typical = this.typicalRunMs()
      if (typical === undefined) return 0
      rate += held / Math.max(1, typical)
    }
    return rate > 0 ? Math.round(1 / rate) : 0
  }

  /** The mean run time of the kinds seen here, ms (undefined before any ran). */
  private typicalRunMs (): number | undefined {
    let sum = 0
    for (const ms of this.runTimes.values()) sum += ms
    return this.runTimes.size > 0 ? sum / this.runTimes.size : undefined
  }

  /** Tasks that ran (or run) here, newest first; across restarts when the log is persisted. */
  executed (): ExecutionEntry[] {
    return this.executions.recent(EXECUTIONS_LISTED)
  }

  /** A finished task's remembered outcome (dedupe), if any. */
  remembered (taskId: string, origin = 'local'): TaskOutcome | undefined {
    return this.results.get(dedupeKey(origin, taskId))?.outcome
  }

  /** Run (or dedupe) a task. Never throws: every failure is an outcome with an error code. */
  async submit (spec: TaskSpec): Promise<TaskOutcome> {
    const known = this.dedupe(spec)
    if (known != null) return known
    const refusal = this.admit(spec)
    if (refusal != null) return refusal
    if (spec.maxWaitMs != null && spec.maxWaitMs > 0 && this.estimateWaitMs(spec.kind, spec.expectedRunMs, spec.origin) > spec.maxWaitMs) {
      return refused(spec.taskId, ErrorCode.BUSY, 'would wait longer than the caller allows')
    }
    const work = workOf(spec)
    return this.track(spec, work, new Promise<TaskOutcome>(resolve => {
      this.enqueue({ type: 'task', spec, work, enqueuedAt: this.clock.now(), resolve })
    }))
  }

  private enqueue (item: Queued): void {
    this.fair.queued(originOf(item))
    this.queue.push(item)
    this.pump()
  }

  /**
   * Hold a place for a task of `kind`. `onReady` fires when it holds a free slot (then `bind` or
   * `cancel` it); `onExpired` if nobody bound it within the hold time. Returns a refusal code
   * instead when the kind is not served or the queue is full.
   */
  reserve (taskId: string, kind: string, onReady: () => void, onExpired: () => void, origin = LOCAL_ORIGIN, priority?: Priority): Reservation | ErrorCode {
    if (!this.accepting || this.pausedFor(origin) != null) return ErrorCode.SHUTTING_DOWN
    if (!this.handlers.has(kind)) return ErrorCode.KIND_NOT_SERVED
    const denied = this.authorize(origin, kind)
    if (denied != null) return denied.code
    if (this.queue.length >= this.queueLimit || !this.fair.mayQueue(origin, this.queueLimit)) return ErrorCode.QUEUE_FULL
    const res: Reservation = { id: this.nextReservation++, taskId, kind, origin, ...(priority != null ? { priority } : {}) }
    this.enqueue({ type: 'reservation', res, enqueuedAt: this.clock.now(), onReady, onExpired })
    return res
  }

  /** Run a task in the slot a READY reservation holds (or queue it if the hold expired). */
  async bind (res: Reservation, spec: TaskSpec): Promise<TaskOutcome> {
    const held = this.held.get(res.id)
    const known = this.dedupe(spec)
    if (known != null) {
      if (held != null) this.release(res.id)
      return known
    }
    if (held == null || spec.origin !== res.origin) {
      this.cancel(res)
      return this.submit(spec)
    }
    // The held slot is this task's place: the queue behind it does not matter.
    const refusal = this.admit(spec, { ignoreQueue: true })
    if (refusal != null) {
      this.release(res.id)
      return refusal
    }
    this.timers.clearTimeout(held.timer)
    this.held.delete(res.id)
    // The held slot is already counted in `running`: start directly.
    const work = workOf(spec)
    return this.track(spec, work, this.run(spec, work, this.clock.now(), spec.deadlineMs))
  }

  /** Forget a reservation, wherever it is (queued or holding a slot). */
  cancel (res: Reservation): void {
    if (this.held.has(res.id)) {
      this.release(res.id)
      return
    }
    const i = this.queue.findIndex(q => q.type === 'reservation' && q.res.id === res.id)
    if (i >= 0) {
      this.queue.splice(i, 1)
      this.fair.dequeued(res.origin)
      this.onLoadChange?.()
    }
  }

  /**
   * Drop this submitter's task while it still waits in the queue (the submitter cancelled it):
   * it is answered CANCELLED and never runs. False when it is not waiting here (it runs, or
   * finished): cancelling a running task is not supported.
   */
  cancelQueued (taskId: string, origin: string): boolean {
    const i = this.queue.findIndex(q => q.type === 'task' && q.spec.taskId === taskId && q.spec.origin === origin)
    if (i < 0) return false
    const q = this.queue.splice(i, 1)[0] as QueuedTask
    this.fair.dequeued(origin)
    q.resolve(refused(taskId, ErrorCode.CANCELLED, 'cancelled by its submitter before it started'))
    this.onLoadChange?.()
    return true
  }

  /**
   * Stop this submitter's running task (its answer is no longer wanted: it was answered
   * elsewhere). The handler's signal aborts (a command kind's process is killed), the slot is
   * freed, and the task is answered CANCELLED; it ran, so it stays recorded and never runs here
   * again. False when it does not run here.
   */
  stopRunning (taskId: string, origin: string): boolean {
    const stop = this.runningStops.get(dedupeKey(origin, taskId))
    if (stop == null || stop.signal.aborted) return false
    stop.abort(STOPPED_BY_SUBMITTER)
    return true
  }

  /**
   * Stop taking work; queued tasks are handed back (SHUTTING_DOWN: they never started, they may run
   * here after a restart); running ones finish, or past `timeoutMs` are stopped and end INTERRUPTED.
   */
  async drain (timeoutMs: number): Promise<void> {
    this.accepting = false
    for (const q of this.queue.splice(0)) {
      this.fair.dequeued(originOf(q))
      if (q.type === 'task') q.resolve(refused(q.spec.taskId, ErrorCode.SHUTTING_DOWN, 'the node is shutting down'))
      else q.onExpired()
    }
    for (const [id, held] of [...this.held]) {
      this.release(id)
      held.onExpired()
    }
    if (this.running === 0) return
    let timer: TimerHandle | undefined
    const idle = new Promise<void>(resolve => { this.idleWaiters.push(resolve) })
    const late = await Promise.race([
      idle.then(() => false),
      new Promise<boolean>(resolve => { timer = this.timers.setTimeout(() => { resolve(true) }, timeoutMs) })
    ])
    this.timers.clearTimeout(timer)
    if (!late) return
    // Out of time: stop what still runs (its submitter retries it elsewhere under the same id).
    for (const c of this.runningControllers.keys()) c.abort(new TaskError(ErrorCode.SHUTTING_DOWN, 'the node is shutting down'))
    let grace: TimerHandle | undefined
    await Promise.race([idle, new Promise<void>(resolve => { grace = this.timers.setTimeout(resolve, 1_000) })])
    this.timers.clearTimeout(grace)
  }

  /**
   * The remembered or running outcome of this submitter's task id. The same id with different
   * work (kind or input) is refused rather than answered with the other work's result.
   */
  private dedupe (spec: TaskSpec): TaskOutcome | undefined | Promise<TaskOutcome> {
    const key = dedupeKey(spec.origin, spec.taskId)
    const done = this.results.get(key)
    const running = done == null ? this.inflight.get(key) : undefined
    // Started here before, but neither running nor remembered: cut by a crash, or its result expired.
    const ran = done == null && running == null ? this.executions.lookup(spec.origin, spec.taskId) : undefined
    const work = done?.work ?? running?.work ?? ran?.work
    if (work == null) {
      // Never heard of here; but a run of this submitter started since the task was accepted has
      // been forgotten, so it may have been this one.
      const acceptedAt = this.clock.now() - (spec.ageMs ?? 0) - AGE_SLACK_MS
      if (!this.executions.mayHaveForgotten(spec.origin, spec.taskId, acceptedAt)) return undefined
      return refused(spec.taskId, ErrorCode.INTERRUPTED, 'this node no longer remembers every run it started since this task was accepted, so it cannot tell whether it ran it; it never runs a task id twice: run it elsewhere')
    }
    if (work !== workOf(spec)) return refused(spec.taskId, ErrorCode.BAD_INPUT, 'this task id was already used for different work')
    if (done != null) return { ...done.outcome, deduped: true }
    if (ran != null) {
      return refused(spec.taskId, ErrorCode.INTERRUPTED, ran.interrupted === true || ran.error === ErrorCode.INTERRUPTED
        ? 'this node was running the task when it crashed or was stopped; it never runs a task id twice: run it elsewhere'
        : 'this node ran the task before and no longer keeps its result; it never runs a task id twice: run it elsewhere')
    }
    const joined = running as NonNullable<typeof running>
    // A request that joins the run is told it runs too (STARTED), as the first one was: silence
    // would look like a black hole to its sender.
    if (spec.onStart != null) {
      if (this.runningStops.has(key)) spec.onStart()
      else (joined.joiners ??= []).push(spec.onStart)
    }
    return joined.outcome.then(o => ({ ...o, deduped: true }))
  }

  private admit (spec: TaskSpec, options: { ignoreQueue?: boolean } = {}): TaskOutcome | undefined {
    if (!this.accepting) return refused(spec.taskId, ErrorCode.SHUTTING_DOWN, 'the node is shutting down')
    // Paused: refused as a hand-back (SHUTTING_DOWN: never held against the peer's advert; old peers know it).
    const paused = this.pausedFor(spec.origin)
    if (paused != null) return refused(spec.taskId, ErrorCode.SHUTTING_DOWN, paused)
    if (!this.handlers.has(spec.kind)) return refused(spec.taskId, ErrorCode.KIND_NOT_SERVED, `kind not served: ${spec.kind}`)
    const denied = this.authorize(spec.origin, spec.kind)
    if (denied != null) return refused(spec.taskId, denied.code, denied.message)
    if (spec.input.byteLength > this.maxInputBytes) {
      return refused(spec.taskId, ErrorCode.INPUT_TOO_LARGE, `input of ${spec.input.byteLength} bytes is larger than ${this.maxInputBytes}`)
    }
    if (options.ignoreQueue === true) return undefined
    if (this.queue.length >= this.queueLimit) return refused(spec.taskId, ErrorCode.QUEUE_FULL, 'queue full')
    if (!this.fair.mayQueue(spec.origin, this.queueLimit)) return refused(spec.taskId, ErrorCode.QUEUE_FULL, 'this submitter holds its whole share of the queue here')
    return undefined
  }

  /** Tell the requests that joined a queued run that it started. */
  private tellJoiners (key: string): void {
    const entry = this.inflight.get(key)
    if (entry?.joiners == null) return
    const joiners = entry.joiners
    entry.joiners = undefined
    for (const tell of joiners) tell()
  }

  private async track (spec: TaskSpec, work: string, outcome: Promise<TaskOutcome>): Promise<TaskOutcome> {
    const key = dedupeKey(spec.origin, spec.taskId)
    this.inflight.set(key, { work, outcome })
    try {
      const o = await outcome
      // Work that never started must not be remembered: a retry here may still run it.
      if (!neverRan.has(o)) {
        if (this.results.peek(key, { allowStale: true }) === undefined && this.results.size >= this.maxResults) this.results.pop()
        this.results.set(key, { work, outcome: o })
      }
      return o
    } finally {
      this.inflight.delete(key)
    }
  }

  /**
   * The queue position to start next, among submitters within their fair share (and remote
   * work within the host policy's slots): the highest priority first; within one, the submitter
   * that runs the fewest tasks here now (the owner counts as running none, and at batch priority
   * goes first); first come first served between equals. -1 when nothing may start.
   */
  private nextStartable (): number {
    let best = -1
    let bestKey = Infinity
    const remoteMayStart = this.fair.remoteRunning() < this.serving.slots
    for (let i = 0; i < this.queue.length; i++) {
      const q = this.queue[i]
      const origin = originOf(q)
      const local = origin === LOCAL_ORIGIN
      if (!local && !remoteMayStart) continue
      if (!this.fair.mayStart(origin, this.concurrency)) continue
      // rank, then (batch only) owner first, then fewest running: one number, compared once.
      const rank = rankOf(priorityOf(q))
      const key = rank * 2 * (this.concurrency + 2) + (local ? (rank === BATCH_RANK ? 0 : 1) : 1 + Math.min(this.concurrency, this.fair.runningOf(origin)))
      if (key < bestKey) {
        best = i
        bestKey = key
        if (key === 0) break
      }
    }
    return best
  }

  /**
   * Start queued work while slots are free, fairly between submitters within their share (a
   * submitter at its share waits for one of its own to finish).
   */
  private pump (): void {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const i = this.nextStartable()
      if (i < 0) break
      const next = this.queue.splice(i, 1)[0]
      this.running++
      this.fair.started(originOf(next))
      if (next.type === 'task') {
        const waited = this.clock.now() - next.enqueuedAt
        if (waited >= next.spec.deadlineMs) {
          this.running--
          this.fair.finished(next.spec.origin)
          next.resolve(refused(next.spec.taskId, ErrorCode.TIMED_OUT, `waited ${waited} ms in the queue, past its deadline`))
          continue
        }
        void this.run(next.spec, next.work, next.enqueuedAt, next.spec.deadlineMs - waited).then(next.resolve)
      } else {
        const timer = this.timers.setTimeout(() => {
          const held = this.held.get(next.res.id)
          if (held == null) return
          this.release(next.res.id)
          held.onExpired()
        }, this.holdMs)
        this.held.set(next.res.id, { res: next.res, timer, onExpired: next.onExpired })
        next.onReady()
      }
    }
    this.onLoadChange?.()
  }

  private release (id: number): void {
    const held = this.held.get(id)
    if (held == null) return
    this.timers.clearTimeout(held.timer)
    this.held.delete(id)
    this.free(held.res.origin)
  }

  /** Run in a slot already counted in `running`; frees it afterwards. */
  private async run (spec: TaskSpec, work: string, enqueuedAt: number, deadlineMs: number): Promise<TaskOutcome> {
    const entry: ExecutionEntry = { taskId: spec.taskId, kind: spec.kind, origin: spec.origin, work, startedAt: this.clock.now() }
    const handler = this.handlers.get(spec.kind) as TaskHandler
    // On disk before the handler starts (group commit: one fsync for every start this tick),
    // unless the kind is pure: run again after a crash, it changes nothing (task.md "Dedupe"),
    // and its start goes with the next batch (the sync was ~300 µs of an echo's ~700).
    const durable = this.executions.started(entry, !isPure(handler))
    if (durable != null) {
      try {
        await durable
      } catch (err) {
        this.executions.handedBack(entry)
        this.free(spec.origin)
        return refused(spec.taskId, ErrorCode.BUSY, `cannot record the task durably before running it: ${(err as Error)?.message ?? String(err)}`)
      }
    }
    const startedAt = this.clock.now()
    const key = dedupeKey(spec.origin, spec.taskId)
    spec.onStart?.()
    this.tellJoiners(key)
    // The handler's signal, aborted by its deadline or by a drain that ran out of time (one
    // controller and a timer cleared at the end: no composite signal per task).
    const stop = new AbortController()
    this.runningControllers.set(stop, { origin: spec.origin, kind: spec.kind, startedAt })
    this.runningStops.set(key, stop)
    let timedOut = false
    const deadline = this.timers.setTimeout(() => {
      if (stop.signal.aborted) return
      timedOut = true
      stop.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))
    }, Math.max(1, Math.ceil(deadlineMs)))
    const signal = stop.signal
    const base = { taskId: spec.taskId, queuedMs: startedAt - enqueuedAt, deduped: false }
    let outcome: TaskOutcome
    try {
      const output = await handler(spec.input, { taskId: spec.taskId, kind: spec.kind, signal, maxOutputBytes: this.maxOutputBytes })
      if (output.byteLength > this.maxOutputBytes) {
        throw new TaskError(ErrorCode.OUTPUT_TOO_LARGE, `output of ${output.byteLength} bytes is larger than ${this.maxOutputBytes}`)
      }
      const runMs = this.clock.now() - startedAt
      this.recordRunTime(spec.kind, runMs)
      outcome = { ...base, error: ErrorCode.NONE, output, message: '', runMs }
    } catch (err) {
      if (stop.signal.reason === STOPPED_BY_SUBMITTER) {
        // It ran, and stops here for good: recorded as finished, never run here again.
        outcome = { ...base, error: ErrorCode.CANCELLED, output: new Uint8Array(0), message: 'stopped by its submitter while it ran (answered elsewhere)', runMs: this.clock.now() - startedAt }
      } else if (stop.signal.aborted && !timedOut) {
        // Stopped: by a drain that ran out of time, or handed back by a pause (onPause 'handBack').
        // Its handler had started (it may have done part of its work), so it is not run here
        // again, as after a crash: it is logged ended INTERRUPTED, and a retry under the same id
        // answers that and runs elsewhere.
        const why = this.accepting && stop.signal.reason instanceof TaskError ? stop.signal.reason.message : 'the node shut down while the task ran'
        outcome = { ...base, error: ErrorCode.INTERRUPTED, output: new Uint8Array(0), message: `${why}; it never runs a task id twice: run it elsewhere`, runMs: this.clock.now() - startedAt }
      } else {
        const code = timedOut ? ErrorCode.TIMED_OUT : codeOf(err)
        const message = code === ErrorCode.TIMED_OUT ? `did not finish within ${deadlineMs} ms` : (err as Error)?.message ?? String(err)
        outcome = { ...base, error: code, output: new Uint8Array(0), message, runMs: this.clock.now() - startedAt }
      }
    }
    this.timers.clearTimeout(deadline)
    this.runningControllers.delete(stop)
    this.runningStops.delete(key)
    this.executions.finished(entry, outcome.error, outcome.runMs)
    this.free(spec.origin)
    if (!neverRan.has(outcome)) this.onRun?.({ taskId: spec.taskId, kind: spec.kind, origin: spec.origin, error: outcome.error === ErrorCode.NONE ? undefined : outcome.error, queuedMs: outcome.queuedMs, runMs: outcome.runMs })
    return outcome
  }

  /** A slot counted in `running` (held by `origin`) is free again. */
  private free (origin: string): void {
    this.fair.finished(origin)
    this.running--
    this.pump()
    this.notifyIdle()
  }

  private recordRunTime (kind: string, ms: number): void {
    const prev = this.runTimes.get(kind)
    this.runTimes.set(kind, prev == null ? ms : prev + RUN_TIME_ALPHA * (ms - prev))
    this.runTimeSketches.add(kind, ms)
  }

  private notifyIdle (): void {
    if (this.running > 0) return
    for (const resolve of this.idleWaiters.splice(0)) resolve()
  }
}

/**
 * Where the owner's own tasks go first: against peers' batch work only. At normal and interactive
 * priority a peer's task was placed here by this node's advertised queue and waits its turn (the
 * owner's tasks count as a submitter running none), so adverts stay true.
 */
const BATCH_RANK = PRIORITY_RANK.batch

function originOf (q: Queued): string {
  return q.type === 'task' ? q.spec.origin : q.res.origin
}

function priorityOf (q: Queued): Priority | undefined {
  return q.type === 'task' ? q.spec.priority : q.res.priority
}

function dedupeKey (origin: string, taskId: string): string {
  return `${origin}\n${taskId}`
}

/** What a task id stands for: its kind and a digest of its input (computed once per task). */
function workOf (spec: TaskSpec): string {
  return `${spec.kind}:${hash('sha256', spec.input, 'base64')}`
}

/** Why a running task's signal aborted when its submitter stopped it (CANCEL with stop). */
const STOPPED_BY_SUBMITTER = new DOMException('stopped by its submitter', 'AbortError')

/** Outcomes of work that never started (refused, expired in the queue, handed back). */
const neverRan = new WeakSet<TaskOutcome>()

function refused (taskId: string, error: ErrorCode, message: string): TaskOutcome {
  const outcome = { taskId, error, output: new Uint8Array(0), message, queuedMs: 0, runMs: 0, deduped: false }
  neverRan.add(outcome)
  return outcome
}
