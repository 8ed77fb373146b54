import { backoffDelay } from '../../core/backoff.js'
import { DEFAULT_PLAN_PARAMS, planDispatch } from '../../core/routing/plan.js'
import { DEFAULT_SCORE_PARAMS, rankCandidates } from '../../core/routing/score.js'
import { SECOND } from '../../util/time.js'
import { ErrorCode } from '../../wire/task.js'
import { gatherCandidates } from './candidates.js'
import { INPUT_ERRORS, REFUSALS } from './task-error.js'
import type { PeerView } from './candidates.js'
import type { Executor, TaskOutcome } from './executor.js'
import { UnreachableError } from './task-client.js'
import type { RemoteReservation, TaskClient } from './task-client.js'
import type { PlanParams } from '../../core/routing/plan.js'
import type { ScoreParams, ScoredCandidate } from '../../core/routing/score.js'
import type { Clock } from '../../util/time.js'
import type { CapacityTable } from '../capacity/capacity-table.js'
import type { TaskRequest } from '../../wire/task.js'

/** What happened on one attempt, for reputation and circuit breakers. */
export type AttemptEvent = 'success' | 'failure' | 'timeout' | 'refused' | 'broken-promise' | 'wrong-result' | 'unreachable'

export interface DispatcherInit {
  selfId: string
  executor: Executor
  /** The capacity table (late-bound: services are built before they can reach each other). */
  table: () => CapacityTable
  view: PeerView
  client: (peerId: string) => TaskClient
  clock: Clock
  random: () => number
  /** Attempts that fail (peer died, timed out) before the task fails. Default 4. */
  maxAttempts?: number
  /** Tries in all, refusals included. Default 12. */
  maxTries?: number
  /** Extra time a peer gets beyond the task's budget before this node gives up on it, ms. Default 2 s. */
  slackMs?: number
  scoreParams?: ScoreParams
  planParams?: PlanParams
  /**
   * An attempt that takes longer than this many times its expected completion is given up
   * (the peer may be a black hole) and retried elsewhere under the same id. Default 4.
   */
  attemptTimeoutFactor?: number
  /** ... but never sooner than this, ms. Default 5 s. */
  minAttemptTimeoutMs?: number
  /** Check a result where it can be checked (the built-in kinds): false = wrong answer. */
  verify?: (kind: string, input: Uint8Array, output: Uint8Array) => boolean
  onAttempt?: (peerId: string, event: AttemptEvent) => void
  /** A task was sent to a remote peer (counts toward its load until answered). */
  onSent?: (peerId: string) => void
  /** The peer answered it (or this node gave up on it). */
  onDone?: (peerId: string) => void
}

export interface DispatchRequest {
  taskId: string
  kind: string
  input: Uint8Array
  timeoutMs: number
  /** Run only there (a peer id, or this node's own). */
  peer?: string
}

export interface DispatchResult {
  outcome: TaskOutcome
  /** Where it ran (or last tried). */
  peer: string
  attempts: number
}

/**
 * Runs a task on the best candidate with failover. A peer that dies, times out or hangs is
 * retried elsewhere under the same task id (executors dedupe, so work never runs twice on one
 * node); refusals move on at no cost; input errors and the task's own failures are final.
 */
export class Dispatcher {
  private readonly maxAttempts: number
  private readonly maxTries: number
  private readonly slackMs: number
  private readonly scoreParams: ScoreParams
  private readonly planParams: PlanParams
  private readonly attemptTimeoutFactor: number
  private readonly minAttemptTimeoutMs: number

  constructor (private readonly init: DispatcherInit) {
    this.maxAttempts = init.maxAttempts ?? 4
    this.maxTries = init.maxTries ?? 12
    this.slackMs = init.slackMs ?? 2 * SECOND
    this.scoreParams = init.scoreParams ?? DEFAULT_SCORE_PARAMS
    this.planParams = init.planParams ?? DEFAULT_PLAN_PARAMS
    this.attemptTimeoutFactor = init.attemptTimeoutFactor ?? 4
    this.minAttemptTimeoutMs = init.minAttemptTimeoutMs ?? 5 * SECOND
  }

  /** The ranked candidates for a kind (what `fedmesh route` shows). */
  rank (kind: string, exclude: ReadonlySet<string> = new Set(), only?: string): ScoredCandidate[] {
    const inputs = gatherCandidates(kind, this.init.selfId, this.init.executor, this.init.table(), this.init.view, only)
      .filter(c => !exclude.has(c.peerId))
    return rankCandidates(inputs, this.scoreParams)
  }

  async dispatch (req: DispatchRequest): Promise<DispatchResult> {
    const { clock } = this.init
    const deadline = clock.now() + req.timeoutMs
    const exclude = new Set<string>()
    let failures = 0
    let tries = 0
    let bounced = false
    let last: DispatchResult | undefined

    while (failures < this.maxAttempts && tries < this.maxTries) {
      const remaining = deadline - clock.now()
      if (remaining <= 0) break
      tries++
      const plan = this.plan(req, exclude, bounced)
      if (plan.mode === 'none') {
        return last ?? { outcome: failed(req.taskId, ErrorCode.KIND_NOT_SERVED, `no peer can run kind ${req.kind}: ${plan.reason}`), peer: this.init.selfId, attempts: tries - 1 }
      }
      const step = plan.mode === 'direct'
        ? await this.direct(req, plan.target, plan.maxWaitMs, remaining)
        : await this.reserve(req, plan.targets, remaining)
      last = { outcome: step.outcome, peer: step.peer, attempts: tries }
      const code = step.outcome.error
      if (step.unreachable === true) {
        // Nothing was sent: no risk, no blame; just try the next candidate.
        this.report(step.peer, 'unreachable')
        exclude.add(step.peer)
        continue
      }
      if (code === ErrorCode.NONE) {
        if (step.peer !== this.init.selfId && this.init.verify?.(req.kind, req.input, step.outcome.output) === false) {
          this.report(step.peer, 'wrong-result')
          exclude.add(step.peer)
          failures++
          continue
        }
        this.report(step.peer, 'success')
        return last
      }
      if (step.lost || (code === ErrorCode.TIMED_OUT && step.peer !== this.init.selfId && step.outcome.runMs === 0)) {
        // The peer died or never answered in time: maybe executed, retry under the same id.
        this.report(step.peer, code === ErrorCode.TIMED_OUT ? 'timeout' : 'failure')
        exclude.add(step.peer)
        failures++
        await sleep(backoffDelay(failures - 1, { minMs: 10, maxMs: 200 }, this.init.random))
        continue
      }
      if (REFUSALS.has(code)) {
        // The table was wrong about that peer: the next try binds late instead of guessing again.
        bounced = true
        const blameless = code === ErrorCode.BUSY || code === ErrorCode.CANCELLED
        this.report(step.peer, blameless ? 'refused' : 'broken-promise')
        exclude.add(step.peer)
        continue
      }
      if (INPUT_ERRORS.has(code)) return last
      // The task itself failed or ran out of time where it ran: final.
      return last
    }
    return last ?? { outcome: failed(req.taskId, ErrorCode.TIMED_OUT, `no result within ${req.timeoutMs} ms`), peer: this.init.selfId, attempts: tries }
  }

  private plan (req: DispatchRequest, exclude: Set<string>, bounced: boolean): ReturnType<typeof planDispatch> {
    const ranked = this.rank(req.kind, exclude, req.peer)
    if (req.peer != null) {
      if (ranked.length === 0) return { mode: 'none', reason: `peer ${req.peer} is not known to serve anything right now` }
      return ranked[0].eligible ? { mode: 'direct', target: ranked[0], maxWaitMs: 0 } : { mode: 'none', reason: `peer ${req.peer}: ${ranked[0].reason}` }
    }
    return planDispatch(ranked, this.init.random, this.planParams, { bounced })
  }

  private request (req: DispatchRequest, budgetMs: number, maxWaitMs: number, expectedRunMs: number): TaskRequest {
    return { taskId: req.taskId, kind: req.kind, input: req.input as Uint8Array<ArrayBuffer>, deadlineMs: Math.max(1, Math.round(budgetMs)), attempt: 1, maxWaitMs, expectedRunMs: Math.round(expectedRunMs) }
  }

  /** How long to wait for one attempt before giving up on the peer, ms. */
  private attemptTimeout (expectedMs: number, remaining: number): number {
    const patience = Math.max(this.minAttemptTimeoutMs, this.attemptTimeoutFactor * expectedMs)
    return Math.ceil(Math.min(remaining + this.slackMs, patience)) // AbortSignal.timeout takes whole ms only
  }

  private async direct (req: DispatchRequest, target: ScoredCandidate, maxWaitMs: number, remaining: number): Promise<Step> {
    if (target.local) {
      const outcome = await this.init.executor.submit({ taskId: req.taskId, kind: req.kind, input: req.input, deadlineMs: remaining, maxWaitMs, expectedRunMs: target.runMs, origin: 'local' })
      return { outcome, peer: target.peerId, lost: false }
    }
    this.init.onSent?.(target.peerId)
    // The peer gets the budget minus the way back; this node waits a little longer than that.
    const budget = Math.max(1, remaining - target.rttMs)
    try {
      const outcome = await this.init.client(target.peerId).request(this.request(req, budget, maxWaitMs, target.runMs), { signal: AbortSignal.timeout(this.attemptTimeout(target.score, remaining)) })
      return { outcome, peer: target.peerId, lost: false }
    } catch (err) {
      return { outcome: failed(req.taskId, lostCode(err), (err as Error).message), peer: target.peerId, lost: true, unreachable: err instanceof UnreachableError }
    } finally {
      this.init.onDone?.(target.peerId)
    }
  }

  /** Late binding: reserve on every target, bind the task to the first ready, cancel the rest. */
  private async reserve (req: DispatchRequest, targets: ScoredCandidate[], remaining: number): Promise<Step> {
    const startedAt = this.init.clock.now()
    const signal = AbortSignal.timeout(Math.ceil(remaining + this.slackMs))
    const placed = await Promise.all(targets.map(async t => ({ target: t, res: await this.place(req, t, signal).catch((err: Error) => err) })))
    const live = placed.filter((p): p is { target: ScoredCandidate, res: RemoteReservation } => !(p.res instanceof Error))
    for (const p of placed) {
      if (p.res instanceof UnreachableError) this.report(p.target.peerId, 'unreachable')
    }
    if (live.length === 0) {
      const first = placed[0]
      return { outcome: failed(req.taskId, ErrorCode.FAILED, (first.res as Error).message), peer: first.target.peerId, lost: true, unreachable: first.res instanceof UnreachableError }
    }
    let winner: { target: ScoredCandidate, res: RemoteReservation }
    try {
      winner = await Promise.any(live.map(async p => { await p.res.ready; return p }))
    } catch {
      // Every reservation was refused or lost: report the best target's reason.
      for (const p of live) p.res.cancel()
      const why = await live[0].res.ready.then(() => undefined, (e: any) => e)
      const outcome = why?.outcome ?? failed(req.taskId, ErrorCode.FAILED, why?.message ?? 'reservations failed')
      return { outcome, peer: live[0].target.peerId, lost: why?.outcome == null }
    }
    for (const p of live) if (p !== winner) p.res.cancel()
    if (!winner.target.local) this.init.onSent?.(winner.target.peerId)
    const left = Math.max(1, remaining - (this.init.clock.now() - startedAt) - winner.target.rttMs)
    try {
      const outcome = await winner.res.bind(this.request(req, left, 0, winner.target.runMs), { signal: AbortSignal.any([signal, AbortSignal.timeout(this.attemptTimeout(winner.target.runMs + winner.target.rttMs, left))]) })
      return { outcome, peer: winner.target.peerId, lost: false }
    } catch (err) {
      return { outcome: failed(req.taskId, lostCode(err), (err as Error).message), peer: winner.target.peerId, lost: true }
    } finally {
      if (!winner.target.local) this.init.onDone?.(winner.target.peerId)
    }
  }

  private async place (req: DispatchRequest, target: ScoredCandidate, signal: AbortSignal): Promise<RemoteReservation> {
    if (!target.local) return this.init.client(target.peerId).reserve(req.taskId, req.kind, { signal })
    const executor = this.init.executor
    const { promise: ready, resolve, reject } = Promise.withResolvers<void>()
    ready.catch(() => {})
    const res = executor.reserve(req.taskId, req.kind, resolve, () => { reject(new Error('local reservation expired')) })
    if (typeof res === 'string') throw new Error(`local reservation refused: ${res}`)
    return {
      ready,
      bind: async (request) => executor.bind(res, { taskId: request.taskId, kind: request.kind, input: request.input, deadlineMs: request.deadlineMs, origin: 'local' }),
      cancel: () => { executor.cancel(res) }
    }
  }

  private report (peerId: string, event: AttemptEvent): void {
    if (peerId !== this.init.selfId) this.init.onAttempt?.(peerId, event)
  }
}

interface Step {
  outcome: TaskOutcome
  peer: string
  /** The peer was lost or never answered: the task may or may not have run there. */
  lost: boolean
  /** The peer could not be reached: the task was never sent. */
  unreachable?: boolean
}

function lostCode (err: unknown): ErrorCode {
  const name = (err as Error)?.name
  return name === 'TimeoutError' || name === 'AbortError' ? ErrorCode.TIMED_OUT : ErrorCode.FAILED
}

function failed (taskId: string, error: ErrorCode, message: string): TaskOutcome {
  return { taskId, error, output: new Uint8Array(0), message, queuedMs: 0, runMs: 0, deduped: false }
}

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}
