import { ErrorCode, FrameType } from '../../wire/task.js'
import { priorityFromWire } from '../../core/priority.js'
import { FrameChannel, MalformedFrameError } from './frame-channel.js'
import { truncateMessage } from './frame-limits.js'
import type { Executor, Reservation, TaskOutcome } from './executor.js'
import type { Receipt } from './receipt.js'
import type { FrameLimits } from './frame-limits.js'
import type { TaskFrame, TaskRequest, TaskResult } from '../../wire/task.js'
import type { Logger, PeerId, Stream } from '@libp2p/interface'

export interface TaskServerInit {
  executor: Executor
  limits: FrameLimits
  /** Requests and reservations one stream may have outstanding. Default 1,024. */
  maxOutstandingPerStream?: number
  /** Reservations one stream may hold at once (queued or holding a slot). Default 64. */
  maxReservationsPerStream?: number
  /** A peer sent a malformed frame (reputation). */
  onMalformed?: (peer: PeerId, why: string) => void
  /** Frames arrived (called once per chunk read, however many it holds): the peer is alive. */
  onActivity?: (peer: PeerId) => void
  /** Sign a receipt for a successful run of `kind` (undefined: none for this kind). */
  sign?: (taskId: string, kind: string, input: Uint8Array, output: Uint8Array) => Promise<Receipt> | undefined
  /** STARTED goes out only for a task still running this long after it started, ms. Default STARTED_DELAY_MS. */
  startedDelayMs?: number
  log: Logger
}

/**
 * STARTED goes out only for a task still running this long after it started: a quick task's
 * RESULT comes alone (one frame, one write, instead of two). Far below any attempt's patience
 * (≥ 5 s), so no hedge waits on it.
 */
export const STARTED_DELAY_MS = 50

export const DEFAULT_MAX_OUTSTANDING_PER_STREAM = 1_024
export const DEFAULT_MAX_RESERVATIONS_PER_STREAM = 64

/**
 * Serves one inbound task stream: runs REQUESTs, holds RESERVEs until READY, runs BINDs, and
 * answers each with a RESULT carrying the request's id. A malformed frame resets the stream;
 * reservations of a closed stream are released.
 */
export async function serveTaskStream (stream: Stream, remote: PeerId, init: TaskServerInit): Promise<void> {
  const reservations = new Map<number, Reservation>()
  const maxOutstanding = init.maxOutstandingPerStream ?? DEFAULT_MAX_OUTSTANDING_PER_STREAM
  const maxReservations = init.maxReservationsPerStream ?? DEFAULT_MAX_RESERVATIONS_PER_STREAM
  let outstanding = 0
  /** Task ids of the requests (and binds) not answered yet, by request id: a CANCEL names the request. */
  const requests = new Map<number, string>()
  const channel = new FrameChannel(stream, init.limits, () => outstanding > 1)
  const origin = remote.toString()
  const startedDelayMs = init.startedDelayMs ?? STARTED_DELAY_MS

  const reply = (id: number, outcome: TaskOutcome): void => {
    channel.send({ type: FrameType.RESULT, id, result: toWire(outcome) }).catch(() => {})
  }
  const run = (id: number, request: TaskRequest, work: Promise<TaskOutcome>): void => {
    outstanding++
    requests.set(id, request.taskId)
    work.then(o => {
      const receipt = o.error === ErrorCode.NONE ? init.sign?.(request.taskId, request.kind, request.input, o.output) : undefined
      if (receipt == null) reply(id, o)
      else return receipt.then(r => { reply(id, { ...o, receipt: r.signature, receiptAt: r.at }) }, () => { reply(id, o) })
    }, (err: Error) => {
      reply(id, { taskId: '', error: ErrorCode.FAILED, output: new Uint8Array(0), message: err.message, queuedMs: 0, runMs: 0, deduped: false })
    }).finally(() => {
      outstanding--
      requests.delete(id)
    })
  }
  const spec = (r: TaskRequest, id: number): Parameters<Executor['submit']>[0] => ({
    taskId: r.taskId,
    kind: r.kind,
    input: r.input,
    deadlineMs: r.deadlineMs,
    attempt: r.attempt,
    maxWaitMs: r.maxWaitMs,
    expectedRunMs: r.expectedRunMs,
    ageMs: r.ageMs,
    priority: priorityFromWire(r.priority),
    origin,
    // Tells the client its task runs (so a long run is not mistaken for a black hole), once it
    // has run a little: the request's id still outstanding for the same task means no RESULT yet.
    onStart: () => {
      setTimeout(() => {
        if (requests.get(id) === r.taskId) channel.send({ type: FrameType.STARTED, id }).catch(() => {})
      }, startedDelayMs).unref()
    }
  })

  try {
    // The peer is alive: once per chunk read (a busy stream brings dozens of frames in one).
    const alive = init.onActivity == null ? undefined : () => { init.onActivity?.(remote) }
    for await (const frame of channel.frames(alive)) {
      // Reservations cost the sender nothing while they hold a place (or a slot): a peer may
      // keep only a few at a time, so it cannot fill the queue with empty promises.
      const opening = frame.type === FrameType.REQUEST || frame.type === FrameType.RESERVE
      const tooMany = opening && (outstanding + reservations.size >= maxOutstanding ||
        (frame.type === FrameType.RESERVE && reservations.size >= maxReservations))
      if (tooMany) {
        channel.send({ type: FrameType.RESULT, id: frame.id, result: toWire(refusal(frame, ErrorCode.QUEUE_FULL, 'too many outstanding requests on this stream')) }).catch(() => {})
        continue
      }
      switch (frame.type) {
        case FrameType.REQUEST:
          run(frame.id, frame.request as TaskRequest, init.executor.submit(spec(frame.request as TaskRequest, frame.id)))
          break
        case FrameType.RESERVE: {
          const id = frame.id
          // A second RESERVE under a live id would orphan the first (never cancelled, never counted).
          if (reservations.has(id)) throw new MalformedFrameError(`RESERVE reuses the id ${id} of a live reservation`)
          const res = init.executor.reserve(frame.taskId, frame.kind,
            () => { channel.send({ type: FrameType.READY, id }).catch(() => {}) },
            () => {
              if (reservations.get(id) === res) reservations.delete(id)
              channel.send({ type: FrameType.RESULT, id, result: toWire(refusal(frame, ErrorCode.CANCELLED, 'reservation expired')) }).catch(() => {})
            },
            origin, priorityFromWire(frame.priority))
          if (typeof res === 'string') {
            channel.send({ type: FrameType.RESULT, id, result: toWire(refusal(frame, res, `reservation refused: ${res}`)) }).catch(() => {})
          } else {
            reservations.set(id, res)
          }
          break
        }
        case FrameType.BIND: {
          const res = reservations.get(frame.reservation)
          reservations.delete(frame.reservation)
          const request = frame.request as TaskRequest
          run(frame.id, request, res != null ? init.executor.bind(res, spec(request, frame.id)) : init.executor.submit(spec(request, frame.id)))
          break
        }
        case FrameType.CANCEL: {
          const res = reservations.get(frame.id)
          if (res != null) {
            reservations.delete(frame.id)
            init.executor.cancel(res)
            break
          }
          // A request's task that still waits in the queue is dropped (answered CANCELLED); one
          // that runs finishes and answers as usual, unless the CANCEL says stop (it was
          // answered elsewhere): then it is stopped and answered CANCELLED.
          const taskId = requests.get(frame.id)
          if (taskId != null && !init.executor.cancelQueued(taskId, origin) && frame.stop === true) init.executor.stopRunning(taskId, origin)
          break
        }
        default:
          // READY, STARTED and RESULT only flow server → client.
          throw new MalformedFrameError(`unexpected ${frame.type} from a client`)
      }
    }
  } catch (err) {
    if (err instanceof MalformedFrameError) {
      init.log('malformed task frame from %p - %s', remote, err.message)
      init.onMalformed?.(remote, err.message)
      channel.abort(err)
    } else {
      init.log.trace('task stream from %p ended - %s', remote, (err as Error).message)
    }
  } finally {
    for (const res of reservations.values()) init.executor.cancel(res)
    reservations.clear()
  }
}

const NO_RECEIPT = new Uint8Array(0)

/** The wire form: messages cut to the protocol's limit; outputs are never shared memory. */
function toWire (o: TaskOutcome): TaskResult {
  return { ...o, message: truncateMessage(o.message), output: o.output as Uint8Array<ArrayBuffer>, receipt: (o.receipt ?? NO_RECEIPT) as Uint8Array<ArrayBuffer>, receiptAt: o.receiptAt ?? 0 }
}

function refusal (frame: TaskFrame, error: ErrorCode, message: string): TaskOutcome {
  return { taskId: frame.taskId !== '' ? frame.taskId : frame.request?.taskId ?? '', error, output: new Uint8Array(0), message, queuedMs: 0, runMs: 0, deduped: false }
}
