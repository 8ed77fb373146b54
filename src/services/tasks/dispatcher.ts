import { backoffDelay } from '../../core/backoff.js'
import { admissionWindow } from '../../core/routing/admission.js'
import { DEFAULT_PLAN_PARAMS, planDispatch } from '../../core/routing/plan.js'
import { RankScratch, rankCandidates, rankShortlist } from '../../core/routing/ranking.js'
import { RunTimesByKind } from '../../core/routing/run-times.js'
import { DEFAULT_SCORE_PARAMS, scoreCandidate } from '../../core/routing/score.js'
import { SECOND } from '../../util/time.js'
import { deadlineOn, sleepOn, systemTimers } from '../../util/timers.js'
import { ErrorCode } from '../../wire/task.js'
import { priorityToWire } from '../../core/priority.js'
import type { Priority } from '../../core/priority.js'
import { TableCandidates } from './candidates.js'
import { INPUT_ERRORS, REFUSALS } from './task-error.js'
import type { PeerView } from './candidates.js'
import type { Executor, TaskOutcome } from './executor.js'
import { ANSWER_LATE, ONCE, ReservationRefused, UnreachableError } from './task-client.js'
import { STARTED_DELAY_MS } from './task-server.js'
import type { RemoteReservation, TaskClient } from './task-client.js'
import type { AdmissionParams } from '../../core/routing/admission.js'
import type { Plan, PlanContext, PlanParams } from '../../core/routing/plan.js'
import type { CandidateReader } from '../../core/routing/ranking.js'
import type { CandidateInput, ScoreParams, ScoredCandidate } from '../../core/routing/score.js'
import type { Clock } from '../../util/time.js'
import type { TimerHandle, Timers } from '../../util/timers.js'
import type { CapacityEntry, CapacityTable } from '../capacity/capacity-table.js'
import type { TaskRequest } from '../../wire/task.js'

/**
 * What happened on one attempt, for reputation and circuit breakers. The dispatcher reports every
 * refusal as `refused` (with its code); whether one is a `broken-promise` is judged by the task
 * service against the peer's advert (core/reputation/promise-judge.ts), never by the refusal alone.
 */
export type AttemptEvent = 'success' | 'failure' | 'timeout' | 'ignored' | 'refused' | 'broken-promise' | 'wrong-result' | 'unreachable'

/** Which refusal, for the judgement of `refused` events. */
export interface AttemptDetail {
  code: ErrorCode
  kind: string
  /** The task refused (a refusal of one task by one peer is judged once). */
  taskId: string
  /** A timeout's: when the request had surely reached the peer (sent + a round trip), clock ms. */
  reachedBy?: number
}

export interface DispatcherInit {
  selfId: string
  executor: Executor
  /** The capacity table (late-bound: services are built before they can reach each other). */
  table: () => CapacityTable
  view: PeerView
  client: (peerId: string) => TaskClient
  clock: Clock
  /** Patience, deadlines and backoff run on these. Default: the event loop's. */
  timers?: Timers
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
  /**
   * ... nor before the expected completion plus this quantile of the kind's recent run times
   * (observed in this node's results; a slot ahead may hold a long run). Default 0.95.
   */
  patienceQuantile?: number
  /**
   * An attempt past its patience stays open while the task is tried elsewhere too: a long task
   * there may still answer first, and its result counts. Default true. `false`: the slow attempt
   * is abandoned (its late answer ignored, its reservations cancelled) and the retry waits a
   * backoff first — the rule before hedging, kept to measure what hedging is worth.
   */
  hedge?: boolean
  /**
   * Hedge an attempt past its patience even when its peer said the task runs (STARTED). Default
   * false: a started attempt is waited for while its peer keeps answering (its stream fails if
   * the peer is lost), so a long task never runs twice. true: the rule before, kept to measure.
   */
  hedgeStarted?: boolean
  /**
   * A direct send that allowed its peer to queue it at most `maxWaitMs` hears from it (STARTED, a
   * result or BUSY) within about a round trip (and the dial, when not connected yet), that wait
   * and the STARTED delay, unless the peer's
   * queue ran longer than it estimated. Silence past that plus this many ms looks like a black
   * hole: the task is tried elsewhere too, binding late. The silent attempt stays open and is
   * blamed only at its patience, as before; if it starts before the other try has bound, that try
   * gives way. Default 1000; `false`: only patience hedges (the rule before).
   */
  silenceSlackMs?: number | false
  /**
   * When the task is answered, attempts still out are told to stop (CANCEL with stop: dropped if
   * queued there, stopped if running, the slot freed). Default true; false: they run on and
   * their answers are ignored (the rule before, kept to measure).
   */
  stopLosers?: boolean
  /**
   * New tasks bind late from the first try while this node's recent share of BUSY answers to
   * its predicted-free direct sends (an EWMA, weight 0.1) is above this. Default 0.5; `false`:
   * never (each task bounces once before it binds late).
   */
  reserveWhenBouncing?: number | false
  /**
   * Where a task goes, given the candidates (not excluded for this task; `readAll` makes them
   * an array), how this node scores one, and whether this task was refused before. Default:
   * `planDispatch` with `planParams` over the ranking (pruned to what it can pick). The
   * simulator's baselines (random, round-robin, power of two) plug in here.
   */
  planner?: (candidates: CandidateReader, score: (c: CandidateInput) => ScoredCandidate, random: () => number, context: PlanContext) => Plan
  /** How long a cancelled dispatch waits for its peers' answers to CANCEL, ms. Default 2 s. */
  cancelGraceMs?: number
  /** Check a result where it can be checked (the built-in kinds): false = wrong answer. */
  verify?: (kind: string, input: Uint8Array, output: Uint8Array) => boolean
  onAttempt?: (peerId: string, event: AttemptEvent, detail?: AttemptDetail) => void
  /** A task was sent to a remote peer (counts toward its load until answered). */
  onSent?: (peerId: string) => void
  /** The peer answered it (or this node gave up on it). */
  onDone?: (peerId: string) => void
  /** Where attempt `attempt` (from 1) of a task goes: events and routing metrics. */
  onPlan?: (req: DispatchRequest, plan: Plan, attempt: number) => void
}

export interface DispatchRequest {
  taskId: string
  kind: string
  input: Uint8Array
  timeoutMs: number
  /** Run only there (a peer id, or this node's own). */
  peer?: string
  /** Never there (a spot check runs away from the nodes that answered already). */
  avoid?: readonly string[]
  /** When this node accepted the task (clock ms; before a restart for a resumed task). Default: now. */
  acceptedAt?: number
  /** Queue order where it runs (interactive, normal, batch). Default normal. */
  priority?: Priority
  /**
   * The submitter cancels the task: nothing new is tried, peers are sent CANCEL (a task that has
   * not started is dropped there), and the dispatch ends within `cancelGraceMs`.
   */
  signal?: AbortSignal
}

export interface DispatchResult {
  outcome: TaskOutcome
  /** Where it ran (or last tried). */
  peer: string
  attempts: number
  /** Nothing was sent: no candidate was eligible (the outcome is KIND_NOT_SERVED with the reason). */
  unplaced?: true
  /**
   * Set when the submitter cancelled it (the outcome is then CANCELLED): `started` false when
   * every attempt confirmed it never started; true when one may still finish (on `peer`).
   */
  cancelled?: { started: boolean, peer?: string }
}

/*
 * Where rankings are built. A ranking is read at once, never across an await (plan() and rank()
 * are synchronous), so one set of arrays serves every dispatcher in the thread: nothing is
 * allocated per candidate per decision, and a process with many nodes (the simulator's
 * thousands) keeps one hot copy instead of one per node.
 */
const SHARED_ENTRIES: CapacityEntry[] = []
const SHARED_SCRATCH = new RankScratch()

/** How long a cancelled dispatch waits for peers to confirm they dropped the task, ms. */
export const DEFAULT_CANCEL_GRACE_MS = 2 * SECOND

/** Default `silenceSlackMs`. */
export const DEFAULT_SILENCE_SLACK_MS = 1000

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
  private readonly timers: Timers
  private readonly hedge: boolean
  private readonly reserveWhenBouncing: number
  private busyRate = 0
  /** Recent run times per kind (from results), for the patience of heavy-tailed kinds. */
  private readonly runTimes = new RunTimesByKind()
  private readonly patienceQuantile: number
  private readonly hedgeStarted: boolean
  private readonly silenceSlackMs: number | false
  private readonly stopLosers: boolean

  constructor (private readonly init: DispatcherInit) {
    this.maxAttempts = init.maxAttempts ?? 4
    this.maxTries = init.maxTries ?? 12
    this.slackMs = init.slackMs ?? 2 * SECOND
    this.scoreParams = init.scoreParams ?? DEFAULT_SCORE_PARAMS
    this.planParams = init.planParams ?? DEFAULT_PLAN_PARAMS
    this.attemptTimeoutFactor = init.attemptTimeoutFactor ?? 4
    this.minAttemptTimeoutMs = init.minAttemptTimeoutMs ?? 5 * SECOND
    this.timers = init.timers ?? systemTimers
    this.hedge = init.hedge ?? true
    this.patienceQuantile = init.patienceQuantile ?? 0.95
    this.hedgeStarted = init.hedgeStarted ?? false
    this.silenceSlackMs = init.silenceSlackMs ?? DEFAULT_SILENCE_SLACK_MS
    this.stopLosers = init.stopLosers ?? true
    const bouncing = init.reserveWhenBouncing ?? BUSY_RATE_RESERVE
    this.reserveWhenBouncing = bouncing === false ? Infinity : bouncing
  }

  /** The ranked candidates for a kind (what `fedmesh route` shows). */
  rank (kind: string, exclude: ReadonlySet<string> = new Set(), only?: string): ScoredCandidate[] {
    return rankCandidates(this.candidates(kind, exclude, only), this.scoreParams)
  }

  private candidates (kind: string, exclude: ReadonlySet<string>, only?: string): CandidateReader {
    // One ranking at a time (plan and rank read it synchronously): one array for the entries.
    return new TableCandidates(kind, this.init.selfId, this.init.executor, this.init.table(), this.init.view, { only, exclude, entries: SHARED_ENTRIES })
  }

  /** How many of this node's tasks of `kind` may be out at once (the admission window). */
  admissionWindow (kind: string, only?: string, params?: AdmissionParams): number {
    return admissionWindow(this.candidates(kind, NO_EXCLUSIONS, only), params)
  }

  /**
   * No node is known that could ever run `kind` (pinned to `only`): this one does not serve it
   * and no peer advertises it; or the pinned peer has no capacity entry and no connection, or
   * its last advert does not list the kind (it does not serve it, to this node). A candidate that
   * is merely ineligible now (circuit open, reputation, no slots offered) is known.
   */
  unplaceable (kind: string, only?: string): boolean {
    const { selfId, executor, table, view } = this.init
    if (only === selfId) return !executor.serves(kind)
    if (only != null) {
      const last = table().last(only)
      return last == null ? !view.connected(only) : !last.ad.kinds.includes(kind)
    }
    return !executor.serves(kind) && !table().fresh().some(e => e.ad.kinds.includes(kind))
  }

  dispatch (req: DispatchRequest): Promise<DispatchResult> {
    // Not async: the attempts' loop is the one async layer of a dispatch, and it ends the run.
    return this.attemptUntilSettled(new DispatchRun(req, this.init.clock.now() + req.timeoutMs, this.stopLosers))
  }

  /** The run is settled (and a cancelled task's attempts confirmed): end it, whatever happened. */
  private end (run: DispatchRun): void {
    const { req, inflight, blamed } = run
    // First: the losers' CANCEL goes out before `ended` gives up on the binds it ends. With
    // nothing out (most tasks: one attempt, answered) nobody listens: no abort event to build.
    if (req.signal?.aborted !== true && inflight.length > 0) run.answered?.abort(SETTLED)
    // A shared reason: abort() without one builds a DOMException (and its stack) per task.
    run.ended?.abort(SETTLED)
    // A hedged send that never answers is still reported when its own deadline passes, even
    // though the task got its answer elsewhere: that is how black holes are found out.
    for (const attempt of inflight) {
      if (blamed.includes(attempt)) continue
      attempt.then(step => {
        if (!blamed.includes(attempt) && step.lost && step.unreachable !== true && timedOutOnUs(step)) this.report(step.peer, 'timeout', silentOn(req, step.reachedBy))
      }, () => {})
    }
  }

  /** The loop's result, once the run is ended (a cancelled one after its attempts confirmed). */
  private settled (run: DispatchRun, result: DispatchResult): DispatchResult | Promise<DispatchResult> {
    if (run.req.signal?.aborted === true && result.outcome.error === ErrorCode.CANCELLED) {
      return this.settleCancelled(run.inflight, run.peers, result).then(done => {
        this.end(run)
        return done
      }, (err: unknown) => {
        this.end(run)
        throw err
      })
    }
    this.end(run)
    return result
  }

  private async attemptUntilSettled (run: DispatchRun): Promise<DispatchResult> {
    const { req, deadline, inflight, peers, blamed } = run
    // Each of the loop's results is returned through `settled` (which ends the run); a throw ends it here.
    const settled = run.answered?.signal ?? NEVER
    try {
      const { clock } = this.init
      // Peers not to try again for this task: made by the first one (most tasks never need it).
      let exclude = req.avoid == null ? undefined : new Set<string>(req.avoid)
      let failures = 0
      let tries = 0
      let bounced = this.busyRate > this.reserveWhenBouncing
      let final = false
      let last: DispatchResult | undefined
      // An attempt past its patience whose peer said the task runs (STARTED): it is not duplicated
      // while the peer keeps answering (a lost stream fails it); nothing new is tried meanwhile.
      let held: Promise<Step> | undefined
      // Set when an attempt went silent: the next race gives way if it starts after all (below).
      let yielded: GiveWay | undefined

      while (true) {
        // Cancelled: start nothing new; dispatch() waits for what is out to confirm.
        if (req.signal?.aborted === true) return this.settled(run, { outcome: failed(req.taskId, ErrorCode.CANCELLED, 'cancelled'), peer: last?.peer ?? this.init.selfId, attempts: tries })
        const remaining = deadline - clock.now()
        const waiting = held != null && inflight.includes(held)
        const mayTry = !final && !waiting && failures < this.maxAttempts && tries < this.maxTries && remaining > 0
        let sentTo: string | undefined
        let latest: Promise<Step> | undefined
        const progress: Progress = { started: false }
        let patience = Math.max(1, Math.ceil(remaining + this.slackMs))
        // Without hedging, an attempt past its patience is stopped through this.
        let abandon: AbortController | undefined
        // When a direct send's silence says more than its patience would (see silenceSlackMs).
        let silence: number | undefined
        if (mayTry) {
          tries++
          const plan = this.plan(req, exclude ?? NO_EXCLUSIONS, bounced)
          this.init.onPlan?.(req, plan, tries)
          if (plan.mode === 'none') {
            if (inflight.length === 0) {
              return this.settled(run, last ?? { outcome: failed(req.taskId, ErrorCode.KIND_NOT_SERVED, `no peer can run kind ${req.kind}: ${plan.reason}`), peer: this.init.selfId, attempts: tries - 1, unplaced: true })
            }
          } else {
            const expected = plan.mode === 'direct' ? plan.target.score : Math.min(...plan.targets.map(t => t.score))
            abandon = this.hedge ? undefined : new AbortController()
            const attempt = plan.mode === 'direct'
              ? this.direct(req, plan.target, plan.maxWaitMs, remaining, settled, progress, abandon?.signal)
              : this.reserve(req, plan.targets, remaining, raceEnd(run.endedSignal(), yielded, progress, abandon), settled, progress)
            inflight.push(attempt)
            if (yielded?.race === progress) yielded.attempt ??= attempt
            if (plan.mode === 'direct') peers?.set(attempt, plan.target.peerId)
            latest = attempt
            // A direct send has one peer to judge for slowness; a reservation race has none yet.
            sentTo = plan.mode === 'direct' && !plan.target.local ? plan.target.peerId : undefined
            if (!(plan.mode === 'direct' && plan.target.local)) patience = this.attemptTimeout(req.kind, expected, remaining)
            if (plan.mode === 'direct') silence = this.silenceFor(plan.target, plan.maxWaitMs, patience)
          }
        }
        if (inflight.length === 0) break
        let next = await firstSettled(inflight, silence ?? patience, this.timers, req.signal)
        if (next === 'timeout' && silence !== undefined && mayTry) {
          if (!progress.started && latest != null) {
            // Silent past every honest answer's time: try elsewhere too, binding late (the table
            // was wrong about it). Not blamed now: a queue longer than its peer estimated is
            // silent too; its patience judges it. If it starts before the next try binds, that
            // try gives way and the task waits for it (a started attempt is not duplicated).
            bounced = true
            if (sentTo != null) exclude = excluding(exclude, sentTo)
            const silent = latest
            const giving: GiveWay = { gaveWay: new AbortController() }
            yielded = giving
            progress.onStart = () => {
              if (this.hedgeStarted) return
              held = silent
              // Once bound, the other try runs too: the first answer stops the other (losers).
              if (giving.race?.bound !== true) giving.gaveWay.abort(SETTLED)
            }
            if (sentTo != null) this.blameAtPatience(silent, sentTo, progress, patience - silence, blamed, req)
            continue
          }
          next = await firstSettled(inflight, patience - silence, this.timers, req.signal)
        }
        if (next === 'cancelled') continue
        if (next === 'timeout') {
          // Past the task's deadline: nothing more to wait for.
          if (!mayTry) break
          // Started there and the peer still answers: slow, not lost. Wait for it (no duplicate).
          if (this.hedge && !this.hedgeStarted && progress.started && latest != null) {
            held = latest
            continue
          }
          // Slower than expected: try elsewhere too; the slow attempt stays open and its answer
          // counts if it comes first. A peer that said the task runs is just slow (run times vary
          // with input): no blame. One that never even started it (a black hole, or a peer far
          // more loaded than it said) is blamed now.
          failures++
          if (sentTo != null) {
            exclude = excluding(exclude, sentTo)
            if (!progress.started && latest != null) {
              this.report(sentTo, 'timeout', silentOn(req, progress.reachedBy))
              blamed.push(latest)
            }
          }
          if (!this.hedge && latest != null) {
            // Not hedging: the slow attempt is given up (its answer no longer counts), then a backoff.
            removeFrom(inflight, latest)
            abandon?.abort()
            await sleepOn(this.timers, backoffDelay(failures - 1, { minMs: 10, maxMs: 200 }, this.init.random))
          }
          continue
        }
        removeFrom(inflight, next.attempt)
        // A race that gave way to a silent attempt that started after all: wait for that one.
        if (yielded?.attempt === next.attempt && yielded.gaveWay.signal.aborted && next.step.outcome.error === ErrorCode.CANCELLED && !settled.aborted) continue
        const step = next.step
        last = { outcome: step.outcome, peer: step.peer, attempts: tries }
        const code = step.outcome.error
        if (step.unreachable === true) {
          // Nothing was sent: no risk, no blame; just try the next candidate.
          if (step.reported !== true) this.report(step.peer, 'unreachable')
          exclude = excluding(exclude, step.peer)
          continue
        }
        if (code === ErrorCode.NONE) {
          this.runTimes.add(req.kind, step.outcome.runMs)
          if (step.peer !== this.init.selfId && this.init.verify?.(req.kind, req.input, step.outcome.output) === false) {
            this.report(step.peer, 'wrong-result')
            exclude = excluding(exclude, step.peer)
            failures++
            continue
          }
          this.report(step.peer, 'success')
          return this.settled(run, last)
        }
        if (step.lost || (code === ErrorCode.TIMED_OUT && step.peer !== this.init.selfId && step.outcome.runMs === 0)) {
          // The peer died or never answered in time: maybe executed, retry under the same id.
          // A peer that ran the task past its deadline is not blamed (see timedOutOnUs).
          const blame = code !== ErrorCode.TIMED_OUT ? 'failure' : timedOutOnUs(step) ? 'timeout' : undefined
          if (!blamed.includes(next.attempt) && blame != null) this.report(step.peer, blame, blame === 'timeout' ? silentOn(req, step.reachedBy) : undefined)
          exclude = excluding(exclude, step.peer)
          failures++
          await sleepOn(this.timers, backoffDelay(failures - 1, { minMs: 10, maxMs: 200 }, this.init.random))
          continue
        }
        if (code === ErrorCode.INTERRUPTED) {
          // That peer started this id before and never runs it twice: another may (same id). Truthful: no blame.
          exclude = excluding(exclude, step.peer)
          continue
        }
        if (REFUSALS.has(code)) {
          // The table was wrong about that peer: the next try binds late instead of guessing again.
          bounced = true
          // A refusal is a truthful answer; the task service judges it against the peer's advert.
          if (step.reported !== true) this.report(step.peer, 'refused', { code, kind: req.kind, taskId: req.taskId })
          exclude = excluding(exclude, step.peer)
          continue
        }
        // An input error, or the task itself failed where it ran: final. A hedge still running may
        // yet succeed, so wait for those, but start nothing new.
        if (inflight.length === 0 || INPUT_ERRORS.has(code)) return this.settled(run, last)
        final = true
      }
      return this.settled(run, last ?? { outcome: failed(req.taskId, ErrorCode.TIMED_OUT, `no result within ${req.timeoutMs} ms`), peer: this.init.selfId, attempts: tries })
    } catch (err) {
      this.end(run)
      throw err
    }
  }

  private plan (req: DispatchRequest, exclude: ReadonlySet<string>, bounced: boolean): Plan {
    if (req.peer != null) {
      const ranked = this.rank(req.kind, exclude, req.peer)
      if (ranked.length === 0) return { mode: 'none', reason: `peer ${req.peer} is not known to serve anything right now` }
      return ranked[0].eligible ? { mode: 'direct', target: ranked[0], maxWaitMs: 0 } : { mode: 'none', reason: `peer ${req.peer}: ${ranked[0].reason}` }
    }
    const inputs = this.candidates(req.kind, exclude)
    const planner = this.init.planner
    if (planner != null) {
      return planner(inputs, (c) => scoreCandidate(c, this.scoreParams), this.init.random, { bounced })
    }
    return planDispatch(rankShortlist(inputs, this.scoreParams, { plan: this.planParams, bounced }, SHARED_SCRATCH), this.init.random, this.planParams, { bounced })
  }

  private request (req: DispatchRequest, budgetMs: number, maxWaitMs: number, expectedRunMs: number): TaskRequest {
    return { taskId: req.taskId, kind: req.kind, input: req.input as Uint8Array<ArrayBuffer>, deadlineMs: Math.max(1, Math.round(budgetMs)), attempt: 1, maxWaitMs, expectedRunMs: Math.round(expectedRunMs), ageMs: this.ageOf(req), priority: priorityToWire(req.priority) }
  }

  /** How long ago the task was accepted, ms (the wire's age_ms: a uint32). */
  private ageOf (req: DispatchRequest): number {
    return req.acceptedAt == null ? 0 : Math.min(MAX_AGE_MS, Math.max(0, Math.round(this.init.clock.now() - req.acceptedAt)))
  }

  /** How long to wait for one attempt to start before trying elsewhere too, ms. */
  private attemptTimeout (kind: string, expectedMs: number, remaining: number): number {
    const longRun = this.runTimes.quantile(kind, this.patienceQuantile) ?? 0
    const patience = Math.max(this.minAttemptTimeoutMs, this.attemptTimeoutFactor * expectedMs, expectedMs + longRun)
    return Math.ceil(Math.min(remaining + this.slackMs, patience)) // timeout signals take whole ms only
  }

  /** When a direct send to `target` is silent for longer than an honest peer would be, ms (undefined: no such time before its patience). */
  private silenceFor (target: ScoredCandidate, maxWaitMs: number, patience: number): number | undefined {
    if (this.silenceSlackMs === false || !this.hedge || target.local || maxWaitMs <= 0) return undefined
    // Not connected yet: the dial (its round trips and handshake, as the score counts it) comes first.
    const silence = Math.ceil(2 * target.rttMs + target.dialMs + maxWaitMs + STARTED_DELAY_MS + this.silenceSlackMs)
    return silence < patience ? silence : undefined
  }

  /**
   * A silent attempt tried elsewhere at its silence is still judged at its patience, as before
   * the silence rule: not started and not answered by then, it is blamed (once) for sitting on
   * the task. An answer (a CANCEL's too) or a STARTED before then clears it.
   */
  private blameAtPatience (attempt: Promise<Step>, peer: string, progress: Progress, afterMs: number, blamed: Array<Promise<Step>>, req: DispatchRequest): void {
    const timer = this.timers.setTimeout(() => {
      if (progress.started || blamed.includes(attempt)) return
      blamed.push(attempt)
      this.report(peer, 'timeout', silentOn(req, progress.reachedBy))
    }, Math.max(1, afterMs))
    const clear = (): void => { this.timers.clearTimeout(timer) }
    attempt.then(clear, clear)
  }

  private direct (req: DispatchRequest, target: ScoredCandidate, maxWaitMs: number, remaining: number, ended: AbortSignal, progress: Progress = { started: false }, abandon?: AbortSignal): Promise<Step> {
    if (target.local) return this.directHere(req, target, maxWaitMs, remaining, ended)
    const peer = target.peerId
    this.init.onSent?.(peer)
    progress.reachedBy = this.init.clock.now() + target.rttMs
    // The peer gets the budget minus the way back; this node waits a little longer than that.
    const budget = Math.max(1, remaining - target.rttMs)
    // Our own deadline for the answer: the request's own timer; with a give-up without hedging
    // (`abandon`), a signal that either ends, cleared when the answer comes.
    const answerMs = Math.ceil(remaining + this.slackMs)
    const late = abandon == null ? undefined : deadlineOn(this.timers, answerMs, ANSWER_LATE, abandon)
    let answer: Promise<TaskOutcome>
    try {
      answer = this.init.client(peer).request(this.request(req, budget, maxWaitMs, target.runMs), {
        signal: late?.signal,
        timeoutMs: late == null ? answerMs : undefined,
        cancel: req.signal,
        // Answered elsewhere (a hedge won): stop it there, queued or running.
        stop: ended === NEVER ? undefined : ended,
        onStarted: () => {
          progress.started = true
          progress.onStart?.()
        }
      })
    } catch (err) {
      answer = Promise.reject(err)
    }
    // Not async: the step is the answer's one reaction (this runs once per task at least).
    return answer.then(outcome => {
      if (maxWaitMs > 0) this.noteDirect(outcome.error === ErrorCode.BUSY)
      late?.clear()
      this.init.onDone?.(peer)
      return { outcome, peer, lost: false }
    }, (err: unknown) => {
      late?.clear()
      this.init.onDone?.(peer)
      return { outcome: failed(req.taskId, lostCode(err), (err as Error).message), peer, lost: true, unreachable: err instanceof UnreachableError, started: progress.started, reachedBy: progress.reachedBy }
    })
  }

  /** `direct` to this node's own executor. */
  private async directHere (req: DispatchRequest, target: ScoredCandidate, maxWaitMs: number, remaining: number, ended: AbortSignal): Promise<Step> {
    const outcome = await this.cancellableHere(req, ended, async () => this.init.executor.submit({ taskId: req.taskId, kind: req.kind, input: req.input, deadlineMs: remaining, maxWaitMs, expectedRunMs: target.runMs, ageMs: this.ageOf(req), origin: 'local', priority: req.priority }))
    return { outcome, peer: target.peerId, lost: false }
  }

  /**
   * Late binding: reserve on every target, bind the task to the first that is READY (as READYs
   * arrive: a slow placement must not keep a READY slot idle), cancel every other reservation,
   * including ones placed after the winner was chosen.
   */
  private async reserve (req: DispatchRequest, targets: ScoredCandidate[], remaining: number, ended: AbortSignal, settled: AbortSignal, progress: Progress): Promise<Step> {
    // The race ends at the task's deadline, or when another (hedged) attempt already answered.
    const late = deadlineOn(this.timers, Math.ceil(remaining + this.slackMs), ANSWER_LATE, ended)
    try {
      return await this.race(req, targets, remaining, late.signal, ended, settled, progress)
    } finally {
      late.clear()
    }
  }

  /** `reserve` within `signal` (see there). */
  private async race (req: DispatchRequest, targets: ScoredCandidate[], remaining: number, signal: AbortSignal, ended: AbortSignal, settled: AbortSignal, progress: Progress): Promise<Step> {
    const startedAt = this.init.clock.now()
    const placements = targets.map(target => {
      const placed = this.place(req, target, signal, settled)
      placed.catch((err: Error) => { if (err instanceof UnreachableError) this.report(target.peerId, 'unreachable') })
      // A refused reservation is reported as it arrives (the race goes on without it); an
      // expiry (CANCELLED) is this node's own slowness, not the peer's refusal.
      placed.then(async res => res.ready).catch((err: unknown) => {
        const code = (err as ReservationRefused)?.outcome?.error
        if (code === ErrorCode.QUEUE_FULL || code === ErrorCode.KIND_NOT_SERVED || code === ErrorCode.BUSY) this.report(target.peerId, 'refused', { code, kind: req.kind, taskId: req.taskId })
      })
      return { target, placed }
    })
    let winner: { target: ScoredCandidate, res: RemoteReservation }
    try {
      winner = await raceAbortable(Promise.any(placements.map(async p => {
        const res = await p.placed
        await res.ready
        return { target: p.target, res }
      })), req.signal == null ? signal : AbortSignal.any([signal, req.signal]))
    } catch (err) {
      for (const p of placements) p.placed.then(res => { res.cancel() }, () => {})
      // The task was answered elsewhere while this race ran, or cancelled before it was bound: nobody to blame.
      if (ended.aborted || req.signal?.aborted === true) return { outcome: failed(req.taskId, ErrorCode.CANCELLED, ended.aborted ? 'answered elsewhere' : 'cancelled before it was bound to a peer'), peer: placements[0].target.peerId, lost: false, reported: true }
      // Every reservation was refused, lost or unplaceable: report the best target's reason.
      // (cancel() above settles every `ready`, so this cannot hang.)
      const why = await placements[0].placed.then(async res => res.ready.then(() => undefined, (e: any) => e), (e: any) => e)
      const outcome = why?.outcome ?? failed(req.taskId, signal.aborted ? ErrorCode.TIMED_OUT : ErrorCode.FAILED, why?.message ?? (err as Error).message ?? 'reservations failed')
      // Refusals and unreachable placements were reported as they happened.
      return { outcome, peer: placements[0].target.peerId, lost: why?.outcome == null, unreachable: why instanceof UnreachableError, reported: true }
    }
    progress.bound = true
    // Every other reservation goes, including ones placed only after this decision.
    for (const p of placements) p.placed.then(res => { if (res !== winner.res) res.cancel() }, () => {})
    if (!winner.target.local) this.init.onSent?.(winner.target.peerId)
    const left = Math.max(1, remaining - (this.init.clock.now() - startedAt) - winner.target.rttMs)
    try {
      const outcome = await winner.res.bind(this.request(req, left, 0, winner.target.runMs), { signal, cancel: req.signal, stop: settled, onStarted: () => { progress.started = true } })
      return { outcome, peer: winner.target.peerId, lost: false }
    } catch (err) {
      return { outcome: failed(req.taskId, lostCode(err), (err as Error).message), peer: winner.target.peerId, lost: true }
    } finally {
      if (!winner.target.local) this.init.onDone?.(winner.target.peerId)
    }
  }

  /** Recent share of direct sends refused BUSY: above one half, new tasks bind late at once. */
  private noteDirect (busy: boolean): void {
    this.busyRate += BUSY_RATE_ALPHA * ((busy ? 1 : 0) - this.busyRate)
  }

  private async place (req: DispatchRequest, target: ScoredCandidate, signal: AbortSignal, settled: AbortSignal): Promise<RemoteReservation> {
    if (!target.local) return this.init.client(target.peerId).reserve(req.taskId, req.kind, { signal, priority: req.priority })
    const executor = this.init.executor
    const { promise: ready, resolve, reject } = Promise.withResolvers<void>()
    ready.catch(() => {})
    const res = executor.reserve(req.taskId, req.kind, resolve, () => { reject(new Error('local reservation expired')) }, 'local', req.priority)
    if (typeof res === 'string') throw new Error(`local reservation refused: ${res}`)
    return {
      ready,
      bind: async (request) => this.cancellableHere(req, settled, async () => executor.bind(res, { taskId: request.taskId, kind: request.kind, input: request.input, deadlineMs: request.deadlineMs, ageMs: request.ageMs, origin: 'local', priority: req.priority })),
      cancel: () => {
        executor.cancel(res)
        reject(new Error('local reservation cancelled'))
      }
    }
  }

  /**
   * Run work on this node's executor; a cancel drops the task there while it still waits in the
   * queue; an answer from elsewhere (`settled`) drops it or stops it running.
   */
  private async cancellableHere (req: DispatchRequest, settled: AbortSignal, work: () => Promise<TaskOutcome>): Promise<TaskOutcome> {
    const executor = this.init.executor
    const drop = (): void => { executor.cancelQueued(req.taskId, 'local') }
    const stop = (): void => { if (!executor.cancelQueued(req.taskId, 'local')) executor.stopRunning(req.taskId, 'local') }
    const outcome = work()
    if (req.signal?.aborted === true) drop()
    else req.signal?.addEventListener('abort', drop, { once: true })
    settled.addEventListener('abort', stop, { once: true })
    try {
      return await outcome
    } finally {
      req.signal?.removeEventListener('abort', drop)
      settled.removeEventListener('abort', stop)
    }
  }

  /**
   * A cancelled dispatch: wait (a little) for the attempts still out to answer their CANCEL. One
   * that succeeded meanwhile is the task's result; one that did not answer may still finish.
   */
  private async settleCancelled (inflight: Array<Promise<Step>>, peers: Map<Promise<Step>, string> | undefined, last: DispatchResult): Promise<DispatchResult> {
    const graceMs = this.init.cancelGraceMs ?? DEFAULT_CANCEL_GRACE_MS
    const pending = [...inflight]
    const deadline = this.init.clock.now() + graceMs
    let stillOut = false
    while (pending.length > 0) {
      const next = await firstSettled(pending, Math.max(1, deadline - this.init.clock.now()), this.timers)
      if (next === 'timeout' || next === 'cancelled') {
        stillOut = true
        break
      }
      removeFrom(pending, next.attempt)
      removeFrom(inflight, next.attempt)
      if (next.step.outcome.error === ErrorCode.NONE) {
        this.report(next.step.peer, 'success')
        return { outcome: next.step.outcome, peer: next.step.peer, attempts: last.attempts }
      }
      // Dropped (CANCELLED) or failed there: it does not run there any more.
    }
    if (!stillOut) return { outcome: failed(last.outcome.taskId, ErrorCode.CANCELLED, 'cancelled before it started'), peer: last.peer, attempts: last.attempts, cancelled: { started: false } }
    const peer = pending.map(a => peers?.get(a)).find(p => p != null)
    const message = `cancelled, but ${peer == null ? 'the peer it was bound to' : peer === this.init.selfId ? 'this node' : `peer ${peer}`} had started it or did not confirm dropping it: it may still finish there`
    return { outcome: failed(last.outcome.taskId, ErrorCode.CANCELLED, message), peer: peer ?? last.peer, attempts: last.attempts, cancelled: { started: true, ...(peer != null ? { peer } : {}) } }
  }

  private report (peerId: string, event: AttemptEvent, detail?: AttemptDetail): void {
    if (peerId !== this.init.selfId) this.init.onAttempt?.(peerId, event, detail)
  }
}

/** One dispatch: what its attempts' loop and its end share. */
class DispatchRun {
  /**
   * Attempts given up on for slowness stay open (hedging): a long task there may still answer
   * first, and its result counts. Only the task's own deadline ends them.
   */
  readonly inflight: Array<Promise<Step>> = []
  /** Attempts already blamed for sitting on the task: their end is not reported again. */
  readonly blamed: Array<Promise<Step>> = []
  /**
   * Where each direct attempt went: a cancelled dispatch says where the task may still finish
   * (the run's own map, made when it can be cancelled: one WeakMap for all would keep every
   * task's attempt in its table until a full GC, a table every scavenge walks).
   */
  readonly peers: Map<Promise<Step>, string> | undefined
  /**
   * Once the task is answered, attempts still out are stopped there (not when the submitter
   * cancelled it: a cancel stops nothing that runs). A task pinned to one peer never has two
   * attempts out (each retry excludes the peer tried, and no other may take it): there is no
   * loser to stop, and no signal is made or listened to.
   */
  readonly answered: AbortController | undefined
  /**
   * When the task is settled, hedged reservation races still running stop (no slot is bound for
   * work that already has its answer). Made by the first reservation race: a task sent straight
   * to one peer (most) never needs it.
   */
  ended: AbortController | undefined

  constructor (readonly req: DispatchRequest, readonly deadline: number, stopLosers: boolean) {
    this.peers = req.signal == null ? undefined : new Map()
    this.answered = stopLosers && req.peer == null ? new AbortController() : undefined
  }

  endedSignal (): AbortSignal {
    return (this.ended ??= new AbortController()).signal
  }
}

/** Why a settled task's remaining races stop (one instance: a DOMException per task costs, and nobody reads more than its name). */
const SETTLED = new DOMException('the task was settled', 'AbortError')

/** No peer excluded. */
const NO_EXCLUSIONS: ReadonlySet<string> = new Set()

/** A signal that never fires (nothing to stop). */
const NEVER = new AbortController().signal

/** The largest age_ms the wire carries (a uint32, about 49 days). */
const MAX_AGE_MS = 0xffff_ffff

/** Weight of one direct send in the BUSY rate, and the rate above which tasks bind late at once. */
const BUSY_RATE_ALPHA = 0.1
const BUSY_RATE_RESERVE = 0.5

/**
 * The first attempt to settle, 'timeout' after `ms`, or 'cancelled' when `signal` aborts first.
 * One promise and one reaction per attempt (no race of wrappers): it runs once per task at least.
 */
function firstSettled (inflight: ReadonlyArray<Promise<Step>>, ms: number, timers: Timers, signal?: AbortSignal): Promise<Settled> {
  if (signal?.aborted === true) return Promise.resolve('cancelled')
  const { promise, resolve, reject } = Promise.withResolvers<Settled>()
  const wait = new FirstSettled(timers, signal, resolve, reject, ms)
  for (const attempt of inflight) wait.watch(attempt)
  return promise
}

/**
 * `firstSettled`'s wait: one object that is also the abort listener (`handleEvent`), where
 * closures for the end and the abort and an options literal were made per wait. (Node wraps an
 * object listener in a function of its own: the listener still costs one.)
 */
class FirstSettled {
  private done = false
  private readonly timer: TimerHandle

  constructor (private readonly timers: Timers, private readonly signal: AbortSignal | undefined, private readonly resolve: (s: Settled) => void, private readonly reject: (err: unknown) => void, ms: number) {
    this.timer = timers.setTimeout(() => { if (this.end()) resolve('timeout') }, ms)
    signal?.addEventListener('abort', this, ONCE)
  }

  /** The signal aborted. */
  handleEvent (): void {
    if (this.end()) this.resolve('cancelled')
  }

  watch (attempt: Promise<Step>): void {
    attempt.then(step => { if (this.end()) this.resolve({ attempt, step }) }, (err: unknown) => { if (this.end()) this.reject(err) })
  }

  private end (): boolean {
    if (this.done) return false
    this.done = true
    this.timers.clearTimeout(this.timer)
    this.signal?.removeEventListener('abort', this)
    return true
  }
}

/** `exclude` with `peer` in it (made on the first peer excluded). */
function excluding (exclude: Set<string> | undefined, peer: string): Set<string> {
  const set = exclude ?? new Set<string>()
  set.add(peer)
  return set
}

/** Take `item` out of a short list (attempts of one task: a few at most). */
function removeFrom<T> (list: T[], item: T): void {
  const i = list.indexOf(item)
  if (i >= 0) list.splice(i, 1)
}

type Settled = { attempt: Promise<Step>, step: Step } | 'timeout' | 'cancelled'

async function raceAbortable<T> (p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    // Nobody waits for `p` now: its rejection (every reservation cancelled) is expected, not unhandled.
    p.catch(() => {})
    throw signal.reason
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(resolve, reject).finally(() => { signal.removeEventListener('abort', onAbort) })
  })
}

/** A silent attempt's claim on the task: the reservation race tried after it gives way if it starts first. */
interface GiveWay {
  gaveWay: AbortController
  /** The race tried after the silence (the first one), and its attempt. */
  race?: Progress
  attempt?: Promise<Step>
}

/**
 * What ends a reservation race early: the task settled; a silent attempt that started after all,
 * for the race tried after its silence (it binds nowhere: the task is not sent to a second peer
 * once one runs it); a give-up without hedging.
 */
function raceEnd (settled: AbortSignal, yielded: GiveWay | undefined, progress: Progress, abandon: AbortController | undefined): AbortSignal {
  if (yielded == null && abandon == null) return settled
  const signals = [settled]
  // Given way already: that attempt started, and a race tried now comes after it ended (lost or
  // failed): the old give-way must not end this one at once.
  if (yielded != null && !yielded.gaveWay.signal.aborted) {
    yielded.race ??= progress
    signals.push(yielded.gaveWay.signal)
  }
  if (abandon != null) signals.push(abandon.signal)
  return AbortSignal.any(signals)
}

/** What an attempt heard: STARTED (and who wants to know when it does). */
interface Progress {
  started: boolean
  /** A direct send's: when the request had surely reached the peer (sent + a round trip). */
  reachedBy?: number
  /** A reservation race chose where the task runs. */
  bound?: boolean
  onStart?: () => void
}

interface Step {
  outcome: TaskOutcome
  peer: string
  /** The peer was lost or never answered: the task may or may not have run there. */
  lost: boolean
  /** The peer could not be reached: the task was never sent. */
  unreachable?: boolean
  /** The attempt already reported what it found (no second report). */
  reported?: boolean
  /** The peer said the task started: at the deadline it was running it (slow, not absent). */
  started?: boolean
  /** A direct send's: when the request had surely reached the peer (judges a timeout: attempt-reports.ts). */
  reachedBy?: number
}

/**
 * Does this step's end blame its peer for a timeout? Not when the peer said the task runs: run
 * times vary with input and the budget is the submitter's, so only a peer that sat on the task
 * without starting it (a black hole, or one far more loaded than it said) is charged.
 */
/** A timeout's detail: enough for the reports to tell a peer that sat on the task while up (attempt-reports.ts). */
function silentOn (req: DispatchRequest, reachedBy: number | undefined): AttemptDetail {
  return { code: ErrorCode.TIMED_OUT, kind: req.kind, taskId: req.taskId, reachedBy }
}

function timedOutOnUs (step: Step): boolean {
  return step.outcome.error === ErrorCode.TIMED_OUT && step.started !== true
}

function lostCode (err: unknown): ErrorCode {
  const name = (err as Error)?.name
  return name === 'TimeoutError' || name === 'AbortError' ? ErrorCode.TIMED_OUT : ErrorCode.FAILED
}

function failed (taskId: string, error: ErrorCode, message: string): TaskOutcome {
  return { taskId, error, output: new Uint8Array(0), message, queuedMs: 0, runMs: 0, deduped: false }
}
