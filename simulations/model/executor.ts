/**
 * The executor of one simulated node, with the semantics of `src/services/tasks/executor.ts` in
 * virtual time: `concurrency` slots behind a bounded FIFO queue; a task may come with `maxWaitMs`
 * and is refused BUSY when the estimated wait (from the observed mean run time, or the caller's
 * `expectedRunMs` while nothing ran here) is longer; a
 * reservation waits in the queue like a task and, at the head, holds a slot (READY) until it is
 * bound, cancelled, or `holdMs` passes; a task waiting past its deadline is refused TIMED_OUT,
 * one running past it is stopped; finished task ids are remembered so a retry is deduped.
 *
 * What happens next (a reply crossing the network) is the engine's business: the executor only
 * calls its hooks at the virtual time things happen.
 */
import type { EventQueue } from './heap.js'

/** Run-time EWMA weight of a new sample (the executor's RUN_TIME_ALPHA). */
const RUN_TIME_ALPHA = 0.2

export type Refusal = 'busy' | 'queue-full' | 'timed-out'

export interface WorkItem {
  type: 'task'
  taskId: number
  /** Service time here (already multiplied by the peer's slowness), ms. */
  serviceMs: number
  /** Budget from when it arrived, ms. */
  deadlineMs: number
  enqueuedAt: number
  startedAt: number
  /** Who to tell (the engine's handle for the attempt). */
  ticket: unknown
}

export interface ReservationItem {
  type: 'reservation'
  id: number
  taskId: number
  ticket: unknown
  state: 'queued' | 'held' | 'gone'
  /** When it started holding a slot. */
  heldAt?: number
}

export interface ExecutorHooks {
  /** A task finished (ok) or ran out of time while running (timedOut). */
  done: (item: WorkItem, result: 'ok' | 'timed-out', runMs: number) => void
  /** A queued task expired before it started. */
  expired: (item: WorkItem) => void
  /** A reservation now holds a slot. */
  ready: (res: ReservationItem) => void
  /** A held reservation was not bound in time and gave its slot up. */
  holdExpired: (res: ReservationItem) => void
}

export class SimExecutor {
  running = 0
  private queue: Array<WorkItem | ReservationItem> = []
  private head = 0
  private readonly held = new Set<ReservationItem>()
  private readonly active = new Set<WorkItem>()
  /** Mean observed run time, ms (undefined until a task ran). */
  meanRunMs: number | undefined
  /** Task ids finished here (results kept for dedupe). */
  readonly finished = new Set<number>()
  /** Slot-ms of real work done, for utilisation. */
  workMs = 0
  /** Slot-ms spent held by READY reservations waiting for their BIND or CANCEL (idle slots). */
  heldMs = 0
  private nextRes = 1
  /** Bumped on a crash: events scheduled before it are void. */
  private epoch = 0

  constructor (
    private readonly q: EventQueue,
    readonly concurrency: number,
    readonly queueLimit: number,
    private readonly holdMs: number,
    private readonly hooks: ExecutorHooks,
    /** Work after this time is not counted in `workMs` (the arrival window's end). */
    private readonly windowEnd = Infinity
  ) {}

  /** Called after every change of the load (the capacity service's early adverts). */
  onChange: (() => void) | undefined

  get queueDepth (): number {
    return this.queue.length - this.head
  }

  /** The executor's `estimateWaitMs(kind, fallbackRunMs)`: the caller's estimate while this node has none. */
  estimateWaitMs (fallbackRunMs = 0): number {
    const free = this.concurrency - this.running
    const ahead = this.queueDepth
    if (ahead < free) return 0
    return ((ahead - free + 1) / this.concurrency) * (this.meanRunMs ?? fallbackRunMs)
  }

  /** Queue a task (or refuse it); `expectedRunMs` is the request's (the origin's run-time estimate). */
  submit (item: WorkItem, maxWaitMs: number, expectedRunMs?: number): Refusal | undefined {
    if (this.queueDepth >= this.queueLimit) return 'queue-full'
    if (maxWaitMs > 0 && this.estimateWaitMs(expectedRunMs) > maxWaitMs) return 'busy'
    item.enqueuedAt = this.q.now
    this.queue.push(item)
    this.pump()
    return undefined
  }

  reserve (taskId: number, ticket: unknown): ReservationItem | 'queue-full' {
    if (this.queueDepth >= this.queueLimit) return 'queue-full'
    const res: ReservationItem = { type: 'reservation', id: this.nextRes++, taskId, ticket, state: 'queued' }
    this.queue.push(res)
    this.pump()
    return res
  }

  /** Run a task in the slot `res` holds, or queue it when the hold is gone. */
  bind (res: ReservationItem, item: WorkItem): Refusal | undefined {
    if (res.state !== 'held') {
      this.cancel(res)
      return this.submit(item, 0)
    }
    this.held.delete(res)
    res.state = 'gone'
    this.heldMs += this.q.now - (res.heldAt ?? this.q.now)
    item.enqueuedAt = this.q.now
    // The held slot is already counted in `running`: hand it to the task.
    this.running--
    this.start(item)
    return undefined
  }

  cancel (res: ReservationItem): void {
    if (res.state === 'held') {
      this.held.delete(res)
      res.state = 'gone'
      this.heldMs += this.q.now - (res.heldAt ?? this.q.now)
      this.running--
      this.pump()
    } else if (res.state === 'queued') {
      res.state = 'gone' // skipped when it reaches the head; still counts as queued until then
      const i = this.queue.indexOf(res, this.head)
      if (i >= 0) this.queue.splice(i, 1)
    }
  }

  /** The node crashed: everything here is gone. Returns what was queued, running or held. */
  crash (): Array<WorkItem | ReservationItem> {
    this.epoch++
    const lost: Array<WorkItem | ReservationItem> = []
    for (const item of this.active) {
      this.addWork(item.startedAt, this.q.now)
      lost.push(item)
    }
    for (const r of this.held) { r.state = 'gone'; lost.push(r) }
    for (let i = this.head; i < this.queue.length; i++) {
      const it = this.queue[i]
      if (it.type === 'reservation') it.state = 'gone'
      lost.push(it)
    }
    this.active.clear()
    this.held.clear()
    this.queue = []
    this.head = 0
    this.running = 0
    this.meanRunMs = undefined
    this.finished.clear()
    return lost
  }

  private addWork (from: number, to: number): void {
    this.workMs += Math.max(0, Math.min(to, this.windowEnd) - from)
  }

  private pump (): void {
    while (this.running < this.concurrency && this.head < this.queue.length) {
      const next = this.queue[this.head++]
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head)
        this.head = 0
      }
      if (next.type === 'task') {
        const waited = this.q.now - next.enqueuedAt
        if (waited >= next.deadlineMs) {
          this.hooks.expired(next)
          continue
        }
        next.deadlineMs -= waited
        this.start(next)
      } else {
        if (next.state !== 'queued') continue
        this.running++
        next.state = 'held'
        next.heldAt = this.q.now
        this.held.add(next)
        const epoch = this.epoch
        this.q.after(this.holdMs, () => {
          if (epoch !== this.epoch || next.state !== 'held') return
          this.cancel(next)
          this.hooks.holdExpired(next)
        })
        this.hooks.ready(next)
      }
    }
    this.onChange?.()
  }

  private start (item: WorkItem): void {
    this.running++
    item.startedAt = this.q.now
    this.active.add(item)
    const epoch = this.epoch
    const runMs = Math.min(item.serviceMs, Math.max(1, item.deadlineMs))
    const timedOut = item.serviceMs > item.deadlineMs
    this.q.after(runMs, () => {
      if (epoch !== this.epoch) return
      this.active.delete(item)
      this.running--
      this.addWork(item.startedAt, this.q.now)
      if (!timedOut) {
        this.meanRunMs = this.meanRunMs === undefined ? runMs : this.meanRunMs + RUN_TIME_ALPHA * (runMs - this.meanRunMs)
        this.finished.add(item.taskId)
      }
      this.hooks.done(item, timedOut ? 'timed-out' : 'ok', runMs)
      this.pump()
    })
  }
}
