/**
 * The model-mode simulator: one policy replaying a world's task trace in virtual time.
 *
 * Each node has an executor (executor.ts), publishes capacity adverts every `adIntervalMs`
 * (ads.ts), and dispatches its own tasks as `services/tasks/dispatcher.ts` does: ask the policy
 * for a plan; a direct send may bounce BUSY; a reservation plan reserves on every target, binds
 * the task to the first READY and cancels the rest; every message pays its link's one-way
 * latency. Failures follow the dispatcher's rules: a lost or silent peer is retried elsewhere
 * after a backoff (at most `maxAttempts` such failures, `maxTries` tries in all), refusals move
 * on at once, a wrong answer is caught by verification and retried. Outcomes feed the node's
 * `ReputationLedger` and `CircuitBreakers` (fedmesh only: the baselines ignore both).
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
 * Rule changes to `services/tasks/dispatcher.ts` prototyped in the model (none is in the code):
 * - reserveWhenBouncing: see below.
 * - hedgeOnTimeout: when an attempt times out, retry elsewhere as now but keep listening to the
 *   timed-out attempt; whichever correct result comes first ends the task (a long task on a live
 *   peer is not thrown away; a black hole still costs one timeout).
 */
export interface SimRules {
  hedgeOnTimeout?: boolean
  /**
   * Bind late from the first try while most recent direct sends bounced: the node keeps an
   * EWMA (weight 0.1) of BUSY answers to its remote direct sends; above this fraction it plans
   * every new task as after a bounce.
   */
  reserveWhenBouncing?: number
}

/** How an attempt ended, as the dispatcher sees it. */
type Code = 'ok' | 'busy' | 'full' | 'queue-timeout' | 'run-timeout' | 'lost' | 'timeout'

/** Time for a node to notice a silently dead link: liveness plus one tick (connectivity.ts). */
const SILENT_DETECT_MS = DEFAULT_LIVENESS_MS + RECOMMENDED_TICK_MS

export interface EngineOptions {
  policy: Policy
  /** Name in the report (a variant's name, or the policy's). */
  label: string
  score?: ScoreParams
  plan?: PlanParams
  breaker?: BreakerParams
  earlyAds?: boolean
  /** The dispatcher's attempt timeout: this many times the expected completion (default 4)... */
  attemptTimeoutFactor?: number
  /** ... but never less than this, ms (default 5 s). */
  minAttemptTimeoutMs?: number
  /** Rule changes to the dispatcher tried as variants (not in dispatcher.ts). */
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
  /** Tasks whose work ran on more than one node (a retry after a lost, maybe-executed attempt). */
  duplicateRuns: number
  endMs: number
  events: number
  reputation?: ReputationSeries
  modes?: ModeTimeline
  /** Per measured task that completed, when `traceTasks`. */
  tasks?: TaskRecord[]
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
  /** Plans in order: L (direct local), D (direct remote), R (reserve), and what ended each: b (busy), f (full), t (timeout), l (lost). */
  path: string
}

interface Ticket {
  task: TaskState
  attempt: number
  target: number
  /** Reservation tickets: the reservation at the target, once placed. */
  res?: ReservationItem
  state: 'pending' | 'ready' | 'failed' | 'bound'
  code?: Code
  /** The reservation could not even be placed (peer unreachable). */
  placeFailed?: boolean
  /** Counted in the origin's outstanding tasks at the target (capacity table noteSent) until the attempt ends. */
  sent?: boolean
  /** Timed out but left open (rules.hedgeOnTimeout): a late correct result still ends the task. */
  hedged?: boolean
  /** The origin's estimates for the target when it chose it: run time and RTT, ms (fedmesh). */
  runMs?: number
  rttMs?: number
}

interface TaskState {
  id: number
  origin: number
  arrival: number
  service: number
  deadline: number
  tries: number
  failures: number
  attempt: number
  exclude: Set<number>
  done: boolean
  suspended: boolean
  tickets: Ticket[]
  winner: Ticket | undefined
  ranOn: Set<number> | undefined
  bounced: boolean
  path: string
  ran: { target: number, queuedMs: number, runMs: number, startedAt: number } | undefined
  /** Late binding: when the current reservation step started, and the budget then. */
  reserveStart: number
  reserveRemaining: number
}

interface Node {
  exec: SimExecutor
  ring: AdRing
  alive: boolean
  ledger: ReputationLedger | undefined
  breakers: CircuitBreakers | undefined
  /** Peers this node ever reported to its ledger and breakers (the others score 0, breaker closed). */
  rated: Set<number>
  /** Per peer: this node's unanswered tasks there, now and when its advert arrived (capacity-table.ts). */
  sent: Map<number, Outstanding>
  rr: { next: number }
  adToken: number
  earlyPending: boolean
  /** Tasks this node submitted that are not finished. */
  own: Set<TaskState>
  /** EWMA of BUSY answers to this node's remote direct sends (rules.reserveWhenBouncing). */
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

  constructor (private readonly w: World, private readonly opt: EngineOptions) {
    this.s = w.scenario
    this.interval = this.s.routing.adIntervalMs
    this.fedmesh = opt.policy.name === 'fedmesh'
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
        ledger: this.fedmesh ? new ReputationLedger({ clock, maxPeers: Math.max(2_000, w.peers) }) : undefined,
        breakers: this.fedmesh ? new CircuitBreakers({ ...DEFAULT_BREAKER_PARAMS, ...opt.breaker }) : undefined,
        rated: new Set(),
        sent: new Map(),
        rr: { next: i },
        adToken: 0,
        earlyPending: false,
        own: new Set(),
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
    if (w.trace.length > 0) q.at(w.trace.at[0], () => { this.arrive(0) })
    const end = this.s.durationMs + this.s.drainMs
    // Stop when every task is done and the window is over (adverts would run forever).
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
      for (const t of n.own) if (t.arrival >= this.s.warmupMs) this.lost++
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
      tasks: this.taskRecords
    }
  }

  private count (what: string, n = 1): void {
    this.decisions[what] = (this.decisions[what] ?? 0) + n
  }

  // ---- arrivals and the dispatcher loop ----

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
      attempt: 0,
      exclude: new Set(),
      done: false,
      suspended: false,
      tickets: [],
      winner: undefined,
      ranOn: undefined,
      bounced: false,
      path: '',
      ran: undefined,
      reserveStart: 0,
      reserveRemaining: 0
    }
    if (task.arrival >= this.s.warmupMs) this.measured++
    const th = this.opt.rules?.reserveWhenBouncing
    if (th !== undefined && node.bounceRate > th) {
      task.bounced = true
      this.count('reserve-first (bouncing)')
    }
    node.own.add(task)
    this.open++
    this.step(task)
  }

  private step (task: TaskState): void {
    if (task.done || task.suspended) return
    const r = this.s.routing
    const now = this.q.now
    const remaining = task.deadline - now
    if (task.failures >= r.maxAttempts || task.tries >= r.maxTries || remaining <= 0) {
      this.count(remaining <= 0 ? 'gave-up-deadline' : 'gave-up-attempts')
      this.finish(task, false)
      return
    }
    task.tries++
    task.attempt++
    task.tickets = []
    task.winner = undefined
    const plan = this.opt.policy.choose(this.context(task), this.nodes[task.origin].rr)
    this.dispatchPlan(task, plan, remaining)
  }

  private dispatchPlan (task: TaskState, plan: SimPlan, remaining: number): void {
    if (plan.mode === 'none') {
      this.count('plan-none')
      this.finish(task, false)
      return
    }
    if (plan.mode === 'direct') {
      this.count(plan.target === task.origin ? 'direct-local' : 'direct-remote')
      if (this.taskRecords !== undefined) task.path += plan.target === task.origin ? 'L' : 'D'
      if (plan.target !== task.origin) {
        this.adAgeSum += plan.adAgeMs
        this.adAgeCount++
      }
      this.direct(task, plan.target, plan.maxWaitMs, remaining, plan.expectedMs, plan.runMs)
      return
    }
    if (this.taskRecords !== undefined) task.path += 'R'
    this.count(task.bounced ? 'reserve-after-bounce' : 'reserve')
    this.reserve(task, plan.targets, remaining, plan.runMs, plan.rttMs)
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

  /** How long the dispatcher waits for one attempt: min(budget + slack, max(floor, factor × expected)). */
  private attemptTimeout (expectedMs: number | undefined, remaining: number): number {
    const limit = remaining + this.s.routing.slackMs
    if (expectedMs === undefined) return limit
    const patience = Math.max(this.opt.minAttemptTimeoutMs ?? 5_000, (this.opt.attemptTimeoutFactor ?? 4) * expectedMs)
    return Math.min(limit, patience)
  }

  // ---- direct sends ----

  private direct (task: TaskState, target: number, maxWaitMs: number, remaining: number, expectedMs: number | undefined, runMs: number | undefined): void {
    const ticket: Ticket = { task, attempt: task.attempt, target, state: 'pending', runMs }
    task.tickets.push(ticket)
    const o = task.origin
    if (target === o) {
      this.submitAt(target, ticket, remaining, maxWaitMs)
      return
    }
    this.track(o, ticket, 1)
    const budget = Math.max(1, remaining - this.w.net.rtt(o, target))
    this.armTimeout(task, this.attemptTimeout(expectedMs, remaining))
    this.send(o, target, () => { this.submitAt(target, ticket, budget, maxWaitMs) }, (at) => { this.outcomeAt(at, ticket, 'lost') })
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
    if (exec.finished.has(ticket.task.id)) {
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
    return { type: 'task', taskId: ticket.task.id, serviceMs: ticket.task.service * this.w.slow[target], deadlineMs: budget, enqueuedAt: 0, startedAt: 0, ticket }
  }

  /** The dispatcher's abort signal for one attempt, after `ms`. */
  private armTimeout (task: TaskState, ms: number): void {
    const attempt = task.attempt
    this.q.after(ms, () => {
      if (task.done || task.suspended || task.attempt !== attempt) return
      this.count('attempt-timeout')
      if (task.tickets.length > 1 && task.winner === undefined) {
        // Reservations still waiting when the signal fires: every one rejects (aborted).
        for (const k of task.tickets) {
          if (k.state !== 'pending') continue
          k.state = 'failed'
          k.code = 'lost'
          this.sendCancel(task, k)
        }
        this.reservationsSettled(task)
        return
      }
      const ticket = task.winner ?? task.tickets[0]
      // Proposed rule: the timed-out attempt stays open; its late result still counts.
      if (this.opt.rules?.hedgeOnTimeout === true && ticket.target !== task.origin) ticket.hedged = true
      this.handle(task, ticket.target, 'timeout')
    })
  }

  private sendCancel (task: TaskState, k: Ticket): void {
    if (k.target === task.origin) this.cancelAt(k.target, k)
    else this.send(task.origin, k.target, () => { this.cancelAt(k.target, k) }, () => {})
  }

  // ---- reservations (late binding) ----

  private reserve (task: TaskState, targets: number[], remaining: number, runMs: number[] | undefined, rttMs: number[] | undefined): void {
    const o = task.origin
    targets.forEach((target, k) => {
      const ticket: Ticket = { task, attempt: task.attempt, target, state: 'pending', runMs: runMs?.[k], rttMs: rttMs?.[k] }
      task.tickets.push(ticket)
    })
    task.reserveStart = this.q.now
    task.reserveRemaining = remaining
    // The whole late-binding step (placing, waiting for READY, the bound run) shares one signal.
    this.armTimeout(task, remaining + this.s.routing.slackMs)
    for (const ticket of [...task.tickets]) {
      if (ticket.target === o) {
        this.reserveAt(ticket.target, ticket)
      } else {
        this.send(o, ticket.target, () => { this.reserveAt(ticket.target, ticket) }, (at) => {
          this.q.at(at, () => {
            if (ticket.state !== 'pending' || ticket.attempt !== task.attempt) return
            ticket.placeFailed = true
            this.reservationFailed(ticket, 'lost')
          })
        })
      }
    }
  }

  private reserveAt (target: number, ticket: Ticket): void {
    const task = ticket.task
    if (task.attempt !== ticket.attempt && task.origin !== target) {
      return // the attempt is over; a real CANCEL would follow this frame
    }
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
    const r = this.nodes[target].exec.reserve(task.id, ticket)
    if (r === 'queue-full') {
      this.count('reserve-refused')
      this.replyTo(target, ticket, () => { this.reservationFailed(ticket, 'full') })
      return
    }
    ticket.res = r
    if (ticket.state !== 'pending' || task.done || task.attempt !== ticket.attempt) this.cancelAt(target, ticket)
  }

  private reservationFailed (ticket: Ticket, code: Code): void {
    const task = ticket.task
    if (task.done || task.attempt !== ticket.attempt || ticket.state !== 'pending') return
    ticket.state = 'failed'
    ticket.code = code
    if (task.winner === undefined) this.reservationsSettled(task)
  }

  /** When no reservation can win any more, the attempt ends with the first live target's reason. */
  private reservationsSettled (task: TaskState): void {
    if (task.tickets.some(k => k.state === 'pending' || k.state === 'ready')) return
    const live = task.tickets.filter(k => k.placeFailed !== true)
    const first = live[0] ?? task.tickets[0]
    this.count('reserve-all-failed')
    this.handle(task, first.target, live.length === 0 ? 'lost' : first.code ?? 'lost')
  }

  /** A READY frame reached the origin: the first one wins, the others are cancelled. */
  private onReady (ticket: Ticket): void {
    const task = ticket.task
    if (task.done || task.attempt !== ticket.attempt || ticket.state !== 'pending') return
    if (task.winner !== undefined) return
    ticket.state = 'bound'
    task.winner = ticket
    this.count('reserve-bound')
    for (const k of task.tickets) {
      if (k === ticket) continue
      if (k.state === 'pending' || k.state === 'ready') this.count('reserve-cancelled')
      k.state = 'failed'
      this.sendCancel(task, k)
    }
    const o = task.origin
    if (ticket.target === o) {
      this.bindAt(o, ticket, Math.max(1, task.deadline - this.q.now))
      return
    }
    this.track(o, ticket, 1)
    const left = Math.max(1, task.reserveRemaining - (this.q.now - task.reserveStart) - (ticket.rttMs ?? this.w.net.rtt(o, ticket.target)))
    const budget = Math.max(1, task.deadline - this.q.now - this.w.net.rtt(o, ticket.target))
    // ... and the bound run also gives up after max(5 s, 4 × (run + RTT)) (dispatcher.ts reserve).
    if (ticket.runMs !== undefined) this.armTimeout(task, this.attemptTimeout(ticket.runMs + (ticket.rttMs ?? 0), left))
    this.send(o, ticket.target, () => { this.bindAt(ticket.target, ticket, budget) }, (at) => { this.outcomeAt(at, ticket, 'lost') })
  }

  private bindAt (target: number, ticket: Ticket, budget: number): void {
    const exec = this.nodes[target].exec
    const res = ticket.res
    if (res === undefined) return
    if (exec.finished.has(ticket.task.id)) {
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
        const t = ticket.task
        if (this.taskRecords !== undefined && result === 'ok') t.ran = { target, queuedMs: item.startedAt - item.enqueuedAt, runMs, startedAt: item.startedAt }
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
    const o = ticket.task.origin
    if (target === o) {
      this.q.after(0, () => { this.outcome(ticket, code) })
      return
    }
    this.send(target, o, () => { this.outcome(ticket, code) }, (at) => {
      if (isUp(this.w, o, at)) this.outcomeAt(at, ticket, 'lost')
    })
  }

  private replyTo (target: number, ticket: Ticket, fn: () => void): void {
    const o = ticket.task.origin
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

  private outcome (ticket: Ticket, code: Code): void {
    const task = ticket.task
    if (ticket.hedged === true && task.attempt !== ticket.attempt) {
      this.hedgeOutcome(ticket, code)
      return
    }
    if (task.done || task.suspended || task.attempt !== ticket.attempt) return
    if (task.tickets.length > 1 && task.winner !== ticket) {
      // A reservation answered before it was bound: a refusal (or a late reply to a cancelled one).
      if (code !== 'ok' && task.winner === undefined) this.reservationFailed(ticket, code)
      return
    }
    if (ticket.state === 'failed') return
    ticket.state = 'failed'
    this.handle(task, ticket.target, code)
  }

  /** A timed-out attempt answered after all (rules.hedgeOnTimeout): a correct result ends the task. */
  private hedgeOutcome (ticket: Ticket, code: Code): void {
    const task = ticket.task
    if (task.done || task.suspended || code !== 'ok') return
    if (this.w.malice[ticket.target] === WRONG) {
      this.count('wrong-result-caught')
      this.report(task, ticket.target, 'wrong-result')
      return
    }
    this.count('hedge-won')
    // The attempt under way (a retry elsewhere) is abandoned: reservations cancelled, the rest ignored.
    for (const k of task.tickets) {
      if (k.state === 'pending' || k.state === 'ready') {
        k.state = 'failed'
        if (k !== task.winner) this.sendCancel(task, k)
      }
      if (k.sent === true) this.track(task.origin, k, -1)
    }
    task.attempt++
    this.report(task, ticket.target, 'success')
    this.finish(task, true)
  }

  /** The dispatcher's decision after one step. */
  private handle (task: TaskState, peer: number, code: Code): void {
    const r = this.s.routing
    const remote = peer !== task.origin
    for (const k of task.tickets) if (k.sent === true) this.track(task.origin, k, -1)
    if (this.taskRecords !== undefined && code !== 'ok') task.path += code === 'busy' ? 'b' : code === 'full' ? 'f' : code === 'timeout' ? 't' : 'l'
    task.attempt++ // nothing else from this attempt counts
    if (code === 'ok') {
      if (remote && this.w.malice[peer] === WRONG) {
        this.count('wrong-result-caught')
        this.report(task, peer, 'wrong-result')
        task.exclude.add(peer)
        task.failures++
        this.step(task)
        return
      }
      this.report(task, peer, 'success')
      this.finish(task, true)
      return
    }
    if (code === 'lost' || code === 'timeout' || (code === 'queue-timeout' && remote)) {
      this.count('failover')
      this.report(task, peer, code === 'lost' ? 'failure' : 'timeout')
      task.exclude.add(peer)
      task.failures++
      const delay = backoffDelay(task.failures - 1, { minMs: 10, maxMs: 200 }, () => this.decideRng.float())
      this.q.after(delay, () => { this.step(task) })
      return
    }
    if (remote && task.tickets.length === 1 && this.opt.rules?.reserveWhenBouncing !== undefined) {
      const node = this.nodes[task.origin]
      node.bounceRate += 0.1 * ((code === 'busy' ? 1 : 0) - node.bounceRate)
    }
    if (code === 'busy' || code === 'full') {
      // Any refusal: the table was wrong about that peer, the next try binds late.
      task.bounced = true
      this.report(task, peer, code === 'busy' ? 'refused' : 'broken-promise')
      task.exclude.add(peer)
      this.step(task)
      return
    }
    this.count('task-failed-final')
    this.finish(task, false)
  }

  /** The task service's mapping of attempt events to breakers and reputation. */
  private report (task: TaskState, peer: number, event: AttemptEvent): void {
    if (!this.fedmesh || peer === task.origin) return
    const node = this.nodes[task.origin]
    const id = this.ids[peer]
    const now = this.q.now
    node.rated.add(peer)
    if (event === 'success') node.breakers?.success(id)
    if (event === 'failure' || event === 'timeout') node.breakers?.failure(id, now)
    const action = ACTIONS[event]
    if (action !== undefined) node.ledger?.apply(id, action)
  }

  private finish (task: TaskState, ok: boolean): void {
    if (task.done) return
    task.done = true
    this.open--
    this.nodes[task.origin].own.delete(task)
    if (task.arrival < this.s.warmupMs) return
    if (ok) this.responses.push(this.q.now - task.arrival)
    else this.lost++
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
    this.q.at(Math.max(this.q.now, node.ring.lastAt + 100), () => {
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
      const o = ticket.task.origin
      if (o === i) continue
      const at = this.q.now + (silent ? SILENT_DETECT_MS : this.w.net.oneWay(i, o))
      if (item.type === 'reservation') this.q.at(at, () => { this.reservationFailed(ticket, 'lost') })
      else this.outcomeAt(at, ticket, 'lost')
    }
    // Its own tasks stop here; the journal resumes them on restart.
    for (const t of node.own) {
      t.suspended = true
      t.attempt++
      for (const k of t.tickets) {
        if (k.res !== undefined && k.target !== i) {
          const target = k.target
          this.q.after(this.w.net.oneWay(i, target), () => { this.cancelAt(target, k) })
        }
      }
    }
    node.sent.clear()
  }

  private restart (i: number): void {
    const node = this.nodes[i]
    node.alive = true
    this.count('restart')
    this.publish(i)
    for (const t of [...node.own]) {
      t.suspended = false
      t.deadline = this.q.now + this.s.workload.taskTimeoutMs
      t.tries = 0
      t.failures = 0
      t.exclude.clear()
      t.bounced = false
      this.count('resumed')
      this.step(t)
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
