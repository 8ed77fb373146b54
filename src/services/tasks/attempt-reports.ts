/**
 * What one attempt's outcome does to the peer it went to: its circuit breaker here, and (through
 * `onAttempt`) its reputation, with a refusal first judged against the peer's own advert (a
 * truthful BUSY or QUEUE_FULL is never a broken promise). The task service wires the dispatcher's
 * reports through this; the simulator's model mode does the same, so both judge alike.
 */
import { ReputationAction, promisedFreeSlots } from '../../core/reputation/index.js'
import { ErrorCode } from '../../wire/task.js'
import type { CircuitBreakers } from '../../core/routing/circuit-breaker.js'
import type { AdvertView, PromiseJudge, RefusalReason } from '../../core/reputation/promise-judge.js'
import type { Clock } from '../../util/time.js'
import type { CapacityEntry, CapacityTable } from '../capacity/capacity-table.js'
import type { AttemptDetail, AttemptEvent } from './dispatcher.js'

/** The reputation action each judged attempt event costs or earns (undefined: none). */
export const ATTEMPT_ACTIONS: Record<AttemptEvent, ReputationAction | undefined> = {
  success: ReputationAction.TaskSucceeded,
  failure: ReputationAction.TaskFailed,
  timeout: ReputationAction.TaskTimedOut,
  ignored: ReputationAction.TaskIgnored,
  refused: undefined,
  'broken-promise': ReputationAction.BrokenPromise,
  'wrong-result': ReputationAction.WrongResult,
  // Could not even connect: not the peer's fault as far as we know (the breaker still counts it).
  unreachable: undefined
}

export interface AttemptReportsInit {
  breakers: CircuitBreakers
  judge: PromiseJudge
  /** The capacity table (late-bound), for the advert a refusal is judged against. */
  table: () => CapacityTable
  clock: Clock
  /** The judged event (a refusal arrives as `broken-promise` only when judged so). */
  onAttempt?: (peerId: string, event: AttemptEvent) => void
}

/** The dispatcher's `onAttempt`: breakers first, then the judged event. */
export function attemptReports (init: AttemptReportsInit): (peerId: string, event: AttemptEvent, detail?: AttemptDetail) => void {
  const { breakers, clock } = init
  return (peer, event, detail) => {
    if (event === 'success') breakers.success(peer)
    if (event === 'failure' || event === 'unreachable') breakers.failure(peer, clock.now())
    // A peer that sat on a task past its patience is not sent more until the cooldown.
    if (event === 'timeout') breakers.trip(peer, clock.now())
    init.onAttempt?.(peer, event === 'refused' ? judgeRefusal(init, peer, detail) : event === 'timeout' ? judgeSilence(init, peer, detail) : event)
  }
}

/**
 * A timeout is `ignored` when the peer's advert arrived after the request reached it
 * (`detail.reachedBy`: the peer and the link were up) and still promised free slots after this
 * node's own tasks there (`promisedFreeSlots`): it said it was idle while it sat on the task. A
 * peer that advertised itself busy was only slower than its queue, and a link that died sends no
 * advert: both stay a plain timeout, as does a timeout without the time.
 */
function judgeSilence (init: AttemptReportsInit, peer: string, detail: AttemptDetail | undefined): AttemptEvent {
  if (detail?.reachedBy == null) return 'timeout'
  const e = init.table().get(peer)
  if (e == null || e.receivedAtMs <= detail.reachedBy) return 'timeout'
  return promisedFreeSlots(advertOf(e, detail.kind)) > 0 ? 'ignored' : 'timeout'
}

/** The peer's advert as this node holds it, for the judges. */
function advertOf (e: CapacityEntry, kind: string): AdvertView {
  return { receivedAtMs: e.receivedAtMs, concurrency: e.ad.concurrency, running: e.ad.running, queueDepth: e.ad.queueDepth, sentSinceAd: e.sentSinceAd, servesKind: e.ad.kinds.includes(kind) }
}

/** A refusal is truthful unless the peer keeps contradicting its own fresh advert. */
function judgeRefusal (init: AttemptReportsInit, peer: string, detail: AttemptDetail | undefined): AttemptEvent {
  if (detail == null) return 'refused'
  const e = init.table().get(peer)
  const ad = e == null ? undefined : advertOf(e, detail.kind)
  return init.judge.refused(peer, refusalReason(detail.code), ad, detail.taskId) === 'broken-promise' ? 'broken-promise' : 'refused'
}

function refusalReason (code: ErrorCode): RefusalReason {
  if (code === ErrorCode.BUSY) return 'busy'
  if (code === ErrorCode.QUEUE_FULL) return 'full'
  if (code === ErrorCode.KIND_NOT_SERVED) return 'not-served'
  return 'other'
}
