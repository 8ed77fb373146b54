/**
 * One simulated fedmesh node: the real `Executor`, `CapacityTable` (fed lazily), `Dispatcher`,
 * `CircuitBreakers`, `PromiseJudge` and `ReputationLedger`, wired as the task service wires them,
 * on timers that die with the process. A crash loses the executor's queue and running work, the
 * dispatcher with every attempt it had open, the breakers and the judge; the execution log
 * (a task id never runs twice here, across crashes too), the reputation ledger and the journal
 * of the node's own tasks survive, as they are on disk in the daemon.
 */
import { ReputationLedger } from '../../src/core/reputation/index.js'
import { PromiseJudge } from '../../src/core/reputation/promise-judge.js'
import { CircuitBreakers, DEFAULT_BREAKER_PARAMS } from '../../src/core/routing/circuit-breaker.js'
import { ATTEMPT_ACTIONS, attemptReports } from '../../src/services/tasks/attempt-reports.js'
import { Dispatcher } from '../../src/services/tasks/dispatcher.js'
import { Executor } from '../../src/services/tasks/executor.js'
import { ExecutionLog } from '../../src/store/execution-log.js'
import { LazyCapacityTable } from './lazy-table.js'
import { SimTaskClient } from './sim-task-client.js'
import type { BreakerParams } from '../../src/core/routing/circuit-breaker.js'
import type { PlanParams } from '../../src/core/routing/plan.js'
import type { ScoreParams } from '../../src/core/routing/score.js'
import type { AttemptEvent, DispatcherInit } from '../../src/services/tasks/dispatcher.js'
import type { TaskHandler } from '../../src/services/tasks/handlers.js'
import type { Timers } from '../../src/util/timers.js'
import type { Planner } from './baselines.js'
import type { Inbound, Outbound, SimPeer, SimProtocol } from './sim-task-client.js'
import type { VirtualTime } from './virtual-time.js'
import type { AdSource } from './lazy-table.js'
import type { Examination } from './evidence.js'
import type { AllowanceState } from '../../src/util/allowance.js'

/** The one task kind of the model. */
export const KIND = 'sim'
/** A node's own run of a task's input to examine shared evidence (the evidence service's `runHere`). */
export const CHECK_KIND = 'sim-check'

/** How one node is built (the same for every node of a run). */
/** Dispatcher rules a variant may switch (DispatcherInit options; the defaults are the code's). */
export type DispatcherRules = Pick<DispatcherInit, 'hedge' | 'reserveWhenBouncing' | 'hedgeStarted' | 'stopLosers' | 'patienceQuantile' | 'silenceSlackMs'>

export interface NodeSetup {
  vt: VirtualTime
  protocol: SimProtocol
  ids: readonly string[]
  indexOf: (id: string) => number | undefined
  known: (node: number) => ArrayLike<number>
  ads: AdSource
  rttMs: (a: number, b: number) => number
  intervalMs: number
  holdMs: number
  queueLimitFactor: number
  score: ScoreParams
  plan: PlanParams
  breaker?: BreakerParams
  attemptTimeoutFactor?: number
  minAttemptTimeoutMs?: number
  maxAttempts: number
  maxTries: number
  slackMs: number
  /** DispatcherInit options compared by variants. */
  rules: DispatcherRules
  /** A baseline's choice instead of fedmesh's (no reputation, no breakers). */
  planner?: (selfId: string) => Planner
  /** Reputation and breakers matter (fedmesh). */
  judged: boolean
  random: () => number
  /** The submitter's check of an answer (the model's spot check): false = wrong. */
  verify: (node: SimNode, input: Uint8Array, output: Uint8Array) => boolean
  handler: (node: SimNode) => TaskHandler
  /** Runs an input again to examine evidence: holds a slot as a task does, nothing else. */
  checkHandler: (node: SimNode) => TaskHandler
  onAttempt: (node: SimNode, peer: string, event: AttemptEvent) => void
  onSent: (node: SimNode, peer: string) => void
}

export class SimNode implements SimPeer {
  readonly id: string
  readonly life = { incarnation: 0 }
  readonly inbound = new Set<Inbound>()
  readonly outbound = new Set<Outbound>()
  readonly timers: Timers
  /** On disk in the daemon: survives crashes. */
  readonly executions = ExecutionLog.memory({ keep: 500 })
  readonly ledger: ReputationLedger | undefined
  alive = true
  executor: Executor | undefined
  dispatcher: Dispatcher | undefined
  table: LazyCapacityTable | undefined
  /** Slot time spent on tasks within the measured window, ms. */
  workMs = 0
  /** Evidence: each sender's allowance here, whether a run for one is under way, what waits (in memory). */
  evidenceAllowance = new Map<number, AllowanceState>()
  examining = false
  evidenceWaiting: Examination[] = []

  constructor (readonly index: number, readonly malice: number, readonly concurrency: number, private readonly setup: NodeSetup) {
    this.id = setup.ids[index]
    this.timers = setup.vt.timersOf(this.life)
    this.ledger = setup.judged ? new ReputationLedger({ clock: setup.vt.clock, maxPeers: Math.max(2_000, setup.ids.length) }) : undefined
    this.boot()
  }

  get queueLimit (): number {
    return Math.max(1, Math.round(this.concurrency * this.setup.queueLimitFactor))
  }

  /** Start (or restart) the process: fresh executor, table, breakers, judge and dispatcher. */
  boot (): void {
    const s = this.setup
    const clock = s.vt.clock
    this.alive = true
    this.evidenceAllowance = new Map()
    this.examining = false
    this.evidenceWaiting = []
    this.executor = new Executor({
      concurrency: this.concurrency,
      queueLimit: this.queueLimit,
      handlers: new Map([[KIND, s.handler(this)], [CHECK_KIND, s.checkHandler(this)]]),
      holdMs: s.holdMs,
      executions: this.executions,
      clock,
      timers: this.timers
    })
    const table = new LazyCapacityTable({
      clock,
      known: () => s.known(this.index),
      idOf: (p) => s.ids[p],
      indexOf: s.indexOf,
      self: this.index,
      ads: s.ads,
      intervalMs: s.intervalMs,
      kind: KIND
    })
    this.table = table
    const breakers = new CircuitBreakers({ ...DEFAULT_BREAKER_PARAMS, ...s.breaker })
    const judge = new PromiseJudge(clock, { freshMs: s.intervalMs })
    const ledger = this.ledger
    const report = attemptReports({
      breakers,
      judge,
      table: () => table,
      clock,
      onAttempt: (peer, event) => {
        s.onAttempt(this, peer, event)
        const action = ATTEMPT_ACTIONS[event]
        if (action != null) ledger?.apply(peer, action)
      }
    })
    const self = this.index
    const planner = s.planner?.(this.id)
    // The dispatcher reads these at once: one object each, reused (no garbage per candidate).
    const rtt = { rttMs: 0, source: 'ping' as const }
    this.dispatcher = new Dispatcher({
      selfId: this.id,
      executor: this.executor,
      table: () => table,
      view: {
        rtt: (peer) => {
          rtt.rttMs = s.rttMs(self, s.indexOf(peer) as number)
          return rtt
        },
        reputation: (peer) => ledger === undefined ? NEUTRAL : ledger.standing(peer),
        circuitOpen: (peer) => s.judged && breakers.isOpen(peer, clock.now()),
        connected: () => true
      },
      client: (peer) => new SimTaskClient(s.protocol, this, s.indexOf(peer) as number, this.timers),
      clock,
      timers: this.timers,
      random: s.random,
      maxAttempts: s.maxAttempts,
      maxTries: s.maxTries,
      slackMs: s.slackMs,
      scoreParams: s.score,
      planParams: s.plan,
      attemptTimeoutFactor: s.attemptTimeoutFactor,
      minAttemptTimeoutMs: s.minAttemptTimeoutMs,
      ...s.rules,
      planner,
      verify: (_kind, input, output) => s.verify(this, input, output),
      onAttempt: s.judged ? report : (peer, event) => { s.onAttempt(this, peer, event) },
      onSent: (peer) => { table.noteSent(peer); s.onSent(this, peer) },
      onDone: (peer) => { table.noteDone(peer) }
    })
  }

  /** The process dies: everything in memory goes, and every timer it had set. */
  crash (): void {
    this.alive = false
    this.life.incarnation++
    this.executor = undefined
    this.dispatcher = undefined
    this.table = undefined
  }
}

const NEUTRAL = { score: 0, state: 'healthy' } as const
