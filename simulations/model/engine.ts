/**
 * The model-mode simulator: one policy replaying a world's task trace in virtual time, through
 * the real services. Every node is a `SimNode` (the real Executor, CapacityTable, Dispatcher,
 * breakers, promise judge and reputation ledger); frames between nodes go through
 * `SimTaskClient` over the world's links; time is the event queue's (`VirtualTime`). What is
 * simulated: the network (latency, loss as retransmission, partitions), crashes and restarts,
 * malicious peers, the task handler (it holds its slot for the task's service time on that
 * peer), and adverts (rings read lazily, published every interval and, optionally, at once on a
 * load change as the capacity service does). Not modelled: the admission queue in front of the
 * dispatcher (tasks dispatch as they arrive), SHUTTING_DOWN (peers crash, they do not drain),
 * dial costs (every peer is connected).
 */
import { ErrorCode } from '../../src/wire/task.js'
import { ConnectionLostError } from '../../src/services/tasks/task-client.js'
import { baselinePlanner } from './baselines.js'
import { EvidenceModel } from './evidence.js'
import { Links } from './links.js'
import { ModeTracker } from './mode-tracker.js'
import { ReputationTracker } from './reputation-tracker.js'
import { KIND, SimNode } from './sim-node.js'
import { cancelAt } from './sim-task-client.js'
import { Timeline } from './timeline.js'
import { FAST_YIELD_EVERY, VirtualTime } from './virtual-time.js'
import { BLACKHOLE, HONEST, LIAR, peerIndex, WRONG } from './world.js'
import type { BreakerParams } from '../../src/core/routing/circuit-breaker.js'
import type { PlanParams } from '../../src/core/routing/plan.js'
import type { ScoreParams } from '../../src/core/routing/score.js'
import type { TaskHandler } from '../../src/services/tasks/handlers.js'
import type { Rng } from '../prng.js'
import type { BaselineName } from './baselines.js'
import { AdRings } from './ads.js'
import type { AdView } from './ads.js'
import type { ModeTimeline } from './mode-tracker.js'
import type { ReputationSeries } from './reputation-tracker.js'
import type { DispatcherRules, NodeSetup } from './sim-node.js'
import type { SimProtocol } from './sim-task-client.js'
import type { TimelineSeries } from '../report/types.js'
import type { World } from './world.js'

export type { DispatcherRules } from './sim-node.js'

export interface EngineOptions {
  /** Name in the report (a variant's name, or the policy's). */
  label: string
  /** A baseline's choice instead of fedmesh's planDispatch. */
  baseline?: BaselineName
  score: ScoreParams
  plan: PlanParams
  breaker?: Partial<BreakerParams>
  earlyAds?: boolean
  /** Shortest gap between two early ads, ms (the capacity service's minGapMs; default 100). */
  earlyAdGapMs?: number
  attemptTimeoutFactor?: number
  minAttemptTimeoutMs?: number
  rules?: DispatcherRules
  /** Keep reputation series and exclusion times. */
  trackReputation?: boolean
  /** Keep per-node federated/solo timelines (partition scenarios). */
  trackModes?: boolean
  /** Called every 50,000 events with the virtual time (memory sampling, progress). */
  onProgress?: (virtualMs: number) => void
  rng: Rng
}

export interface EngineResult {
  label: string
  policy: string
  /** Response times of measured tasks that completed, ms (arrival at the origin → result there). */
  responses: Float64Array
  /** Measured tasks (arrived after warm-up at a live origin). */
  measured: number
  /** Measured tasks that ended without a correct result, or never ended (beyond-budget ones apart). */
  lost: number
  /** Measured tasks that ended without a result because their run alone is longer than their budget anywhere (World.beyondBudget). */
  beyondBudget: number
  /** Tasks submitted while their origin was down (never accepted; not counted anywhere else). */
  notAccepted: number
  /** Per peer: useful work / (slots × time up), within the arrival window. */
  utilisation: Float64Array
  decisions: Record<string, number>
  /** Mean age of the advert behind each remote send, ms. */
  meanAdAgeMs: number
  /** Tasks whose work ran on more than one node (a hedge, or a retry after a lost, maybe-executed attempt). */
  duplicateRuns: number
  /** The run over time (every task, warm-up included). */
  timeline: TimelineSeries
  endMs: number
  events: number
  reputation?: ReputationSeries
  modes?: ModeTimeline
}

interface TaskState {
  index: number
  id: string
  origin: number
  arrival: number
  input: Uint8Array
  measured: boolean
}

/** A submitter holding nothing anywhere: what every other remote peer is told. */
const NOBODY = 'nobody'

const RIGHT = Uint8Array.of(1)
const WRONG_OUTPUT = Uint8Array.of(0)

export async function runEngine (world: World, opt: EngineOptions): Promise<EngineResult> {
  return await new Engine(world, opt).run()
}

class Engine {
  private readonly vt = new VirtualTime({ yieldEvery: FAST_YIELD_EVERY })
  private readonly nodes: SimNode[] = []
  private readonly ids: string[]
  private readonly idIndex = new Map<string, number>()
  private readonly s: World['scenario']
  private readonly interval: number
  private readonly decisions: Record<string, number> = {}
  private readonly responses: number[] = []
  private readonly timeline: Timeline
  private readonly windowEnd: number
  private readonly links: Links
  private readonly everyone: Int32Array[] = []
  /** Per node: its unfinished own tasks (the journal: resumed after a restart). */
  private readonly own: Array<Set<TaskState>> = []
  /** Per task: the first node its work started on, and whether it started on another too. */
  private readonly ranOn: Int32Array
  private readonly reputation: ReputationTracker | undefined
  private readonly modes: ModeTracker | undefined
  private measured = 0
  private lost = 0
  private beyondBudget = 0
  private notAccepted = 0
  private duplicateRuns = 0
  private adAgeSum = 0
  private adAgeCount = 0
  private open = 0
  private nextArrival = 0
  private readonly earlyPending: Uint8Array
  /** Per node: the current advert timer (an early advert restarts the interval). */
  private readonly adTokens: Int32Array
  /** Every node's adverts. */
  private readonly rings: AdRings
  /** Shared proof of wrong results (fedmesh only: baselines keep no reputation). */
  private readonly evidence: EvidenceModel | undefined
  /** Per node: the task its last failed check was of (read by the wrong-result report that follows it). */
  private readonly rejected: Int32Array

  constructor (private readonly w: World, private readonly opt: EngineOptions) {
    this.s = w.scenario
    this.interval = this.s.routing.adIntervalMs
    this.windowEnd = this.s.durationMs
    this.timeline = new Timeline(this.s.durationMs)
    this.ids = Array.from({ length: w.peers }, (_, i) => `p${String(i).padStart(5, '0')}`)
    this.ids.forEach((id, i) => this.idIndex.set(id, i))
    this.ranOn = new Int32Array(w.trace.length).fill(-1)
    this.earlyPending = new Uint8Array(w.peers)
    this.adTokens = new Int32Array(w.peers)
    this.rings = new AdRings(w.peers)
    this.rejected = new Int32Array(w.peers).fill(-1)
    this.links = new Links(this.vt, w, opt.rng.fork('net'))
    const protocol: SimProtocol = {
      links: this.links,
      peer: (i) => this.nodes[i],
      liarRefusal: this.s.faults.malicious?.liarRefusal === 'busy' ? ErrorCode.BUSY : ErrorCode.QUEUE_FULL,
      count: (what) => { this.count(what) }
    }
    const decide = opt.rng.fork('decide')
    // Which wrong answers the submitter's check sees (a spot check's draw; 1: every answer).
    const checks = opt.rng.fork('check')
    const checkFraction = this.s.faults.malicious?.checkFraction ?? 1
    const r = this.s.routing
    const baseline = opt.baseline
    const setup: NodeSetup = {
      vt: this.vt,
      protocol,
      ids: this.ids,
      indexOf: peerIndex,
      known: (o) => this.known(o),
      ads: {
        latestSeq: this.rings.count,
        oneWay: (p, reader) => w.net.oneWay(p, reader),
        visible: (p, reader, oneWay, into) => this.rings.visible(w.net, p, reader, oneWay, this.vt.q.now, this.interval, into),
        nextArrival: (p, seq, oneWay) => this.rings.nextArrival(p, seq, oneWay),
        shared: (p, ad, make) => this.rings.decodedAs(p, ad, make)
      },
      rttMs: (a, b) => w.net.rtt(a, b),
      intervalMs: this.interval,
      holdMs: this.s.nodes.holdMs,
      queueLimitFactor: this.s.nodes.queueLimitFactor,
      score: opt.score,
      plan: opt.plan,
      breaker: opt.breaker as BreakerParams | undefined,
      attemptTimeoutFactor: opt.attemptTimeoutFactor,
      minAttemptTimeoutMs: opt.minAttemptTimeoutMs,
      maxAttempts: r.maxAttempts,
      maxTries: r.maxTries,
      slackMs: r.slackMs,
      rules: opt.rules ?? {},
      planner: baseline === undefined ? undefined : (selfId) => baselinePlanner(baseline, selfId),
      judged: baseline === undefined,
      random: () => decide.float(),
      verify: (node, input, output) => {
        if (output.byteLength === 1 && output[0] === 1) return true
        if (checkFraction < 1 && checks.float() >= checkFraction) {
          // Not checked: the wrong answer reaches the user, and proves nothing to anyone.
          this.count('wrong-delivered')
          return true
        }
        this.rejected[node.index] = taskOf(input)
        return false
      },
      handler: (node) => this.handler(node),
      checkHandler: (node) => async (input, ctx) => {
        await this.hold(node, taskOf(input), ctx.signal)
        return RIGHT
      },
      onAttempt: (node, peer, event) => {
        this.count(`report-${event}`)
        // The dispatcher reports a wrong result right after the check that failed.
        if (event !== 'wrong-result' || this.rejected[node.index] < 0) return
        this.evidence?.published(node.index, peerIndex(peer) as number, this.rejected[node.index])
        this.rejected[node.index] = -1
      },
      onSent: (node, peer) => { this.noteAdAge(node, peer) }
    }
    for (let i = 0; i < w.peers; i++) {
      const node = new SimNode(i, w.malice[i], w.concurrency[i], setup)
      this.nodes.push(node)
      this.own.push(new Set())
      this.watchLoad(node)
    }
    if (baseline === undefined && this.s.faults.malicious?.evidence !== false) {
      this.evidence = new EvidenceModel({ vt: this.vt, w, nodes: this.nodes, ids: this.ids, runTimeoutMs: this.s.workload.taskTimeoutMs, count: (what) => { this.count(what) } })
    }
    if (opt.trackReputation === true) this.reputation = new ReputationTracker(w, this.nodes.map(n => n.ledger), this.vt.q, opt.rng.fork('observers'))
    if (opt.trackModes === true && w.partition !== undefined) this.modes = new ModeTracker(w, this.vt.q)
  }

  async run (): Promise<EngineResult> {
    const { w } = this
    const q = this.vt.q
    const phaseRng = this.opt.rng.fork('phase')
    for (let i = 0; i < w.peers; i++) {
      // Nodes start at different moments, so their adverts are not synchronised.
      q.at(phaseRng.float() * this.interval, () => { this.publish(i) })
      if (Number.isFinite(w.downAt[i])) {
        q.at(w.downAt[i], () => { this.crash(i) })
        q.at(w.upAt[i], () => { this.restart(i) })
      }
    }
    this.reputation?.start()
    this.modes?.start()
    if (w.trace.length > 0) q.at(w.trace.at[0], () => { this.arrive(0) })
    const end = this.s.durationMs + this.s.drainMs
    const progress = this.opt.onProgress
    let nextProgress = q.processed + 50_000
    await this.vt.run(end,
      () => this.open === 0 && q.now >= this.s.durationMs && this.nextArrival >= w.trace.length,
      progress === undefined
        ? undefined
        : () => {
            if (q.processed < nextProgress) return
            nextProgress = q.processed + 50_000
            progress(q.now)
          })
    for (const tasks of this.own) {
      for (const t of tasks) if (t.measured) this.countLost(t)
    }
    const utilisation = new Float64Array(w.peers)
    for (let i = 0; i < w.peers; i++) {
      const up = upTimeWithin(w, i, this.windowEnd)
      utilisation[i] = up > 0 ? this.nodes[i].workMs / (w.concurrency[i] * up) : 0
    }
    return {
      label: this.opt.label,
      policy: this.opt.baseline ?? 'fedmesh',
      responses: Float64Array.from(this.responses),
      measured: this.measured,
      lost: this.lost,
      beyondBudget: this.beyondBudget,
      notAccepted: this.notAccepted,
      utilisation,
      decisions: this.decisions,
      meanAdAgeMs: this.adAgeCount > 0 ? this.adAgeSum / this.adAgeCount : 0,
      duplicateRuns: this.duplicateRuns,
      timeline: this.timeline.result(),
      endMs: q.now,
      events: q.processed,
      reputation: this.reputation?.finish(),
      modes: this.modes?.finish(q.now)
    }
  }

  private count (what: string): void {
    this.decisions[what] = (this.decisions[what] ?? 0) + 1
  }

  // ---- tasks ----

  private arrive (i: number): void {
    const { trace } = this.w
    this.nextArrival = i + 1
    if (i + 1 < trace.length) this.vt.q.at(trace.at[i + 1], () => { this.arrive(i + 1) })
    const origin = trace.origin[i]
    if (!this.nodes[origin].alive) {
      this.notAccepted++
      return
    }
    const input = new Uint8Array(4)
    new DataView(input.buffer).setUint32(0, i)
    const task: TaskState = { index: i, id: `t${i}`, origin, arrival: this.vt.q.now, input, measured: this.vt.q.now >= this.s.warmupMs }
    if (task.measured) this.measured++
    this.own[origin].add(task)
    this.open++
    this.timeline.inSystem(this.vt.q.now, this.open)
    this.dispatch(task)
  }

  /** The task service hands the task to the dispatcher (on arrival, or from the journal after a restart). */
  private dispatch (task: TaskState): void {
    const node = this.nodes[task.origin]
    const dispatcher = node.dispatcher
    if (dispatcher === undefined) return
    const inc = node.life.incarnation
    dispatcher.dispatch({ taskId: task.id, kind: KIND, input: task.input, timeoutMs: this.s.workload.taskTimeoutMs }).then(res => {
      if (node.life.incarnation === inc) this.finish(task, res.outcome.error === ErrorCode.NONE)
    }, () => {
      if (node.life.incarnation === inc) this.finish(task, false)
    })
  }

  private finish (task: TaskState, ok: boolean): void {
    if (!this.own[task.origin].delete(task)) return
    this.open--
    this.timeline.inSystem(this.vt.q.now, this.open)
    this.timeline.ended(this.vt.q.now, ok ? this.vt.q.now - task.arrival : undefined)
    if (!task.measured) return
    if (ok) this.responses.push(this.vt.q.now - task.arrival)
    else this.countLost(task)
  }

  private countLost (task: TaskState): void {
    if (this.w.beyondBudget[task.index] === 1) this.beyondBudget++
    else this.lost++
  }

  /** The task handler of one node: holds its slot for the task's service time there. */
  private handler (node: SimNode): TaskHandler {
    const { w } = this
    return async (input, ctx) => {
      const i = taskOf(input)
      if (this.ranOn[i] === -1) this.ranOn[i] = node.index
      else if (this.ranOn[i] !== node.index && this.ranOn[i] >= 0) {
        this.ranOn[i] = -2
        this.duplicateRuns++
      }
      await this.hold(node, i, ctx.signal)
      return w.malice[node.index] === WRONG ? WRONG_OUTPUT : RIGHT
    }
  }

  /** Run task `i` on `node`: its slot is held for the task's service time there (counted as work). */
  private async hold (node: SimNode, i: number, signal: AbortSignal): Promise<void> {
    const q = this.vt.q
    const start = q.now
    const inc = node.life.incarnation
    try {
      await holdFor(node, this.w.trace.service[i] * this.w.slow[node.index], signal)
    } finally {
      // A crash ends the run at the crash (the handler never resumes then).
      if (node.life.incarnation === inc) node.workMs += Math.min(q.now, this.windowEnd) - Math.min(start, this.windowEnd)
    }
  }

  private noteAdAge (node: SimNode, peer: string): void {
    const e = node.table?.get(peer)
    const p = this.idIndex.get(peer)
    if (e === undefined || p === undefined) return
    this.adAgeSum += this.vt.q.now - e.receivedAtMs + this.w.net.oneWay(p, node.index)
    this.adAgeCount++
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

  // ---- adverts (the capacity service) ----

  private publish (i: number): void {
    const node = this.nodes[i]
    const token = ++this.adTokens[i]
    this.vt.q.after(this.interval, () => { if (this.adTokens[i] === token) this.publish(i) })
    if (!node.alive || node.executor === undefined) return
    const m = this.w.malice[i]
    if (m === LIAR || m === BLACKHOLE) {
      // Advertise idle and fast: they look like the best peer anywhere.
      this.rings.publish(i, this.vt.q.now, 0, 0, this.s.workload.service.meanMs * (this.s.faults.malicious?.advertisedRunFraction ?? 1), 0, node)
    } else {
      // As the capacity service: each peer is told the slots and queue places its fair share
      // leaves it (Executor.loadFor), peers holding work here their own.
      const e = node.executor
      const load = e.load()
      const tailored = new Map<number, AdView>()
      for (const holder of e.holders()) {
        const p = peerIndex(holder)
        if (p !== undefined) tailored.set(p, e.loadFor(holder))
      }
      this.rings.publish(i, this.vt.q.now, load.queueDepth, load.running, e.meanRunMs(KIND), e.firstFreeMs(), e.loadFor(NOBODY), tailored)
    }
    this.modes?.published(i)
  }

  /** The capacity service's early advert on a significant load change (when enabled). */
  private watchLoad (node: SimNode): void {
    if (this.opt.earlyAds !== true || node.malice !== HONEST || node.executor === undefined) return
    const i = node.index
    node.executor.onLoadChange = () => {
      const e = node.executor
      if (!node.alive || e === undefined || this.earlyPending[i] === 1) return
      const load = e.load()
      const step = Math.max(2, Math.ceil(load.concurrency / 4))
      const crossedFull = (this.rings.lastRunning[i] >= load.concurrency) !== (load.running >= load.concurrency)
      if (!crossedFull && Math.abs(load.queueDepth - this.rings.lastQueueDepth[i]) < step) return
      this.earlyPending[i] = 1
      const inc = node.life.incarnation
      this.vt.q.at(Math.max(this.vt.q.now, this.rings.lastAt[i] + (this.opt.earlyAdGapMs ?? 100)), () => {
        this.earlyPending[i] = 0
        if (node.life.incarnation === inc) this.publish(i)
      })
    }
  }

  // ---- churn ----

  private crash (i: number): void {
    const node = this.nodes[i]
    this.count('crash')
    // Work others had here fails when their connection resets (or its heartbeats stop).
    for (const call of node.inbound) {
      this.vt.q.after(this.links.crashNoticedAfter(i, call.origin), () => { call.fail(new ConnectionLostError()) })
    }
    node.inbound.clear()
    // Reservations it held elsewhere go when its connections close.
    for (const placed of node.outbound) {
      const target = this.nodes[placed.target]
      this.vt.q.after(this.links.oneWay(i, placed.target), () => { cancelAt(target, placed) })
    }
    node.outbound.clear()
    node.crash()
    this.earlyPending[i] = 0
  }

  private restart (i: number): void {
    const node = this.nodes[i]
    this.count('restart')
    node.boot()
    this.watchLoad(node)
    this.publish(i)
    // The journal: its unfinished tasks start again, with a fresh budget.
    for (const t of this.own[i]) {
      this.count('resumed')
      this.dispatch(t)
    }
  }
}

/** Hold the slot for `ms` of the node's time; the executor's deadline (or a shutdown) ends it early. */
async function holdFor (node: SimNode, ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const timer = node.timers.setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = (): void => {
      node.timers.clearTimeout(timer)
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** The trace index a task's input carries. */
function taskOf (input: Uint8Array): number {
  return new DataView(input.buffer, input.byteOffset, 4).getUint32(0)
}

/** Time peer i was up within [0, end). */
function upTimeWithin (w: World, i: number, end: number): number {
  const down = Math.max(0, Math.min(end, w.upAt[i]) - Math.min(end, w.downAt[i]))
  return end - down
}
