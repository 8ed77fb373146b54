import { FrameType } from '../../wire/task.js'
import { priorityToWire } from '../../core/priority.js'
import type { Priority } from '../../core/priority.js'
import { FrameChannel, MalformedFrameError } from './frame-channel.js'
import type { TaskOutcome } from './executor.js'
import type { FrameLimits } from './frame-limits.js'
import type { TaskRequest } from '../../wire/task.js'
import type { AbortOptions, Logger, Stream } from '@libp2p/interface'

/** How long opening the task stream (dial included) may take. */
const OPEN_TIMEOUT_MS = 10_000

/** The peer could not be reached at all: nothing was sent, so nothing ran there. */
export class UnreachableError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'UnreachableError'
  }
}

/** The stream to the peer ended with requests outstanding: they may or may not have run. */
export class ConnectionLostError extends Error {
  constructor (message = 'connection to the peer was lost') {
    super(message)
    this.name = 'ConnectionLostError'
  }
}

interface Pending {
  resolve: (o: TaskOutcome) => void
  reject: (err: Error) => void
  onReady?: () => void
  onStarted?: () => void
}

/** Options of one request: `onStarted` fires when the peer says the task runs. */
export interface RequestOptions extends AbortOptions {
  onStarted?: () => void
  /**
   * The submitter cancels the task: the peer is sent CANCEL for the request and drops it if it
   * has not started (answering CANCELLED); the request still waits for that answer, or for the
   * result when the task had started (until `signal`).
   */
  cancel?: AbortSignal
  /**
   * The answer is no longer wanted (the task was answered elsewhere): the peer is sent CANCEL
   * with `stop`, so it drops the task if queued and stops it if it runs (answering CANCELLED).
   * The request still waits for that answer (a peer that never answers is found out by `signal`).
   */
  stop?: AbortSignal
  /**
   * The answer is waited for this long at most, ms: then the request rejects with `ANSWER_LATE`
   * (a TimeoutError; the task may still run there), as when `signal` aborts. A deadline of its
   * own costs the request one timer, where a signal would cost a controller and a listener.
   */
  timeoutMs?: number
}

/** Why a request's answer is no longer waited for: its `timeoutMs` passed (one instance: nobody reads more than its name). */
export const ANSWER_LATE = new DOMException('The operation was aborted due to timeout', 'TimeoutError')

export interface TaskClientInit {
  openStream: (options: AbortOptions) => Promise<Stream>
  limits: FrameLimits
  log: Logger
  onMalformed?: (why: string) => void
  /** Frames arrived (called once per chunk read, however many it holds): the peer is alive. */
  onActivity?: () => void
}

/** A reservation placed on a peer (late binding). */
export interface RemoteReservation {
  /** Resolves when the peer holds a free slot for it; rejects with its refusal. */
  ready: Promise<void>
  bind(request: TaskRequest, options: RequestOptions): Promise<TaskOutcome>
  cancel(): void
}

/**
 * What the dispatcher asks of one peer: run a task, or hold a place for one (late binding).
 * `StreamTaskClient` speaks the wire protocol; the simulator has its own over virtual links.
 */
export interface TaskClient {
  /**
   * Run `request` there; rejects `UnreachableError` when nothing was sent, anything else when the
   * answer was lost (`ANSWER_LATE` once `timeoutMs` passed, the signal's reason once it aborted).
   */
  request(request: TaskRequest, options?: RequestOptions): Promise<TaskOutcome>
  /** Reserve a place there; rejects `ReservationRefused` with the peer's refusal. */
  /** `priority` places the reservation in the server's queue order. */
  reserve(taskId: string, kind: string, options?: AbortOptions & { priority?: Priority }): Promise<RemoteReservation>
}

/**
 * The client half of `/fedmesh/task/1.0.0` towards one peer: one long-lived stream, opened on
 * first use and again after it ends, carrying many requests at once matched by id.
 */
export class StreamTaskClient implements TaskClient {
  private channel: FrameChannel | undefined
  private opening: Promise<FrameChannel> | undefined
  private readonly pending = new Map<number, Pending>()
  private nextId = 1

  constructor (private readonly init: TaskClientInit) {}

  get outstanding (): number {
    return this.pending.size
  }

  request (request: TaskRequest, options: RequestOptions = {}): Promise<TaskOutcome> {
    // The stream is open and has room (nearly always): no await between here and the frame
    // leaving, and the caller awaits the outcome itself, not a wrapper around it.
    const channel = this.channel
    if (channel != null && channel.hasRoom()) return this.send(channel, request, options)
    return this.requestWhenOpen(request, options)
  }

  private async requestWhenOpen (request: TaskRequest, options: RequestOptions): Promise<TaskOutcome> {
    const channel = await this.connect(options)
    await channel.waitForRoom()
    return this.send(channel, request, options)
  }

  private send (channel: FrameChannel, request: TaskRequest, options: RequestOptions): Promise<TaskOutcome> {
    const id = this.allocateId()
    const outcome = this.await(id, options)
    try {
      channel.queue({ type: FrameType.REQUEST, id, request })
    } catch (err) {
      // Not encodable: nothing was sent; the outcome rejects (its listeners go).
      this.fail(id, err as Error)
      return outcome
    }
    this.cancelOnAbort(channel, id)
    return outcome
  }

  async reserve (taskId: string, kind: string, options: AbortOptions & { priority?: Priority } = {}): Promise<RemoteReservation> {
    const channel = await this.connect(options)
    const id = this.allocateId()
    const { promise: ready, resolve: readyResolve, reject: readyReject } = Promise.withResolvers<void>()
    ready.catch(() => {})
    const abort = (): void => { this.fail(id, options.signal?.reason ?? new DOMException('aborted', 'AbortError')) }
    // Until bound, a RESULT on the reservation's id is its refusal or expiry.
    this.pending.set(id, {
      resolve: (o) => { readyReject(new ReservationRefused(o)) },
      reject: readyReject,
      onReady: readyResolve
    })
    options.signal?.addEventListener('abort', abort, { once: true })
    ready.then(() => { options.signal?.removeEventListener('abort', abort) }, () => { options.signal?.removeEventListener('abort', abort) })
    await channel.send({ type: FrameType.RESERVE, id, taskId, kind, priority: priorityToWire(options.priority) })
    return {
      ready,
      bind: async (request, opts) => {
        this.pending.delete(id)
        const bindId = this.allocateId()
        const outcome = this.await(bindId, opts)
        await channel.send({ type: FrameType.BIND, id: bindId, reservation: id, request })
        this.cancelOnAbort(channel, bindId)
        return outcome
      },
      cancel: () => {
        if (!this.pending.has(id)) return
        this.pending.delete(id)
        // Whoever still waits for READY learns it will not come.
        readyReject(new DOMException('reservation cancelled', 'AbortError'))
        channel.send({ type: FrameType.CANCEL, id }).catch(() => {})
      }
    }
  }

  /**
   * Send CANCEL for request `id` when its `cancel` (or `stop`: CANCEL with stop) fires before its
   * outcome arrives. The listeners go when the request settles (no promise chain per request).
   */
  private cancelOnAbort (channel: FrameChannel, id: number): void {
    const pending = this.pending.get(id)
    if (pending instanceof RequestEntry) pending.watchCancel(channel)
  }

  close (): void {
    this.channel?.close().catch(() => {})
    this.failAll(new ConnectionLostError('client closed'))
  }

  private await (id: number, options: RequestOptions): Promise<TaskOutcome> {
    const { promise, resolve, reject } = Promise.withResolvers<TaskOutcome>()
    const entry = new RequestEntry(this, id, options, resolve, reject)
    this.pending.set(id, entry)
    const { signal, timeoutMs } = options
    if (signal?.aborted === true) {
      entry.handleEvent({ target: signal })
      return promise
    }
    signal?.addEventListener('abort', entry, ONCE)
    if (timeoutMs != null) entry.timer = setTimeout(() => { this.fail(id, ANSWER_LATE) }, timeoutMs)
    return promise
  }

  /** Send CANCEL (with `stop`) for request `id`, while it is still out. */
  sendCancel (channel: FrameChannel, id: number, stop: boolean): void {
    if (this.pending.has(id)) channel.send({ type: FrameType.CANCEL, id, ...(stop ? { stop } : {}) }).catch(() => {})
  }

  /** Settle request `id` with `err`, if it is still out. */
  fail (id: number, err: Error): void {
    const p = this.pending.get(id)
    if (p == null) return
    this.pending.delete(id)
    p.reject(err)
  }

  private failAll (err: Error): void {
    const all = [...this.pending.values()]
    this.pending.clear()
    for (const p of all) p.reject(err)
  }

  private allocateId (): number {
    do {
      this.nextId = this.nextId >= 0xffff_ffff ? 1 : this.nextId + 1
    } while (this.pending.has(this.nextId))
    return this.nextId
  }

  private async connect (_options: AbortOptions): Promise<FrameChannel> {
    if (this.channel != null) return this.channel
    // The stream is shared: open it under its own deadline, not the first caller's signal (one
    // caller giving up must not fail everyone waiting for the same stream).
    this.opening ??= this.init.openStream({ signal: AbortSignal.timeout(OPEN_TIMEOUT_MS) }).catch((err: Error) => {
      throw new UnreachableError(`cannot reach the peer: ${err.message}`)
    }).then(stream => {
      const channel = new FrameChannel(stream, this.init.limits, () => this.pending.size > 1)
      this.channel = channel
      void this.readLoop(channel)
      return channel
    }).finally(() => { this.opening = undefined })
    return this.opening
  }

  private async readLoop (channel: FrameChannel): Promise<void> {
    let reason: Error = new ConnectionLostError()
    try {
      // The peer is alive: once per chunk read (a busy stream brings dozens of frames in one).
      for await (const frame of channel.frames(this.init.onActivity)) {
        const p = this.pending.get(frame.id)
        if (p == null) continue // answered after we gave up on it
        if (frame.type === FrameType.READY) {
          p.onReady?.()
        } else if (frame.type === FrameType.STARTED) {
          p.onStarted?.()
        } else if (frame.type === FrameType.RESULT && frame.result != null) {
          this.pending.delete(frame.id)
          p.resolve(frame.result)
        } else {
          throw new MalformedFrameError(`unexpected ${frame.type} from a server`)
        }
      }
    } catch (err) {
      if (err instanceof MalformedFrameError) {
        this.init.onMalformed?.(err.message)
        channel.abort(err)
        reason = new ConnectionLostError(`peer sent a malformed frame: ${err.message}`)
      } else {
        reason = new ConnectionLostError(`task stream failed: ${(err as Error).message}`)
      }
    } finally {
      if (this.channel === channel) this.channel = undefined
      this.failAll(reason)
    }
  }
}

/**
 * One request waiting for its outcome: it is also the listener of the request's signals
 * (`handleEvent`, told apart by the event's target), where closures for its abort, its release,
 * its resolve and reject, each listener's removal and one to remove them all were made per
 * request. (Node wraps an object listener in a function of its own: a listener still costs one.)
 */
class RequestEntry implements Pending {
  timer: ReturnType<typeof setTimeout> | undefined
  readonly onStarted: (() => void) | undefined
  private readonly signal: AbortSignal | undefined
  private readonly cancel: AbortSignal | undefined
  private readonly stop: AbortSignal | undefined
  private channel: FrameChannel | undefined

  constructor (private readonly client: StreamTaskClient, private readonly id: number, options: RequestOptions, private readonly settle: (o: TaskOutcome) => void, private readonly refuse: (err: Error) => void) {
    this.onStarted = options.onStarted
    this.signal = options.signal
    this.cancel = options.cancel
    this.stop = options.stop
  }

  /** Once the request is out on `channel`: its `cancel` and `stop` send CANCEL (at once when fired already). */
  watchCancel (channel: FrameChannel): void {
    this.channel = channel
    const { cancel, stop } = this
    // A signal both cancels and stops: CANCEL with stop (the stronger) once.
    if (cancel != null && cancel !== stop) {
      if (cancel.aborted) this.handleEvent({ target: cancel })
      else cancel.addEventListener('abort', this, ONCE)
    }
    if (stop != null) {
      if (stop.aborted) this.handleEvent({ target: stop })
      else stop.addEventListener('abort', this, ONCE)
    }
  }

  resolve (o: TaskOutcome): void {
    this.release()
    this.settle(o)
  }

  reject (err: Error): void {
    this.release()
    this.refuse(err)
  }

  /** One of the request's signals fired. */
  handleEvent (event: { target: unknown }): void {
    const { target } = event
    if (target === this.signal) {
      this.client.fail(this.id, this.signal?.reason ?? new DOMException('aborted', 'AbortError'))
      return
    }
    const channel = this.channel
    if (channel == null) return
    if (target === this.stop) this.client.sendCancel(channel, this.id, true)
    else if (target === this.cancel) this.client.sendCancel(channel, this.id, false)
  }

  /** Settled: the timer and the listeners go (a settled request holds nothing). */
  private release (): void {
    clearTimeout(this.timer)
    this.signal?.removeEventListener('abort', this)
    if (this.channel == null) return
    this.cancel?.removeEventListener('abort', this)
    this.stop?.removeEventListener('abort', this)
  }
}

/** Options of a one-shot listener (one object for all: a literal per call is an allocation per request). */
export const ONCE = Object.freeze({ once: true })

/** The peer refused or expired a reservation; `outcome` says why. */
export class ReservationRefused extends Error {
  constructor (readonly outcome: TaskOutcome) {
    super(`reservation refused: ${outcome.error} ${outcome.message}`)
    this.name = 'ReservationRefused'
  }
}
