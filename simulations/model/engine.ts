/**
 * The model-mode simulator: one policy replaying a world's task trace in virtual time.
 *
 * Each node has an executor (executor.ts), publishes capacity adverts every `adIntervalMs`
 * (ads.ts), and dispatches its own tasks as `services/tasks/dispatcher.ts` (f05da5e) does, pass
 * by pass of its `while (true)`: ask the policy for a plan (bound late from the first try while
 * the node's BUSY rate is above one half), start the attempt, then wait for the first open
 * attempt to settle or for the new one's patience, min(budget + slack, max(5 s, 4 x expected
 * completion)). An attempt past its patience is hedged without blame: the task is tried
 * elsewhere, the slow attempt stays open and its correct result wins if it comes first; if it
 * never answers, its own deadline (budget + slack) reports `timeout`, which trips the breaker,
 * but only while the task still waits for it. After a final error (the task failed where it
 * ran) with hedges open, nothing new starts. A direct send may bounce BUSY; a reservation race
 * binds the first READY as it arrives and cancels every other reservation, including ones
 * placed later, and reports each placement refused QUEUE_FULL as a broken promise as the
 * refusal arrives; races still open when their task settles are cancelled. Every message pays
 * its link's one-way latency. A lost peer is retried elsewhere after a backoff (at most
 * `maxAttempts` failures, `maxTries` tries in all), refusals move on at once, a wrong answer is
 * caught by verification and retried. Outcomes feed the node's `ReputationLedger` and
 * `CircuitBreakers` as task-service.ts does (fedmesh only: the baselines ignore both).
 * SHUTTING_DOWN refusals (blameless in the code) do not occur: model peers crash, they do not
 * drain; task ids are unique across origins, so per-(origin, id) dedupe is per-id dedupe here.
 *
 * Faults come from the world: churned peers crash (losing their queue and running work; their
 * own tasks resume from the journal on restart, with a fresh budget, as the task service does),
 * partitions drop messages across the cut, and malicious peers lie, black-hole or answer wrong.
 */
import { backoffDelay } from '../../src/core/backoff.js'
import { DEFAULT_BREAKER_PARAMS, CircuitBreakers } from '../../src/core/routing/circuit-breaker.js'
import { DEFAULT_PLAN_PARAMS } from '../../src/core/routing/plan.js'
import { ReputationAction, ReputationLedger } from '../../src/core/reputation/index.js'
import { DEFAULT_SCORE_PARAMS } from '../../src/core/routing/score.js'
import { DEFAULT_LIVENESS_MS, RECOMMENDED_TICK_MS } from '../../src/core/connectivity.js'
import { AdRing, EXPIRY_INTERVALS } from './ads.js'
import { SimExecutor } from './executor.js'
import { EventQueue } from './heap.js'
import { ModeTracker } from './mode-tracker.js'
import { ReputationTracker } from './reputation-tracker.js'
import { BLACKHOLE, HONEST, LIAR, WRONG, isUp } from './world.js'
import type { BreakerParams } from '../../src/core/routing/circuit-breaker.js'
import type { PlanParams } from '../../src/core/routing/plan.js'
import type { ScoreParams } from '../../src/core/routing/score.js'
import type { Rng } from '../prng.js'
import type { VisibleAd } from './ads.js'
import type { ExecutorHooks, ReservationItem, WorkItem } from './executor.js'
import type { ModeTimeline } from './mode-tracker.js'
import type { DecisionContext, Policy, SimPlan } from './policies.js'
import type { ReputationSeries } from './reputation-tracker.js'
import type { World } from './world.js'
import type { AttemptEvent } from '../../src/services/tasks/dispatcher.js'

/**
 * The dispatcher's rules as of f05da5e are the default (each default below is the code);
 * switching one to its other value shows what it is worth, and the values marked 68dbbe5 give
 * back the dispatcher the model was aligned with before (the `68dbbe5` variants set them all).
 */
export interface SimRules {
  /**
   * Hedged attempts (the code): an attempt slower than its patience is tried elsewhere too, but
   * the slow attempt stays open and its correct result wins if it comes first. `false`: the slow
   * attempt is abandoned (its late answer ignored, its unbound reservations cancelled, a backoff
   * before the retry), as before 68dbbe5.
   */
  hedge?: boolean
  /**
   * Blame at the patience mark. The code: `'unstarted'`: the executor sends a STARTED frame when
   * a task leaves its queue; at the patience mark a direct send's peer is reported `timeout`
   * (plus `broken-promise` when the send was predicted free) only if it has not said the task
   * started: black holes are blamed at once, an honest peer running a long task is not.
   * `false` (c6f8391): no blame at the patience mark; `'timeout'` (before 68dbbe5); `'broken-promise'`
   * (68dbbe5): blame whether started or not.
   */
  blameOnPatience?: false | 'timeout' | 'broken-promise' | 'unstarted'
  /**
   * Late binding while bouncing (the code: 0.5): the node keeps an EWMA (weight 0.1) of BUSY
   * answers to its predicted-free direct sends; above this, new tasks are planned as after a
   * bounce from the first try. `false`: never.
   */
  reserveWhenBouncing?: number | false
  /** A `timeout` trips the peer's breaker at once (the code). `false`: it counts toward the threshold like a failure. */
  tripOnTimeout?: boolean
  /**
   * After a final error (the task failed where it ran) while hedged attempts are still open, no
   * new attempt starts; the loop only waits for those (the code, c6f8391). `false` (68dbbe5):
   * it goes on trying elsewhere.
   */
  stopAfterFinal?: boolean
  /**
   * Inside a reservation race, every placement refused QUEUE_FULL (or KIND_NOT_SERVED) is
   * reported `broken-promise` as the refusal arrives, whoever wins the race; the loop reports
   * no refusal of a race a second time (the code, f05da5e). `false` (68dbbe5): a race that
   * another target wins blames nobody, and one where every placement failed blames only the
   * best target, through the loop.
   */
  blameRefusedReservations?: boolean
  /**
   * When a task settles, the reservation races it still has open are cancelled: no slot is bound
   * for work that already has its answer (the code, f05da5e). `false` (68dbbe5): a hedged race
   * keeps going and binds its first READY: the task runs again for nothing (`bound-after-done`).
   */
  cancelOnFinish?: boolean
  /**
   * In the code (dispatcher.ts dispatch(): the finally block): a direct send still open when its
   * task settles keeps being watched, and if its own deadline passes without an answer that is
   * reported (`timeout`) then, so a black hole passed by a hedge that won is still found out.
   */
  reportAfterSettle?: boolean
  /**
   * Not in the code (a prototype of shared evidence): a node that moves a peer into `avoid`
   * announces it mesh-wide (arrives 250 ms later); each receiver counts each (reporter, target)
   * once, as -11 (two reports: avoid), and only from a reporter it scores at least this value.
   * Malicious peers announce a random honest peer every 10 s (the attack on the mechanism).
   * `false` (the code): reputation stays each node's own.
   */
  hearsay?: false | number
}

/** SimRules as in the code. */
export const CODE_RULES: Required<SimRules> = {
  hedge: true,
  blameOnPatience: 'unstarted',
  reserveWhenBouncing: 0.5,
  tripOnTimeout: true,
  stopAfterFinal: true,
  blameRefusedReservations: true,
  cancelOnFinish: true,
  reportAfterSettle: true,
  hearsay: false
}

/** SimRules of the dispatcher of 68dbbe5 (what the model mirrored before f05da5e). */
export const RULES_68DBBE5: Required<SimRules> = {
  ...CODE_RULES,
  blameOnPatience: 'broken-promise',
  stopAfterFinal: false,
  blameRefusedReservations: false,
  cancelOnFinish: false,
  reportAfterSettle: false
}

/** How an attempt ended, as the dispatcher sees it ('timeout': its own abort signal fired, TIMED_OUT). */
type Code = 'ok' | 'busy' | 'full' | 'queue-timeout' | 'run-timeout' | 'lost' | 'timeout'

/** Time for a node to notice a silently dead link: liveness plus one tick (connectivity.ts). */
const SILENT_DETECT_MS = DEFAULT_LIVENESS_MS + RECOMMENDED_TICK_MS

/** dispatcher.ts BUSY_RATE_ALPHA and BUSY_RATE_RESERVE. */
const BUSY_RATE_ALPHA = 0.1
const BUSY_RATE_RESERVE = 0.5

export interface EngineOptions {
  policy: Policy
  /** Name in the report (a variant's name, or the policy's). */
  label: string
  score?: ScoreParams
  plan?: PlanParams
  breaker?: BreakerParams
  earlyAds?: boolean
  /** Shortest gap between two early ads, ms (the capacity service's minGapMs; default 100). */
  earlyAdGapMs?: number
  /** The dispatcher's attempt patience: this many times the expected completion (default 4)... */
  attemptTimeoutFactor?: number
  /** ... but never less than this, ms (default 5 s). */
  minAttemptTimeoutMs?: number
  /** The dispatcher's rules switched off one by one, or changes not in the code (SimRules). */
  rules?: SimRules
  /** Called every 100,000 events (memory sampling, progress). */
  onProgress?: () => void
  /** Keep one record per measured task (for analysis: `EngineResult.tasks`). */
  traceTasks?: boolean
  /** Keep reputation series and exclusion times. */
  trackReputation?: boolean
  /** Keep per-node federated/solo timelines (partition scenarios). */
  trackModes?: boolean
  rng: Rng
}

export interface EngineResult {
  label: string
  policy: string
  /** Response times of measured tasks that completed, ms (arrival at the origin → result there). */
  responses: Float64Array
  /** Measured tasks (arrived after warm-up at a live origin). */
  measured: number
  /** Measured tasks that ended without a correct result, or never ended. */
  lost: number
  /** Tasks submitted while their origin was down (never accepted; not counted anywhere else). */
  notAccepted: number
  /** Per peer: useful work / (slots × time up), within the arrival window. */
  utilisation: Float64Array
  decisions: Record<string, number>
  /** Mean age of the advert behind each remote direct send, ms. */
  meanAdAgeMs: number
  /** Tasks whose work ran on more than one node (a hedge, or a retry after a lost, maybe-executed attempt). */
  duplicateRuns: number
  endMs: number
  events: number
  reputation?: ReputationSeries
  modes?: ModeTimeline
  /** Per measured task that completed, when `traceTasks`. */
  tasks?: TaskRecord[]
  /** Measured tasks lost, when `traceTasks`: id, service time and path. */
  lostTasks?: Array<{ id: number, serviceMs: number, path: string }>
}

/** What happened to one task (traceTasks): enough to split its response time into causes. */
export interface TaskRecord {
  id: number
  origin: number
  arrival: number
  response: number
  /** Where it ran, and the round trip there. */
  target: number
  rttMs: number
  /** Time it waited in that executor's queue, and ran there, ms. */
  queuedMs: number
  runMs: number
  /** When the run started, ms after arrival. */
  startedAfterMs: number
  tries: number
  /**
   * Plans in order: L (direct local), D (direct remote), R (reserve); what ended each step: b
   * (busy), f (full), t (timeout), l (lost), x (failed where it ran); h: the newest attempt
   * passed its patience (hedged); w: a hedged attempt answered first.
   */
  path: string
}

/** One try of a task: a direct send, or a late-binding race over reservations (dispatcher.ts direct/reserve). */
interface Attempt {
  task: TaskState
  mode: 'direct' | 'reserve'
  tickets: Ticket[]
  /** Reservations: the one bound (first READY). */
  winner: Ticket | undefined
  /** Its promise settled (or never will: a hung reservation race); nothing later counts. */
  settled: boolean
  /** Past its patience but still open (the code's `inflight`). */
  hedged: boolean
  /** The origin's incarnation when it started: a crash of the origin voids it. */
  inc: number
  /** Reservations: when the race started, and the budget then. */
  start: number
  remaining: number
}

interface Ticket {
  att: Attempt
  target: number
  /** Reservation tickets: the reservation at the target, once placed. */
  res?: ReservationItem
  state: 'pending' | 'failed' | 'bound'
  code?: Code
  /** The reservation could not even be placed (peer unreachable). */
  placeFailed?: boolean
  /** Counted in the origin's outstanding tasks at the target (capacity table noteSent) until the attempt ends. */
  sent?: boolean
  /** The origin's estimates for the target when it chose it: run time and RTT, ms (fedmesh). */
  runMs?: number
  rttMs?: number
  /** Direct sends: the request's maxWaitMs (> 0: predicted free). */
  maxWaitMs?: number
  /** The work item at the target, once queued there (its `startedAt` once it runs). */
  item?: WorkItem
}

/**
 * An attempt's result, waiting for the dispatcher loop to take it; `reported`: a reservation
 * race that failed as a whole (dispatcher.ts `reported: true`: its refusals were reported as they
 * came).
 */
interface Settled { att: Attempt, peer: number, code: Code, reported?: boolean }

/** The dispatcher loop parked in `firstSettled(inflight, patience)`. */
interface Waiting {
  gen: number
  mayTry: boolean
  remaining: number
  /** The attempt started in this pass, the peer to blame if it is too slow (direct sends), and whether it was predicted free. */
  launched: Attempt | undefined
  blame: number | undefined
  promisedFree: boolean
}

interface TaskState {
  id: number
  origin: number
  arrival: number
  service: number
  deadline: number
  tries: number
  failures: number
  /** The task failed where it ran while hedges were open: no new attempt (stopAfterFinal). */
  final: boolean
  exclude: Set<number>
  done: boolean
  suspended: boolean
  /** The code's `inflight`: attempts started and not settled. */
  inflight: Set<Attempt>
  /** Results that settled while the loop was not waiting (during a backoff): taken first at the next wait. */
  settledQ: Settled[]
  waiting: Waiting | undefined
  gen: number
  ranOn: Set<number> | undefined
  bounced: boolean
  path: string
  ran: { target: number, queuedMs: number, runMs: number, startedAt: number } | undefined
}

interface Node {
  exec: SimExecutor
  ring: AdRing
  alive: boolean
  /** Bumped on every crash: the dispatcher's state (attempts, BUSY rate) dies with the process. */
  inc: number
  ledger: ReputationLedger | undefined
  breakers: CircuitBreakers | undefined
  /** Peers this node ever reported to its ledger and breakers (the others score 0, breaker closed). */
  rated: Set<number>
  /** Prototype (rules.hearsay): (reporter, target) pairs already counted. */
  heard: Set<number>
  /** Per peer: this node's unanswered tasks there, now and when its advert arrived (capacity-table.ts). */
  sent: Map<number, Outstanding>
  rr: { next: number }
  adToken: number
  earlyPending: boolean
  /** Tasks this node submitted that are not finished. */
  own: Set<TaskState>
  /** Attempts this node started that have not settled (hedged and orphaned ones included). */
  open: Set<Attempt>
  /** The dispatcher's `busyRate`: EWMA of BUSY answers to its predicted-free direct sends. */
  bounceRate: number
}

export function runEngine (world: World, opt: EngineOptions): EngineResult {
  return new Engine(world, opt).run()
}

class Engine {
  private readonly q = new EventQueue()
  private readonly nodes: Node[] = []
  private readonly ids: string[]
  private readonly idIndex = new Map<string, number>()
  private readonly s: World['scenario']
  private readonly interval: number
  private readonly fedmesh: boolean
  private readonly rules: Required<SimRules>
  private readonly decisions: Record<string, number> = {}
  private readonly responses: number[] = []
  private readonly windowEnd: number
  private measured = 0
  private lost = 0
  private notAccepted = 0
  private duplicateRuns = 0
  private adAgeSum = 0
  private adAgeCount = 0
  private open = 0
  private readonly netRng: Rng
  private readonly decideRng: Rng
  private readonly reputation: ReputationTracker | undefined
  private readonly modes: ModeTracker | undefined
  private readonly everyone: Int32Array[] = []
  private readonly taskRecords: TaskRecord[] | undefined
  private readonly lostRecords: Array<{ id: number, serviceMs: number, path: string }> = []

  constructor (private readonly w: World, private readonly opt: EngineOptions) {
    this.s = w.scenario
    this.interval = this.s.routing.adIntervalMs
    this.fedmesh = opt.policy.name === 'fedmesh'
    const r = opt.rules ?? {}
    this.rules = {
      hedge: r.hedge ?? CODE_RULES.hedge,
      blameOnPatience: r.blameOnPatience ?? CODE_RULES.blameOnPatience,
      reserveWhenBouncing: r.reserveWhenBouncing ?? BUSY_RATE_RESERVE,
      tripOnTimeout: r.tripOnTimeout ?? CODE_RULES.tripOnTimeout,
      stopAfterFinal: r.stopAfterFinal ?? CODE_RULES.stopAfterFinal,
      blameRefusedReservations: r.blameRefusedReservations ?? CODE_RULES.blameRefusedReservations,
      cancelOnFinish: r.cancelOnFinish ?? CODE_RULES.cancelOnFinish,
      reportAfterSettle: r.reportAfterSettle ?? CODE_RULES.reportAfterSettle,
      hearsay: r.hearsay ?? CODE_RULES.hearsay
    }
    this.windowEnd = this.s.durationMs
    this.netRng = opt.rng.fork('net')
    this.decideRng = opt.rng.fork('decide')
    this.ids = Array.from({ length: w.peers }, (_, i) => `p${String(i).padStart(5, '0')}`)
    this.ids.forEach((id, i) => this.idIndex.set(id, i))
    const clock = { now: () => this.q.now }
    for (let i = 0; i < w.peers; i++) {
      const conc = w.concurrency[i]
      const limit = Math.max(1, Math.round(conc * this.s.nodes.queueLimitFactor))
      const exec = new SimExecutor(this.q, conc, limit, this.s.nodes.holdMs, this.hooksFor(i), this.windowEnd)
      const node: Node = {
        exec,
        ring: new AdRing(conc, limit),
        alive: true,
        inc: 0,
        ledger: this.fedmesh ? new ReputationLedger({ clock, maxPeers: Math.max(2_000, w.peers) }) : undefined,
        breakers: this.fedmesh ? new CircuitBreakers({ ...DEFAULT_BREAKER_PARAMS, ...opt.breaker }) : undefined,
        rated: new Set(),
        heard: new Set(),
        sent: new Map(),
        rr: { next: i },
        adToken: 0,
        earlyPending: false,
        own: new Set(),
        open: new Set(),
        bounceRate: 0
      }
      if (opt.earlyAds === true) exec.onChange = () => { this.loadChanged(i) }
      this.nodes.push(node)
    }
    if (opt.traceTasks === true) this.taskRecords = []
    if (opt.trackReputation === true) this.reputation = new ReputationTracker(w, this.nodes.map(n => n.ledger), this.q, opt.rng.fork('observers'))
    if (opt.trackModes === true && w.partition !== undefined) this.modes = new ModeTracker(w, this.q)
  }

  run (): EngineResult {
    const { w, q } = this
    const phaseRng = this.opt.rng.fork('phase')
    for (let i = 0; i < w.peers; i++) {
      // Nodes start at different moments, so their adverts are not synchronised.
      const first = phaseRng.float() * this.interval
      q.at(first, () => { this.periodicAd(i, 0) })
      if (Number.isFinite(w.downAt[i])) {
        q.at(w.downAt[i], () => { this.crash(i) })
        q.at(w.upAt[i], () => { this.restart(i) })
      }
    }
    this.reputation?.start()
    this.modes?.start()
    if (this.fedmesh && this.rules.hearsay !== false) this.slander()
    if (w.trace.length > 0) q.at(w.trace.at[0], () => { this.arrive(0) })
    const end = this.s.durationMs + this.s.drainMs
    // Stop when every task is done and the window is over (adverts would run forever; attempts
    // still open after their task ended run to their end only if they finish before that).
    const progress = this.opt.onProgress
    let nextProgress = q.processed + 100_000
    q.runUntil(end, () => {
      if (progress !== undefined && q.processed >= nextProgress) {
        nextProgress += 100_000
        progress()
      }
      return this.open === 0 && q.now >= this.s.durationMs && this.nextArrival >= w.trace.length
    })
    for (const n of this.nodes) {
      for (const t of n.own) {
        if (t.arrival < this.s.warmupMs) continue
        this.lost++
        if (this.taskRecords !== undefined) this.lostRecords.push({ id: t.id, serviceMs: t.service, path: t.path + '?' })
      }
    }
    let held = 0
    let work = 0
    for (const n of this.nodes) { held += n.exec.heldMs; work += n.exec.workMs }
    // Slot time held idle by READY reservations (waiting for BIND or CANCEL), per task of work.
    if (held > 0) this.decisions['held-idle-ms-per-task'] = Math.round(held / Math.max(1, w.trace.length))
    if (work > 0) this.decisions['held-idle-pct-of-work'] = Math.round(1000 * held / work) / 10
    const utilisation = new Float64Array(w.peers)
    for (let i = 0; i < w.peers; i++) {
      const up = upTimeWithin(w, i, this.windowEnd)
      utilisation[i] = up > 0 ? this.nodes[i].exec.workMs / (w.concurrency[i] * up) : 0
    }
    return {
      label: this.opt.label,
      policy: this.opt.policy.name,
      responses: Float64Array.from(this.responses),
      measured: this.measured,
      lost: this.lost,
      notAccepted: this.notAccepted,
      utilisation,
      decisions: this.decisions,
      meanAdAgeMs: this.adAgeCount > 0 ? this.adAgeSum / this.adAgeCount : 0,
      duplicateRuns: this.duplicateRuns,
      endMs: q.now,
      events: q.processed,
      reputation: this.reputation?.finish(),
      modes: this.modes?.finish(q.now),
      tasks: this.taskRecords,
      lostTasks: this.taskRecords !== undefined ? this.lostRecords : undefined
    }
  }

  private count (what: string, n = 1): void {
    this.decisions[what] = (this.decisions[what] ?? 0) + n
  }

  // ---- arrivals and the dispatcher loop (dispatcher.ts dispatch) ----

  private nextArrival = 0

  private arrive (i: number): void {
    const { trace } = this.w
    this.nextArrival = i + 1
    if (i + 1 < trace.length) this.q.at(trace.at[i + 1], () => { this.arrive(i + 1) })
    const origin = trace.origin[i]
    const node = this.nodes[origin]
    if (!node.alive) {
      this.notAccepted++
      return
    }
    const task: TaskState = {
      id: i,
      origin,
      arrival: this.q.now,
      service: trace.service[i],
      deadline: this.q.now + this.s.workload.taskTimeoutMs,
      tries: 0,
      failures: 0,
      final: false,
      exclude: new Set(),
      done: false,
      suspended: false,
      inflight: new Set(),
      settledQ: [],
      waiting: undefined,
      gen: 0,
      ranOn: undefined,
      bounced: false,
      path: '',
      ran: undefined
    }
    if (task.arrival >= this.s.warmupMs) this.measured++
    node.own.add(task)
    this.open++
    this.begin(task)
  }

  /** `dispatch()` starts (on arrival, or resumed from the journal after a restart). */
  private begin (task: TaskState): void {
    const th = this.rules.reserveWhenBouncing
    if (this.fedmesh && th !== false && this.nodes[task.origin].bounceRate > th) {
      task.bounced = true
      this.count('reserve-first (bouncing)')
    }
    this.loop(task)
  }

  /** One pass of dispatch()'s `while (true)`: maybe start an attempt, then wait for the first to settle or for patience. */
  private loop (task: TaskState): void {
    if (task.done || task.suspended) return
    const r = this.s.routing
    const remaining = task.deadline - this.q.now
    const mayTry = !task.final && task.failures < r.maxAttempts && task.tries < r.maxTries && remaining > 0
    let launched: Attempt | undefined
    let blame: number | undefined
    let promisedFree = false
    let patience = Math.max(1, Math.ceil(remaining + r.slackMs))
    if (mayTry) {
      task.tries++
      const plan = this.opt.policy.choose(this.context(task), this.nodes[task.origin].rr)
      if (plan.mode === 'none') {
        this.count('plan-none')
        if (task.inflight.size === 0) {
          this.finish(task, false)
          return
        }
      } else if (plan.mode === 'direct') {
        const local = plan.target === task.origin
        this.count(local ? 'direct-local' : 'direct-remote')
        if (this.taskRecords !== undefined) task.path += local ? 'L' : 'D'
        if (!local) {
          this.adAgeSum += plan.adAgeMs
          this.adAgeCount++
        }
        launched = this.direct(task, plan.target, plan.maxWaitMs, remaining, plan.runMs)
        // A direct send has one peer to blame for slowness (this node included: never reported).
        blame = plan.target
        promisedFree = plan.maxWaitMs > 0
        if (!local) patience = this.attemptTimeout(plan.expectedMs, remaining)
      } else {
        if (this.taskRecords !== undefined) task.path += 'R'
        this.count(task.bounced ? 'reserve-after-bounce' : 'reserve')
        launched = this.reserve(task, plan.targets, remaining, plan.runMs, plan.rttMs)
        patience = this.attemptTimeout(plan.expectedMs, remaining)
      }
      if (launched !== undefined) task.inflight.add(launched)
    }
    if (task.inflight.size === 0) {
      this.count(remaining <= 0 ? 'gave-up-deadline' : 'gave-up-attempts')
      this.finish(task, false)
      return
    }
    const gen = ++task.gen
    const queued = task.settledQ.shift()
    if (queued !== undefined) {
      // Settled during the backoff: firstSettled returns it at once.
      this.process(task, queued)
      return
    }
    task.waiting = { gen, mayTry, remaining, launched, blame, promisedFree }
    this.q.after(patience, () => { this.patienceOver(task, gen) })
  }

  /** firstSettled returned 'timeout'. */
  private patienceOver (task: TaskState, gen: number): void {
    const w = task.waiting
    if (w === undefined || w.gen !== gen || task.done || task.suspended) return
    task.waiting = undefined
    if (!w.mayTry) {
      // Past the task's deadline (or out of attempts) and nothing answered.
      this.count(w.remaining <= 0 ? 'gave-up-deadline' : 'gave-up-attempts')
      this.finish(task, false)
      return
    }
    this.count('attempt-timeout')
    if (this.taskRecords !== undefined) task.path += 'h'
    task.failures++
    if (w.blame !== undefined) {
      // The code: no blame, the slow peer is only left out of this task's next tries (its own
      // deadline reports it if it never answers). 68dbbe5 blamed it here.
      const blame = this.rules.blameOnPatience
      if (blame !== false && (blame !== 'unstarted' || !this.startedSeen(w.launched, w.blame, task.origin))) {
        this.report(task, w.blame, 'timeout')
        if (blame !== 'timeout' && w.promisedFree) this.report(task, w.blame, 'broken-promise')
      }
      task.exclude.add(w.blame)
    }
    const att = w.launched
    if (att !== undefined && !this.rules.hedge) {
      // Before 68dbbe5: the slow attempt is aborted and forgotten, a backoff, then a retry.
      this.abandon(att)
      this.sleep(task)
      return
    }
    if (att !== undefined) {
      att.hedged = true
      this.count('hedged')
    }
    this.loop(task)
  }

  /** blameOnPatience 'unstarted': a STARTED frame from `target` for this attempt has reached the origin. */
  private startedSeen (att: Attempt | undefined, target: number, origin: number): boolean {
    const item = att?.tickets[0]?.item
    if (item === undefined || item.enqueuedAt === undefined) return false
    const startedAt = item.startedAt
    return startedAt > 0 && startedAt >= item.enqueuedAt && startedAt + (target === origin ? 0 : this.w.net.oneWay(target, origin)) <= this.q.now
  }

  /** An attempt settled: take it now if the loop waits, else at its next wait. */
  private settle (att: Attempt, peer: number, code: Code, reported?: boolean): void {
    if (att.settled) return
    att.settled = true
    const node = this.nodes[att.task.origin]
    node.open.delete(att)
    if (att.inc !== node.inc) return
    const task = att.task
    if (task.done || task.suspended || !task.inflight.has(att)) {
      if (task.done && code === 'ok') this.count('answer-after-done')
      if (task.done && this.rules.reportAfterSettle && att.mode === 'direct' && code === 'timeout') {
        // As dispatch() does: the hedged send that never answered is reported all the same.
        this.count('reported-after-settle')
        this.report(task, peer, 'timeout')
      }
      return
    }
    const s: Settled = { att, peer, code, reported }
    if (task.waiting !== undefined) {
      task.waiting = undefined
      this.process(task, s)
    } else {
      task.settledQ.push(s)
    }
  }

  /** dispatch()'s handling of one settled step. */
  private process (task: TaskState, s: Settled): void {
    const { att, peer, code } = s
    task.inflight.delete(att)
    const remote = peer !== task.origin
    if (this.taskRecords !== undefined && code !== 'ok') {
      task.path += code === 'busy' ? 'b' : code === 'full' ? 'f' : code === 'timeout' || code === 'queue-timeout' ? 't' : code === 'lost' ? 'l' : 'x'
    }
    if (code === 'ok') {
      if (remote && this.w.malice[peer] === WRONG) {
        this.count('wrong-result-caught')
        this.report(task, peer, 'wrong-result')
        task.exclude.add(peer)
        task.failures++
        this.loop(task)
        return
      }
      if (att.hedged) {
        this.count('hedge-won')
        if (this.taskRecords !== undefined) task.path += 'w'
      }
      this.report(task, peer, 'success')
      this.finish(task, true)
      return
    }
    if (code === 'lost' || code === 'timeout' || (code === 'queue-timeout' && remote)) {
      // The peer died or never answered in time: maybe executed, retry under the same id.
      this.count('failover')
      this.report(task, peer, code === 'lost' ? 'failure' : 'timeout')
      task.exclude.add(peer)
      task.failures++
      this.sleep(task)
      return
    }
    if (code === 'busy' || code === 'full') {
      // Any refusal: the table was wrong about that peer, the next try binds late.
      task.bounced = true
      // A race that failed as a whole had its refusals reported as they came (f05da5e).
      if (s.reported !== true || !this.rules.blameRefusedReservations) this.report(task, peer, code === 'busy' ? 'refused' : 'broken-promise')
      task.exclude.add(peer)
      this.loop(task)
      return
    }
    // The task failed where it ran: final, unless an attempt is still open.
    if (task.inflight.size === 0) {
      this.count('task-failed-final')
      this.finish(task, false)
      return
    }
    // A hedge may still succeed: wait for it, but start nothing new (c6f8391).
    if (this.rules.stopAfterFinal) {
      task.final = true
      this.count('final-waits-for-hedge')
    }
    this.loop(task)
  }

  /** The backoff after a lost attempt; results that settle meanwhile wait for the next pass. */
  private sleep (task: TaskState): void {
    const inc = this.nodes[task.origin].inc
    const delay = backoffDelay(task.failures - 1, { minMs: 10, maxMs: 200 }, () => this.decideRng.float())
    this.q.after(delay, () => {
      if (this.nodes[task.origin].inc !== inc) return
      this.loop(task)
    })
  }

  private context (task: TaskState): DecisionContext {
    const o = task.origin
    const node = this.nodes[o]
    const now = this.q.now
    const { w } = this
    return {
      origin: o,
      now,
      known: this.known(o),
      exclude: task.exclude,
      bounced: task.bounced,
      ad: (p) => this.visibleAd(p, o),
      sentSinceAd: (p, ad) => this.sentSinceAd(o, p, ad),
      rttMs: (p) => w.net.rtt(o, p),
      reputation: (p) => node.ledger === undefined || !node.rated.has(p)
        ? NEUTRAL
        : { score: node.ledger.score(this.ids[p], now), state: node.ledger.state(this.ids[p], now) },
      breakerOpen: (p) => node.rated.has(p) && (node.breakers?.isOpen(this.ids[p], now) ?? false),
      local: {
        queueDepth: node.exec.queueDepth,
        running: node.exec.running,
        concurrency: node.exec.concurrency,
        queueLimit: node.exec.queueLimit,
        meanRunMs: node.exec.meanRunMs
      },
      rng: this.decideRng,
      ids: this.ids,
      idIndex: this.idIndex
    }
  }

  /** The peers node o knows: its view, or everyone else. */
  private known (o: number): ArrayLike<number> {
    if (this.w.views !== undefined) return this.w.views[o]
    let all = this.everyone[o]
    if (all === undefined) {
      all = new Int32Array(this.w.peers - 1)
      for (let p = 0, k = 0; p < this.w.peers; p++) if (p !== o) all[k++] = p
      // Kept only for small worlds; big ones use views.
      if (this.w.peers <= 2_000) this.everyone[o] = all
    }
    return all
  }

  private visibleAd (p: number, reader: number): VisibleAd | undefined {
    return this.nodes[p].ring.visible(this.w.net, p, reader, this.q.now, this.interval)
  }

  /**
   * capacity-table.ts `sentSinceAd`: this node's unanswered tasks at p now, minus as many as
   * there were when p's current advert arrived (the advert counts those already).
   */
  private sentSinceAd (o: number, p: number, ad: VisibleAd): number {
    const e = this.nodes[o].sent.get(p)
    if (e === undefined) return 0
    e.adArrived(ad.seq, ad.receivedAt)
    return e.now - e.atAd
  }

  /** The capacity table's noteSent (a task went to p) and noteDone (p answered, or was given up on). */
  private track (o: number, ticket: Ticket, delta: 1 | -1): void {
    if (!this.fedmesh || ticket.target === o) return
    if ((delta === 1) === (ticket.sent === true)) return
    ticket.sent = delta === 1
    const sent = this.nodes[o].sent
    let e = sent.get(ticket.target)
    if (e === undefined) {
      e = new Outstanding()
      sent.set(ticket.target, e)
    }
    e.change(this.q.now, delta, this.interval * EXPIRY_INTERVALS)
  }

  /** The dispatcher's patience for one attempt: min(budget + slack, max(floor, factor × expected)), whole ms. */
  private attemptTimeout (expectedMs: number | undefined, remaining: number): number {
    const limit = remaining + this.s.routing.slackMs
    if (expectedMs === undefined) return Math.max(1, Math.ceil(limit))
    const patience = Math.max(this.opt.minAttemptTimeoutMs ?? 5_000, (this.opt.attemptTimeoutFactor ?? 4) * expectedMs)
    return Math.max(1, Math.ceil(Math.min(limit, patience)))
  }

  private newAttempt (task: TaskState, mode: Attempt['mode'], remaining: number): Attempt {
    const node = this.nodes[task.origin]
    const att: Attempt = { task, mode, tickets: [], winner: undefined, settled: false, hedged: false, inc: node.inc, start: this.q.now, remaining }
    node.open.add(att)
    return att
  }

  private stale (att: Attempt): boolean {
    return att.settled || att.inc !== this.nodes[att.task.origin].inc
  }

  /** hedge off: the attempt is aborted; nothing from it counts any more. */
  private abandon (att: Attempt): void {
    const task = att.task
    task.inflight.delete(att)
    att.settled = true
    this.nodes[task.origin].open.delete(att)
    for (const k of att.tickets) {
      if (k.sent === true) this.track(task.origin, k, -1)
      if (att.mode === 'reserve' && k.state === 'pending') {
        k.state = 'failed'
        this.sendCancel(task, k)
      }
    }
  }

  // ---- direct sends (dispatcher.ts direct) ----

  private direct (task: TaskState, target: number, maxWaitMs: number, remaining: number, runMs: number | undefined): Attempt {
    const att = this.newAttempt(task, 'direct', remaining)
    const ticket: Ticket = { att, target, state: 'pending', runMs, maxWaitMs }
    att.tickets.push(ticket)
    const o = task.origin
    if (target === o) {
      this.submitAt(target, ticket, remaining, maxWaitMs)
      return att
    }
    this.track(o, ticket, 1)
    const budget = Math.max(1, remaining - this.w.net.rtt(o, target))
    // The request's own signal: the budget plus slack (patience is the loop's business).
    this.q.after(Math.ceil(remaining + this.s.routing.slackMs), () => { this.outcome(ticket, 'timeout') })
    this.send(o, target, () => { this.submitAt(target, ticket, budget, maxWaitMs) }, (at) => { this.outcomeAt(at, ticket, 'lost') })
    return att
  }

  /** The task reaches its target's executor (with the origin's run-time estimate for its BUSY check). */
  private submitAt (target: number, ticket: Ticket, budget: number, maxWaitMs: number): void {
    const kind = this.w.malice[target]
    if (kind === LIAR) {
      this.count('liar-refusal')
      this.replyFrom(target, ticket, this.s.faults.malicious?.liarRefusal === 'busy' ? 'busy' : 'full')
      return
    }
    if (kind === BLACKHOLE) {
      this.count('black-holed')
      return
    }
    const exec = this.nodes[target].exec
    if (exec.finished.has(ticket.att.task.id)) {
      this.count('deduped')
      this.replyFrom(target, ticket, 'ok')
      return
    }
    const item = this.workItem(target, ticket, budget)
    const refusal = exec.submit(item, maxWaitMs, ticket.runMs)
    if (refusal !== undefined) {
      this.count(refusal === 'busy' ? 'busy-bounce' : 'queue-full')
      this.replyFrom(target, ticket, refusal === 'busy' ? 'busy' : 'full')
    }
  }

  private workItem (target: number, ticket: Ticket, budget: number): WorkItem {
    const item: WorkItem = { type: 'task', taskId: ticket.att.task.id, serviceMs: ticket.att.task.service * this.w.slow[target], deadlineMs: budget, enqueuedAt: 0, startedAt: 0, ticket }
    ticket.item = item
    return item
  }

  private sendCancel (task: TaskState, k: Ticket): void {
    if (k.target === task.origin) this.cancelAt(k.target, k)
    else this.send(task.origin, k.target, () => { this.cancelAt(k.target, k) }, () => {})
  }

  // ---- reservations (dispatcher.ts reserve: late binding) ----

  private reserve (task: TaskState, targets: number[], remaining: number, runMs: number[] | undefined, rttMs: number[] | undefined): Attempt {
    const att = this.newAttempt(task, 'reserve', remaining)
    const o = task.origin
    targets.forEach((target, k) => {
      att.tickets.push({ att, target, state: 'pending', runMs: runMs?.[k], rttMs: rttMs?.[k] })
    })
    // One signal for the whole race (placing, READY, the bound run).
    this.q.after(Math.ceil(remaining + this.s.routing.slackMs), () => { this.reserveAborted(att) })
    for (const ticket of att.tickets) {
      if (ticket.target === o) {
        this.reserveAt(ticket.target, ticket)
      } else {
        this.send(o, ticket.target, () => { this.reserveAt(ticket.target, ticket) }, (at) => {
          this.q.at(at, () => {
            if (ticket.state !== 'pending' || this.stale(att)) return
            ticket.placeFailed = true
            this.reservationFailed(ticket, 'lost')
          })
        })
      }
    }
    return att
  }

  private reserveAt (target: number, ticket: Ticket): void {
    const att = ticket.att
    // The origin crashed since: its connection (and every reservation on it) is gone.
    if (att.inc !== this.nodes[att.task.origin].inc) return
    const kind = this.w.malice[target]
    if (kind === LIAR) {
      this.count('liar-refusal')
      this.replyTo(target, ticket, () => { this.reservationFailed(ticket, 'full') })
      return
    }
    if (kind === BLACKHOLE) {
      this.count('black-holed')
      return
    }
    const r = this.nodes[target].exec.reserve(att.task.id, ticket)
    if (r === 'queue-full') {
      this.count('reserve-refused')
      this.replyTo(target, ticket, () => { this.reservationFailed(ticket, 'full') })
      return
    }
    ticket.res = r
    // Cancelled before it was placed: the CANCEL frame follows the RESERVE on the same stream.
    if (ticket.state !== 'pending') this.cancelAt(target, ticket)
  }

  private reservationFailed (ticket: Ticket, code: Code): void {
    const att = ticket.att
    if (this.stale(att) || att.winner !== undefined || ticket.state !== 'pending') return
    ticket.state = 'failed'
    ticket.code = code
    if (code === 'full' && this.rules.blameRefusedReservations && ticket.target !== att.task.origin) {
      // f05da5e: a peer that advertised room and then refused the reservation broke its
      // promise, reported as the refusal arrives (whether or not another target wins the race).
      this.count('reserve-refusal-blamed')
      this.report(att.task, ticket.target, 'broken-promise')
    }
    if (att.tickets.some(k => k.state === 'pending')) return
    // Promise.any rejected: every reservation was refused or lost; the best target's reason.
    this.count('reserve-all-failed')
    const first = att.tickets[0]
    this.settle(att, first.target, first.code ?? 'lost', true)
  }

  /** The race's signal fired (budget + slack after it started). */
  private reserveAborted (att: Attempt): void {
    if (this.stale(att)) return
    const task = att.task
    if (att.winner !== undefined) {
      // The bound run has not answered: bind() rejects TimeoutError (lost, TIMED_OUT).
      this.track(task.origin, att.winner, -1)
      this.settle(att, att.winner.target, 'timeout')
      return
    }
    this.count('reserve-aborted')
    for (const k of att.tickets) {
      if (k.state !== 'pending') continue
      k.state = 'failed'
      this.sendCancel(task, k)
    }
    const first = att.tickets[0]
    // A refusal keeps its code; one still pending (cancel() rejects its `ready` since c6f8391: it
    // no longer hangs), lost or unplaceable reads TIMED_OUT once the signal fired.
    const code = first.code === undefined || first.code === 'lost' ? 'timeout' : first.code
    this.settle(att, first.target, code, true)
  }

  /** A READY frame reached the origin: the first one wins, every other reservation is cancelled. */
  private onReady (ticket: Ticket): void {
    const att = ticket.att
    if (this.stale(att) || att.winner !== undefined || ticket.state !== 'pending') return
    const task = att.task
    ticket.state = 'bound'
    att.winner = ticket
    this.count('reserve-bound')
    // A hedged race still binds after another attempt answered: the task runs again for nothing.
    if (task.done) this.count('bound-after-done')
    for (const k of att.tickets) {
      if (k === ticket || k.state !== 'pending') continue
      this.count('reserve-cancelled')
      k.state = 'failed'
      this.sendCancel(task, k)
    }
    const o = task.origin
    const left = Math.max(1, att.remaining - (this.q.now - att.start) - (ticket.target === o ? 0 : ticket.rttMs ?? this.w.net.rtt(o, ticket.target)))
    if (ticket.target === o) {
      this.bindAt(o, ticket, left)
      return
    }
    this.track(o, ticket, 1)
    this.send(o, ticket.target, () => { this.bindAt(ticket.target, ticket, left) }, (at) => { this.outcomeAt(at, ticket, 'lost') })
  }

  private bindAt (target: number, ticket: Ticket, budget: number): void {
    const exec = this.nodes[target].exec
    const res = ticket.res
    if (res === undefined) return
    if (exec.finished.has(ticket.att.task.id)) {
      exec.cancel(res)
      this.replyFrom(target, ticket, 'ok')
      return
    }
    const refusal = exec.bind(res, this.workItem(target, ticket, budget))
    if (refusal !== undefined) this.replyFrom(target, ticket, refusal === 'busy' ? 'busy' : 'full')
  }

  private cancelAt (target: number, ticket: Ticket): void {
    if (ticket.res !== undefined && this.nodes[target].alive) this.nodes[target].exec.cancel(ticket.res)
  }

  // ---- executor hooks ----

  private hooksFor (target: number): ExecutorHooks {
    return {
      done: (item, result, runMs) => {
        const ticket = item.ticket as Ticket
        const t = ticket.att.task
        if (this.taskRecords !== undefined && result === 'ok' && !t.done) t.ran = { target, queuedMs: item.startedAt - item.enqueuedAt, runMs, startedAt: item.startedAt }
        t.ranOn ??= new Set()
        t.ranOn.add(target)
        if (t.ranOn.size === 2) this.duplicateRuns++
        this.replyFrom(target, ticket, result === 'ok' ? 'ok' : 'run-timeout')
      },
      expired: (item) => { this.replyFrom(target, item.ticket as Ticket, 'queue-timeout') },
      ready: (res) => {
        const ticket = res.ticket as Ticket
        this.replyTo(target, ticket, () => { this.onReady(ticket) })
      },
      holdExpired: () => { this.count('hold-expired') }
    }
  }

  // ---- messages ----

  /** Deliver `fn` at `to` after the link latency, or tell the sender when it cannot arrive. */
  private send (from: number, to: number, fn: () => void, failed: (detectAt: number) => void): void {
    const now = this.q.now
    const at = now + this.w.net.deliveryMs(from, to, this.netRng)
    if (!isUp(this.w, to, at) || !this.w.net.reachable(from, to, at)) {
      failed(this.detectAt(from, to, now, at))
      return
    }
    this.q.at(at, () => {
      if (!this.nodes[to].alive) return
      fn()
    })
  }

  /** When `from` learns that a message to `to`, sent at `sentAt`, will never be answered. */
  private detectAt (from: number, to: number, sentAt: number, arriveAt: number): number {
    const w = this.w
    const rtt = w.net.rtt(from, to)
    if (!isUp(w, to, arriveAt)) {
      const silent = this.s.faults.churn?.detect === 'liveness'
      return Math.max(sentAt + rtt, w.downAt[to] + (silent ? SILENT_DETECT_MS : w.net.oneWay(to, from)))
    }
    // A cut link is silent: the connection is declared dead by liveness.
    return Math.max(sentAt + rtt, (w.partition?.atMs ?? sentAt) + SILENT_DETECT_MS)
  }

  /** A reply from `target` to the ticket's origin, handled as outcome `code` there. */
  private replyFrom (target: number, ticket: Ticket, code: Code): void {
    const o = ticket.att.task.origin
    if (target === o) {
      this.q.after(0, () => { this.outcome(ticket, code) })
      return
    }
    this.send(target, o, () => { this.outcome(ticket, code) }, (at) => {
      if (isUp(this.w, o, at)) this.outcomeAt(at, ticket, 'lost')
    })
  }

  private replyTo (target: number, ticket: Ticket, fn: () => void): void {
    const o = ticket.att.task.origin
    if (target === o) {
      this.q.after(0, fn)
      return
    }
    this.send(target, o, fn, (at) => {
      if (isUp(this.w, o, at)) this.q.at(at, () => { this.reservationFailed(ticket, 'lost') })
    })
  }

  private outcomeAt (at: number, ticket: Ticket, code: Code): void {
    this.q.at(at, () => { this.outcome(ticket, code) })
  }

  /** A RESULT (or the loss of the connection, or the request's own signal) for one ticket, at its origin. */
  private outcome (ticket: Ticket, code: Code): void {
    const att = ticket.att
    if (this.stale(att)) return
    const o = att.task.origin
    if (att.mode === 'reserve' && att.winner !== ticket) {
      // A reservation answered before it was bound: a refusal (or a late reply to a cancelled one).
      if (code !== 'ok') this.reservationFailed(ticket, code)
      return
    }
    if (ticket.target !== o) {
      this.track(o, ticket, -1)
      // dispatcher.ts noteDirect: every answer to a predicted-free direct send, whoever still waits for it.
      if (att.mode === 'direct' && (ticket.maxWaitMs ?? 0) > 0 && code !== 'lost' && code !== 'timeout') {
        const node = this.nodes[o]
        node.bounceRate += BUSY_RATE_ALPHA * ((code === 'busy' ? 1 : 0) - node.bounceRate)
      }
    }
    this.settle(att, ticket.target, code)
  }

  /** The task service's mapping of attempt events to breakers and reputation. */
  private report (task: TaskState, peer: number, event: AttemptEvent): void {
    if (!this.fedmesh || peer === task.origin) return
    const node = this.nodes[task.origin]
    const id = this.ids[peer]
    const now = this.q.now
    node.rated.add(peer)
    if (event === 'success') node.breakers?.success(id)
    if (event === 'failure' || event === 'unreachable') node.breakers?.failure(id, now)
    // A peer that sat on a task past its patience: open at once (task-service.ts).
    if (event === 'timeout') {
      if (this.rules.tripOnTimeout) node.breakers?.trip(id, now)
      else node.breakers?.failure(id, now)
    }
    const action = ACTIONS[event]
    if (action === undefined || node.ledger === undefined) return
    const u = node.ledger.apply(id, action)
    if (this.rules.hearsay !== false && u.previousState === 'healthy' && u.state !== 'healthy') this.announce(task.origin, peer)
  }

  /** Prototype (rules.hearsay): `reporter` tells everyone it now avoids `target`. */
  private announce (reporter: number, target: number): void {
    this.count('hearsay-announced')
    this.q.at(this.q.now + 250, () => {
      const minScore = this.rules.hearsay
      if (minScore === false) return
      for (let j = 0; j < this.w.peers; j++) {
        const node = this.nodes[j]
        if (j === reporter || j === target || !node.alive || node.ledger === undefined || this.w.malice[j] !== HONEST) continue
        if (node.ledger.score(this.ids[reporter], this.q.now) < minScore) continue
        const key = reporter * this.w.peers + target
        if (node.heard.has(key)) continue
        node.heard.add(key)
        node.rated.add(target)
        const before = node.ledger.state(this.ids[target], this.q.now)
        const u = node.ledger.apply(this.ids[target], ReputationAction.TaskTimedOut, 2.2)
        if (before === 'healthy' && u.state !== 'healthy') this.count(this.w.malice[target] === HONEST ? 'hearsay-honest-avoided' : 'hearsay-malicious-avoided')
      }
    })
  }

  /** Prototype (rules.hearsay): malicious peers accuse random honest peers every 10 s. */
  private slander (): void {
    const rng = this.opt.rng.fork('slander')
    const honest: number[] = []
    for (let i = 0; i < this.w.peers; i++) if (this.w.malice[i] === HONEST) honest.push(i)
    for (let i = 0; i < this.w.peers; i++) {
      if (this.w.malice[i] === HONEST) continue
      for (let t = 5_000 + rng.float() * 10_000; t < this.s.durationMs; t += 10_000) {
        this.q.at(t, () => { this.announce(i, honest[rng.int(honest.length)]) })
      }
    }
  }

  private finish (task: TaskState, ok: boolean): void {
    if (task.done) return
    task.done = true
    task.waiting = undefined
    this.open--
    this.nodes[task.origin].own.delete(task)
    if (this.rules.cancelOnFinish) {
      // f05da5e: the races still open are cancelled with the task (`ended` aborts their signal:
      // every reservation not bound yet goes; a bound run keeps running where it is).
      for (const att of task.inflight) {
        if (att.mode !== 'reserve') continue
        if (att.winner !== undefined) {
          // bind()'s signal fired: this node stops waiting (noteDone) but the run goes on there.
          this.track(task.origin, att.winner, -1)
          continue
        }
        this.count('race-cancelled-on-finish')
        att.settled = true
        this.nodes[task.origin].open.delete(att)
        for (const k of att.tickets) {
          if (k.state !== 'pending') continue
          k.state = 'failed'
          this.sendCancel(task, k)
        }
      }
    }
    if (task.arrival < this.s.warmupMs) return
    if (ok) this.responses.push(this.q.now - task.arrival)
    else {
      this.lost++
      if (this.taskRecords !== undefined) this.lostRecords.push({ id: task.id, serviceMs: task.service, path: task.path })
    }
    if (ok && this.taskRecords !== undefined && task.ran !== undefined) {
      const r = task.ran
      this.taskRecords.push({
        id: task.id, origin: task.origin, arrival: task.arrival, response: this.q.now - task.arrival, target: r.target,
        rttMs: this.w.net.rtt(task.origin, r.target), queuedMs: r.queuedMs, runMs: r.runMs, startedAfterMs: r.startedAt - task.arrival,
        tries: task.tries, path: task.path
      })
    }
  }

  // ---- adverts ----

  private periodicAd (i: number, token: number): void {
    const node = this.nodes[i]
    if (token !== node.adToken) return
    this.publish(i)
  }

  private publish (i: number): void {
    const node = this.nodes[i]
    node.adToken++
    const token = node.adToken
    this.q.after(this.interval, () => { this.periodicAd(i, token) })
    if (!node.alive) return
    const kind = this.w.malice[i]
    if (kind === LIAR || kind === BLACKHOLE) {
      // Advertise idle and fast: they look like the best peer anywhere.
      node.ring.publish(this.q.now, 0, 0, this.s.workload.service.meanMs * (this.s.faults.malicious?.advertisedRunFraction ?? 1))
    } else {
      node.ring.publish(this.q.now, node.exec.queueDepth, node.exec.running, node.exec.meanRunMs)
    }
    this.modes?.published(i)
  }

  /** The capacity service's early advert on a significant load change (when enabled). */
  private loadChanged (i: number): void {
    const node = this.nodes[i]
    if (!node.alive || node.earlyPending || this.w.malice[i] !== HONEST) return
    const e = node.exec
    const step = Math.max(2, Math.ceil(e.concurrency / 4))
    const crossedFull = (node.ring.lastRunning >= e.concurrency) !== (e.running >= e.concurrency)
    if (!crossedFull && Math.abs(e.queueDepth - node.ring.lastQueueDepth) < step) return
    node.earlyPending = true
    this.q.at(Math.max(this.q.now, node.ring.lastAt + (this.opt.earlyAdGapMs ?? 100)), () => {
      node.earlyPending = false
      this.publish(i)
    })
  }

  // ---- churn ----

  private crash (i: number): void {
    const node = this.nodes[i]
    node.alive = false
    this.count('crash')
    const silent = this.s.faults.churn?.detect === 'liveness'
    for (const item of node.exec.crash()) {
      const ticket = item.ticket as Ticket
      const o = ticket.att.task.origin
      if (o === i) continue
      const at = this.q.now + (silent ? SILENT_DETECT_MS : this.w.net.oneWay(i, o))
      if (item.type === 'reservation') this.q.at(at, () => { this.reservationFailed(ticket, 'lost') })
      else this.outcomeAt(at, ticket, 'lost')
    }
    // Its dispatcher dies with it: every attempt it had open (hedged and orphaned ones too); the
    // peers drop its reservations when the connection goes.
    for (const att of node.open) {
      for (const k of att.tickets) {
        if (k.res !== undefined && k.target !== i) {
          const target = k.target
          this.q.after(this.w.net.oneWay(i, target), () => { this.cancelAt(target, k) })
        }
      }
    }
    node.open.clear()
    node.inc++
    // Its own tasks stop here; the journal resumes them on restart.
    for (const t of node.own) {
      t.suspended = true
      t.inflight.clear()
      t.settledQ = []
      t.waiting = undefined
    }
    node.sent.clear()
  }

  private restart (i: number): void {
    const node = this.nodes[i]
    node.alive = true
    node.bounceRate = 0
    this.count('restart')
    this.publish(i)
    for (const t of [...node.own]) {
      t.suspended = false
      t.deadline = this.q.now + this.s.workload.taskTimeoutMs
      t.tries = 0
      t.failures = 0
      t.final = false
      t.exclude.clear()
      t.bounced = false
      this.count('resumed')
      this.begin(t)
    }
  }
}

const NEUTRAL = { score: 0, state: 'healthy' } as const

const ACTIONS: Partial<Record<AttemptEvent, ReputationAction>> = {
  success: ReputationAction.TaskSucceeded,
  failure: ReputationAction.TaskFailed,
  timeout: ReputationAction.TaskTimedOut,
  'wrong-result': ReputationAction.WrongResult,
  'broken-promise': ReputationAction.BrokenPromise
}

/**
 * One origin's unanswered tasks at one peer, as the capacity table counts them: `now`, and
 * `atAd`, the count when the peer's current advert arrived. Adverts are read lazily (ads.ts), so
 * the count's recent history is kept to know its value at any advert's arrival; history older
 * than an advert can stay fresh is folded away.
 */
class Outstanding {
  now = 0
  atAd = 0
  private seq = -1
  /** Changes as [time, count after], oldest first; `base` is the count before the first. */
  private hist: number[] = []
  private base = 0

  change (t: number, delta: number, keepMs: number): void {
    this.now = Math.max(0, this.now + delta)
    this.hist.push(t, this.now)
    if (this.hist.length > 32) this.fold(t - keepMs - 1)
  }

  /** The advert `seq`, received at `at`, is the current one. */
  adArrived (seq: number, at: number): void {
    if (seq === this.seq) return
    this.seq = seq
    this.fold(at)
    this.atAd = this.base
  }

  /** Forget changes at or before `t`: the count then becomes the base. */
  private fold (t: number): void {
    const h = this.hist
    let k = 0
    while (k < h.length && h[k] <= t) { this.base = h[k + 1]; k += 2 }
    if (k > 0) this.hist = h.slice(k)
  }
}

/** Time peer i was up within [0, end). */
function upTimeWithin (w: World, i: number, end: number): number {
  const down = Math.max(0, Math.min(end, w.upAt[i]) - Math.min(end, w.downAt[i]))
  return end - down
}

export { DEFAULT_PLAN_PARAMS, DEFAULT_SCORE_PARAMS }
