/**
 * The dispatcher's `TaskClient` over simulated links: REQUEST, RESERVE/READY/BIND/CANCEL, STARTED
 * and RESULT as `task-client.ts` and `task-server.ts` exchange them, each frame paying its
 * link's latency, served by the target's real `Executor`. Faults live here: a crashed target
 * loses what it held (its callers learn when their connection resets), a partition drops frames
 * (noticed after liveness), liars refuse what their adverts attracted, black holes never
 * answer. (Wrong results are computed by the target's handler and caught by verification.)
 */
import { ErrorCode } from '../../src/wire/task.js'
import { ANSWER_LATE, ConnectionLostError, ReservationRefused, UnreachableError } from '../../src/services/tasks/task-client.js'
import { STARTED_DELAY_MS } from '../../src/services/tasks/task-server.js'
import { BLACKHOLE, LIAR } from './world.js'
import type { Executor, Reservation, TaskOutcome, TaskSpec } from '../../src/services/tasks/executor.js'
import type { RemoteReservation, RequestOptions, TaskClient } from '../../src/services/tasks/task-client.js'
import type { TaskRequest } from '../../src/wire/task.js'
import type { Timers } from '../../src/util/timers.js'
import type { AbortOptions } from '@libp2p/interface'
import type { Links } from './links.js'

/** A simulated node as the task protocol sees it. */
export interface SimPeer {
  readonly index: number
  readonly id: string
  readonly life: { incarnation: number }
  readonly malice: number
  /** The executor of the running incarnation (undefined while down). */
  executor: Executor | undefined
  /** Work other nodes have here (requests, reservations): it fails when this node crashes. */
  readonly inbound: Set<Inbound>
  /** Reservations this node holds elsewhere: dropped there when it crashes (connection closed). */
  readonly outbound: Set<Outbound>
  /** Its timers, which die with it (the STARTED delay runs on them). */
  readonly timers: Timers
}

/** Held by the target: fails the caller when the target crashes. */
export interface Inbound {
  readonly origin: number
  fail: (err: Error) => void
}

/** Held by the origin: the reservation at the target, cancelled when the origin crashes. */
export interface Outbound {
  readonly target: number
  reservation: Reservation | undefined
}

export interface SimProtocol {
  links: Links
  peer: (index: number) => SimPeer
  /** What a liar answers. */
  liarRefusal: ErrorCode
  count: (what: string) => void
}

export class SimTaskClient implements TaskClient {
  /** @param timers - the origin's (a request's `timeoutMs` runs on them, and dies with it). */
  constructor (private readonly sim: SimProtocol, private readonly origin: SimPeer, private readonly target: number, private readonly timers: Timers) {}

  async request (request: TaskRequest, options: RequestOptions = {}): Promise<TaskOutcome> {
    // The answer's deadline is set at once, where the dispatcher's own timer used to be set:
    // virtual time orders the events of one instant as they were scheduled.
    let call: Call | undefined
    const timer = options.timeoutMs == null ? undefined : this.timers.setTimeout(() => { call?.fail(ANSWER_LATE) }, options.timeoutMs)
    try {
      await this.reachable(options)
      return await new Promise<TaskOutcome>((resolve, reject) => {
        const made = new Call(this.sim, this.origin, this.target, resolve, reject, options.signal, options.onStarted)
        call = made
        this.sim.links.send(this.origin.index, this.target, () => { made.serve(request, undefined) }, () => { made.lost() })
        made.cancelOn(request.taskId, options)
      })
    } finally {
      this.timers.clearTimeout(timer)
    }
  }

  async reserve (taskId: string, kind: string, options: AbortOptions = {}): Promise<RemoteReservation> {
    await this.reachable(options)
    const { sim, origin, target } = this
    const { promise: ready, resolve: onReady, reject: readyFailed } = Promise.withResolvers<void>()
    ready.catch(() => {})
    const placed: Outbound = { target, reservation: undefined }
    let state: 'waiting' | 'bound' | 'cancelled' = 'waiting'
    const inc = origin.life.incarnation
    const settle = (fn: () => void): void => {
      if (state !== 'waiting' || origin.life.incarnation !== inc) return
      fn()
    }
    const inbound: Inbound = { origin: origin.index, fail: (err) => { settle(() => { readyFailed(err) }) } }
    const reply = (fn: () => void): void => {
      sim.links.send(target, origin.index, () => { settle(fn) }, () => { settle(() => { readyFailed(new ConnectionLostError()) }) })
    }
    const refuse = (code: ErrorCode, message: string): void => {
      reply(() => {
        state = 'cancelled'
        origin.outbound.delete(placed)
        readyFailed(new ReservationRefused(refusal(taskId, code, message)))
      })
    }
    const onAbort = (): void => { settle(() => { readyFailed(options.signal?.reason) }) }
    options.signal?.addEventListener('abort', onAbort, { once: true })
    const unlisten = (): void => { options.signal?.removeEventListener('abort', onAbort) }
    ready.then(unlisten, unlisten)
    origin.outbound.add(placed)
    sim.links.send(origin.index, target, () => {
      const peer = sim.peer(target)
      if (origin.life.incarnation !== inc) return // the connection closed with the origin
      if (peer.malice === LIAR) { sim.count('liar-refusal'); refuse(sim.liarRefusal, 'reservation refused'); return }
      peer.inbound.add(inbound)
      if (peer.malice === BLACKHOLE) { sim.count('black-holed'); return }
      const executor = peer.executor as Executor
      const res = executor.reserve(taskId, kind,
        () => { reply(() => { onReady() }) },
        () => { peer.inbound.delete(inbound); sim.count('hold-expired'); refuse(ErrorCode.CANCELLED, 'reservation expired') },
        origin.id)
      if (typeof res === 'string') {
        peer.inbound.delete(inbound)
        sim.count('reserve-refused')
        refuse(res, `reservation refused: ${res}`)
        return
      }
      placed.reservation = res
      // Cancelled while the RESERVE was on its way: the CANCEL frame follows it on the stream.
      if (state === 'cancelled') cancelAt(peer, placed, inbound)
    }, () => { settle(() => { readyFailed(new ConnectionLostError()) }) })
    return {
      ready,
      bind: async (req, opts) => {
        state = 'bound'
        origin.outbound.delete(placed)
        sim.count('reserve-bound')
        return new Promise<TaskOutcome>((resolve, reject) => {
          const call = new Call(sim, origin, target, resolve, reject, opts.signal, opts.onStarted)
          sim.links.send(origin.index, target, () => {
            sim.peer(target).inbound.delete(inbound)
            call.serve(req, placed.reservation)
          }, () => { call.lost() })
          call.cancelOn(req.taskId, opts)
        })
      },
      cancel: () => {
        if (state !== 'waiting') return
        state = 'cancelled'
        sim.count('reserve-cancelled')
        origin.outbound.delete(placed)
        readyFailed(CANCELLED)
        sim.links.send(origin.index, target, () => { cancelAt(sim.peer(target), placed, inbound) }, () => {})
      }
    }
  }

  /** A dial to a peer this node knows to be gone fails after a round trip: nothing was sent. */
  private async reachable (options: AbortOptions): Promise<void> {
    if (!this.sim.links.knownUnreachable(this.origin.index, this.target)) return
    this.sim.count('unreachable')
    options.signal?.throwIfAborted()
    throw new UnreachableError('cannot reach the peer')
  }
}

/** The target drops a reservation (a CANCEL, or the origin's connection closed). */
export function cancelAt (peer: SimPeer, placed: Outbound, inbound?: Inbound): void {
  if (inbound !== undefined) peer.inbound.delete(inbound)
  if (placed.reservation !== undefined) peer.executor?.cancel(placed.reservation)
  placed.reservation = undefined
}

/** One REQUEST or BIND and its RESULT (and STARTED). */
class Call implements Inbound {
  readonly origin: number
  private done = false
  private readonly inc: number

  constructor (
    private readonly sim: SimProtocol,
    private readonly from: SimPeer,
    private readonly target: number,
    private readonly resolve: (o: TaskOutcome) => void,
    private readonly reject: (err: Error) => void,
    signal: AbortSignal | undefined,
    private readonly onStarted: (() => void) | undefined
  ) {
    this.origin = from.index
    this.inc = from.life.incarnation
    if (signal?.aborted === true) { this.settle(() => { reject(signal.reason) }); return }
    if (signal == null) return
    // As StreamTaskClient: the listener goes when the call settles (a settled call holds nothing).
    const onAbort = (): void => { this.settle(() => { reject(signal.reason) }) }
    signal.addEventListener('abort', onAbort, { once: true })
    this.unlisten = () => { signal.removeEventListener('abort', onAbort) }
  }

  private unlisten: (() => void) | undefined
  private readonly unlistenCancel: Array<() => void> = []

  /**
   * As StreamTaskClient: CANCEL follows the request on its stream when `cancel` fires (the target
   * drops the task if still queued) or `stop` does (and stops it if it runs, freeing the slot).
   */
  cancelOn (taskId: string, options: RequestOptions): void {
    this.watch(taskId, options.cancel, false)
    this.watch(taskId, options.stop, true)
  }

  private watch (taskId: string, signal: AbortSignal | undefined, stop: boolean): void {
    if (signal == null || this.done) return
    const send = (): void => {
      if (this.done) return
      this.sim.count(stop ? 'cancel-stop' : 'cancel')
      const origin = this.from.id
      this.sim.links.send(this.origin, this.target, () => {
        const executor = this.sim.peer(this.target).executor
        if (executor === undefined) return
        if (executor.cancelQueued(taskId, origin)) this.sim.count('cancel-dropped')
        else if (stop && executor.stopRunning(taskId, origin)) this.sim.count('cancel-stopped')
      }, () => {})
    }
    if (signal.aborted) { send(); return }
    signal.addEventListener('abort', send, { once: true })
    this.unlistenCancel.push(() => { signal.removeEventListener('abort', send) })
  }

  /** The frame reached the target: run it there (or bind it to the held reservation). */
  serve (request: TaskRequest, reservation: Reservation | undefined): void {
    const { sim } = this
    const peer = sim.peer(this.target)
    if (peer.malice === LIAR) {
      sim.count('liar-refusal')
      this.answer(refusal(request.taskId, sim.liarRefusal, 'refused'))
      return
    }
    peer.inbound.add(this)
    if (peer.malice === BLACKHOLE) { sim.count('black-holed'); return }
    const executor = peer.executor as Executor
    // The outcome is on its way back: a STARTED not yet sent stays unsent.
    let answered = false
    const spec: TaskSpec = {
      taskId: request.taskId,
      kind: request.kind,
      input: request.input,
      deadlineMs: request.deadlineMs,
      attempt: request.attempt,
      maxWaitMs: request.maxWaitMs,
      expectedRunMs: request.expectedRunMs,
      origin: this.from.id,
      // As the task server: STARTED only for a task still running STARTED_DELAY_MS after it started.
      onStart: () => {
        peer.timers.setTimeout(() => { if (!answered) this.reply(() => { this.onStarted?.() }) }, STARTED_DELAY_MS)
      }
    }
    const inc = peer.life.incarnation
    const work = reservation !== undefined ? executor.bind(reservation, spec) : executor.submit(spec)
    work.then(outcome => {
      answered = true
      if (peer.life.incarnation !== inc) return
      peer.inbound.delete(this)
      if (outcome.error === ErrorCode.BUSY) sim.count('busy-bounce')
      else if (outcome.error === ErrorCode.QUEUE_FULL) sim.count('queue-full')
      else if (outcome.deduped) sim.count('deduped')
      this.answer(outcome)
    }, () => {})
  }

  fail (err: Error): void {
    this.settle(() => { this.reject(err) })
  }

  /** The frame never arrived (or its answer cannot): the connection is declared lost. */
  lost (): void {
    this.fail(new ConnectionLostError())
  }

  private answer (outcome: TaskOutcome): void {
    this.reply(() => { this.settle(() => { this.resolve(outcome) }) })
  }

  private reply (fn: () => void): void {
    this.sim.links.send(this.target, this.origin, () => { if (!this.done && this.from.life.incarnation === this.inc) fn() }, () => { this.lost() })
  }

  private settle (fn: () => void): void {
    if (this.done || this.from.life.incarnation !== this.inc) return
    this.done = true
    this.unlisten?.()
    this.unlisten = undefined
    for (const off of this.unlistenCancel.splice(0)) off()
    fn()
  }
}

function refusal (taskId: string, error: ErrorCode, message: string): TaskOutcome {
  return { taskId, error, output: new Uint8Array(0), message, queuedMs: 0, runMs: 0, deduped: false }
}

/** What `ready` rejects with once cancelled (one instance: nobody reads more than its name). */
const CANCELLED = new DOMException('reservation cancelled', 'AbortError')
