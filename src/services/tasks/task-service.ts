import { randomUUID } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { PromiseJudge } from '../../core/reputation/promise-judge.js'
import { CircuitBreakers } from '../../core/routing/circuit-breaker.js'
import { backoffDelay } from '../../core/backoff.js'
import { SECOND, MINUTE } from '../../util/time.js'
import { sleepOn, systemTimers } from '../../util/timers.js'
import { ErrorCode } from '../../wire/task.js'
import { PRIORITIES, isPriority } from '../../core/priority.js'
import type { Priority } from '../../core/priority.js'
import { Admission, admissionKey, parseAdmissionKey } from './admission.js'
import { attemptReports } from './attempt-reports.js'
import { toBase64, toRecord, verifyBuiltin } from './task-outcome.js'
import { Dispatcher } from './dispatcher.js'
import { frameLimitsFor, isValidKind } from './frame-limits.js'
import { RecentResults } from './recent-results.js'
import { StreamTaskClient } from './task-client.js'
import { serveTaskStream } from './task-server.js'
import { SpotChecker } from './spot-check.js'
import { signReceipt } from './receipt.js'
import type { SpotCheckReport } from './spot-check.js'
import type { Evidence } from '../../wire/evidence.js'
import { BadRequestError, ForbiddenError, OverloadedError, TooLargeError } from '../../util/errors.js'
import type { PeerView } from './candidates.js'
import type { Release } from './admission.js'
import type { AttemptDetail, AttemptEvent, DispatchRequest, DispatchResult } from './dispatcher.js'
import type { Plan } from '../../core/routing/plan.js'
import type { PromiseJudgeParams } from '../../core/reputation/promise-judge.js'
import type { AdmissionParams } from '../../core/routing/admission.js'
import type { Executor } from './executor.js'
import type { FrameLimits } from './frame-limits.js'
import type { BreakerParams } from '../../core/routing/circuit-breaker.js'
import type { PlanParams } from '../../core/routing/plan.js'
import type { ScoreParams, ScoredCandidate } from '../../core/routing/score.js'
import type { JournalRecord, TaskJournal, TaskRecord } from '../../store/task-journal.js'
import type { Clock } from '../../util/time.js'
import type { CapacityTable } from '../capacity/capacity-table.js'
import type { AbortOptions, ComponentLogger, Connection, Libp2pEvents, Logger, PeerId, PrivateKey, Startable, Stream, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'

export const TASK_PROTOCOL = '/fedmesh/task/1.0.0'

/** A resumed task with nowhere to run is tried again this often. */
const RESUME_RETRY_MS = 10 * SECOND
/** Old results are pruned after this many completions. */
const PRUNE_EVERY = 500

export interface TaskServiceInit {
  executor: Executor
  /** The capacity table (from the capacity service). */
  table: () => CapacityTable
  /** RTT, reputation and breaker state of peers. */
  view: Omit<PeerView, 'circuitOpen' | 'connected'>
  /** Durable journal; none = tasks are not journaled (simulation). */
  journal?: TaskJournal
  clock: Clock
  random: () => number
  /**
   * A direct (non-relayed) connection to a peer for task streams, or a clear error (the NAT
   * service: hole punching). Default: libp2p's connection, which must not be a relayed one.
   */
  directConnection?: (peer: PeerId, options: AbortOptions) => Promise<Connection>
  /** Budget of a task when the caller gives none, ms. Default 90 s. */
  defaultTimeoutMs?: number
  /** Longest budget a caller may ask for, ms. Default 1 h. */
  maxTimeoutMs?: number
  /** Finished tasks listed by `fedmesh tasks`. Default 200. */
  recentLimit?: number
  /** Results kept in the store. Default 10,000. */
  keepResults?: number
  /** Journaled tasks resume this long after start (peers connect and advertise first). Default 3 s. */
  resumeDelayMs?: number
  scoreParams?: ScoreParams
  planParams?: PlanParams
  breakerParams?: BreakerParams
  /** This node's tasks waiting for a free slot in the mesh at most; beyond, `run` throws OverloadedError (HTTP 503). Default 10,000. */
  admissionQueueLimit?: number
  /** Input bytes of waiting tasks at most. Default 256 MiB. */
  admissionQueueBytes?: number
  admissionParams?: AdmissionParams
  /** When a peer's refusal counts against it (its advert's freshness follows the advert interval). */
  promiseParams?: Partial<PromiseJudgeParams>
  /** Attempt outcomes (reputation); a refusal arrives as `broken-promise` only when judged so. */
  onAttempt?: (peerId: string, event: AttemptEvent) => void
  /** A peer sent a malformed task frame (reputation). */
  onMalformed?: (peerId: string, why: string) => void
  /** Task traffic arrived from a peer: it is alive (liveness beyond the capacity heartbeat). */
  onActivity?: (peerId: string) => void
  /**
   * May this node ask peers to run its tasks (its federation role `submit`)? When not, its tasks
   * run here only, and a task pinned to a peer is refused. Default: yes.
   */
  maySubmit?: () => boolean
  /**
   * Subscribe to the store taking writes again after a full or failing disk; returns the
   * unsubscribe. Results the journal held meanwhile are written then, and journaled tasks not
   * running are picked up. Default: none (held results stay in memory until the process ends).
   */
  storageRecovered?: (listener: () => void) => () => void
  /** A task submitted here was accepted, got a slot, was placed (each attempt), or finished: events and metrics. */
  onTask?: (event: TaskLifecycle) => void
  /**
   * Spot checks (spot-check.ts): `fraction` (default 0.05) of the tasks of `kinds` a peer answered
   * run again on another node; a disproved result is never returned. Default: no kinds.
   */
  spotCheck?: { fraction?: number, kinds: readonly string[] }
  /** A spot check ended (events, metrics). */
  onSpotCheck?: (report: SpotCheckReport) => void
  /** Kinds this node signs receipts for when it runs them (its command kinds marked deterministic). Default none. */
  signsReceipts?: (kind: string) => boolean
  /** A spot check proved a wrong result: share the proof (the evidence service). */
  onEvidence?: (evidence: Evidence) => void
}

/** Share of a checked kind's remotely answered tasks that run again elsewhere. */
export const DEFAULT_SPOT_CHECK_FRACTION = 0.05

/** What happens to a task submitted here, as `onTask` reports it. */
export type TaskLifecycle =
  | { type: 'submitted', record: JournalRecord }
  | { type: 'started', record: JournalRecord, waitedMs: number }
  | { type: 'routed', request: DispatchRequest, plan: Plan, attempt: number }
  | { type: 'finished', record: TaskRecord }

export interface TaskServiceComponents {
  peerId: PeerId
  /** Signs receipts of the runs this node serves (receipt.ts). */
  privateKey: PrivateKey
  registrar: Registrar
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

/** A task submitted here, wherever it is now (`GET /v1/tasks/{id}`). */
export type TaskLookup =
  | { state: 'queued' | 'running', record: JournalRecord }
  | { state: 'finished', result: TaskRecord }

interface ActiveTask {
  record: JournalRecord
  done: Promise<TaskRecord>
  /** queued: waiting for a free slot in the mesh (admission); running: out to a peer or here. */
  state: 'queued' | 'running'
  /** Aborted by `cancel(taskId)`. */
  cancel: AbortController
  /** How a cancel ended it: never started, or may still finish on a peer. */
  cancelled?: { started: boolean, peer?: string }
}

/** What `cancel(taskId)` did (`fedmesh tasks cancel`). */
export type CancelOutcome =
  | { outcome: 'cancelled', record: TaskRecord }
  | { outcome: 'may-still-finish', record: TaskRecord, peer?: string }
  | { outcome: 'already-finished', record: TaskRecord }

/** What a user submits (control API `POST /v1/tasks`, library `run`). */
export interface RunRequest {
  kind: string
  input: Uint8Array
  peer?: string
  timeoutMs?: number
  /** Resubmitting the same id returns the first result (idempotent submissions). */
  taskId?: string
  /** `interactive` goes before `normal` (default) before `batch`, here and where it runs. */
  priority?: Priority
}

/**
 * `/fedmesh/task/1.0.0`: serves tasks to peers, and runs this node's tasks on the best peer with
 * failover. Accepted tasks are journaled before they are acknowledged and resumed after a
 * restart; while every slot in the mesh is taken they wait in the admission queue.
 */
export class TaskService implements Startable {
  readonly dispatcher: Dispatcher
  readonly breakers: CircuitBreakers
  readonly admission: Admission
  private readonly judge: PromiseJudge
  private readonly reportAttempt: (peerId: string, event: AttemptEvent, detail?: AttemptDetail) => void
  private readonly spotChecker: SpotChecker
  private readonly log: Logger
  private readonly limits: FrameLimits
  private readonly clients = new Map<string, StreamTaskClient>()
  /** Ids of tasks taken from the journal after a restart. */
  private readonly resumed = new Set<string>()
  private readonly keepResults: number
  private readonly resumeDelayMs: number
  /** Peers with an open connection (a task to another pays for a dial). */
  private readonly connected = new Set<string>()
  /** Finished tasks by id, the newest `recentLimit`. */
  private readonly recent: RecentResults
  /** Peer ids that parsed (a pinned task names the same peer again and again). */
  private readonly validPeerIds = new Set<string>()
  private readonly running = new Map<string, ActiveTask>()
  private readonly defaultTimeoutMs: number
  private readonly maxTimeoutMs: number
  private readonly recentLimit: number
  private started = false
  /** Shutting down: no new tasks; unfinished ones stay journaled for the next start. */
  private stopping = false
  private resumeTimer: NodeJS.Timeout | undefined
  private completions = 0
  private offRecovered: (() => void) | undefined

  constructor (private readonly components: TaskServiceComponents, private readonly init: TaskServiceInit) {
    this.log = components.logger.forComponent('fedmesh:tasks')
    this.limits = frameLimitsFor(Math.max(init.executor.maxInputBytes, init.executor.maxOutputBytes))
    this.defaultTimeoutMs = init.defaultTimeoutMs ?? 90 * SECOND
    this.maxTimeoutMs = init.maxTimeoutMs ?? 60 * MINUTE
    this.recentLimit = init.recentLimit ?? 200
    this.recent = new RecentResults(this.recentLimit)
    this.keepResults = init.keepResults ?? 10_000
    this.resumeDelayMs = init.resumeDelayMs ?? 3 * SECOND
    this.breakers = new CircuitBreakers(init.breakerParams)
    this.judge = new PromiseJudge(init.clock, init.promiseParams)
    this.reportAttempt = attemptReports({ breakers: this.breakers, judge: this.judge, table: init.table, clock: init.clock, onAttempt: init.onAttempt })
    this.dispatcher = new Dispatcher({
      selfId: components.peerId.toString(),
      executor: init.executor,
      table: init.table,
      view: { ...init.view, circuitOpen: (p) => this.breakers.isOpen(p, init.clock.now()), connected: (p) => this.connected.has(p) },
      client: (p) => this.client(p),
      clock: init.clock,
      random: init.random,
      scoreParams: init.scoreParams,
      planParams: init.planParams,
      onPlan: (request, plan, attempt) => { init.onTask?.({ type: 'routed', request, plan, attempt }) },
      verify: verifyBuiltin,
      onSent: (p) => { init.table().noteSent(p) },
      onDone: (p) => { init.table().noteDone(p) },
      onAttempt: this.reportAttempt
    })
    this.spotChecker = new SpotChecker({
      fraction: init.spotCheck?.fraction ?? DEFAULT_SPOT_CHECK_FRACTION,
      kinds: new Set(init.spotCheck?.kinds ?? []),
      selfId: components.peerId.toString(),
      random: init.random,
      dispatch: async (req) => this.dispatchWhileRefused(req),
      blame: (peer) => { this.reportAttempt(peer, 'wrong-result') },
      onChecked: init.onSpotCheck,
      onEvidence: init.onEvidence,
      sign: async (taskId, kind, input, output) => signReceipt(components.privateKey, taskId, kind, input, output, Date.now())
    })
    this.admission = new Admission({
      maxWaiting: init.admissionQueueLimit,
      maxWaitingBytes: init.admissionQueueBytes,
      window: (key) => {
        const { kind, peer } = parseAdmissionKey(key)
        return this.dispatcher.admissionWindow(kind, peer, init.admissionParams)
      },
      unplaceable: (key) => {
        const { kind, peer } = parseAdmissionKey(key)
        return this.dispatcher.unplaceable(kind, peer)
      }
    })
  }

  readonly [Symbol.toStringTag] = 'fedmesh:tasks'

  private readonly onConnect = (evt: CustomEvent<PeerId>): void => { this.connected.add(evt.detail.toString()) }
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => { this.connected.delete(evt.detail.toString()) }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    this.components.events.addEventListener('peer:connect', this.onConnect)
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)
    await this.components.registrar.handle(TASK_PROTOCOL, (stream: Stream, connection: Connection) => {
      void serveTaskStream(stream, connection.remotePeer, {
        executor: this.init.executor,
        limits: this.limits,
        log: this.log,
        onMalformed: (peer, why) => { this.init.onMalformed?.(peer.toString(), why) },
        onActivity: (peer) => { this.init.onActivity?.(peer.toString()) },
        // Only kinds this node's owner marked deterministic: a receipt is a claim others may
        // check by running the kind themselves (built-ins are checked where the answer arrives).
        sign: (taskId, kind, input, output) => this.init.signsReceipts?.(kind) === true ? signReceipt(this.components.privateKey, taskId, kind, input, output, Date.now()) : undefined
      })
    }, { maxInboundStreams: 8, maxOutboundStreams: 8 })
    this.stopping = false
    this.admission.open()
    this.offRecovered = this.init.storageRecovered?.(() => { void this.catchUp() })
    if (this.init.journal != null) {
      // The journal gives them newest first.
      for (const r of (await this.init.journal.recent(this.recentLimit)).reverse()) this.recent.remember(r)
      // Resume once peers had a chance to connect and advertise: a task of a kind only a
      // peer serves, or pinned to a peer, cannot be placed in the first second.
      this.scheduleResume(this.resumeDelayMs)
    }
  }

  /** Refuse new tasks from now on; what is accepted stays journaled until it completes. */
  beginStop (): void {
    this.stopping = true
    clearTimeout(this.resumeTimer)
    // Tasks still waiting for a slot stay journaled and run after the restart.
    this.admission.close(new OverloadedError('the node is shutting down; submit again once it is back', SHUTDOWN_RETRY_AFTER_S))
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.beginStop()
    this.started = false
    this.offRecovered?.()
    this.offRecovered = undefined
    this.components.events.removeEventListener('peer:connect', this.onConnect)
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
    this.connected.clear()
    await this.components.registrar.unhandle(TASK_PROTOCOL)
    for (const c of this.clients.values()) c.close()
    this.clients.clear()
    await this.init.journal?.flush()
  }

  /** A peer is gone (connection closed or declared dead): fail its requests so they move. */
  peerLost (peer: PeerId): void {
    const key = peer.toString()
    const c = this.clients.get(key)
    if (c == null) return
    this.clients.delete(key)
    c.close()
  }

  /** Candidates for a kind, best first, with their score components. */
  route (kind: string): ScoredCandidate[] {
    return this.dispatcher.rank(kind)
  }

  /** Tasks not finished yet (waiting for a slot, or running), newest first. */
  activeTasks (): Array<{ record: JournalRecord, state: 'queued' | 'running' }> {
    return [...this.running.values()].map(({ record, state }) => ({ record, state })).sort((a, b) => b.record.submittedAt - a.record.submittedAt)
  }

  /** A task submitted here, while it is in the journal's retention; undefined when unknown. */
  async lookup (taskId: string): Promise<TaskLookup | undefined> {
    const active = this.running.get(taskId)
    if (active != null) return { state: active.state, record: active.record }
    const recent = this.recent.get(taskId)
    if (recent != null) return { state: 'finished', result: recent }
    const journal = this.init.journal
    if (journal == null) return undefined
    // Journaled but not picked up yet (a restart's resume is pending, or nowhere to run it yet).
    const pending = await journal.pendingTask(taskId)
    if (pending != null) return { state: 'queued', record: pending }
    const result = await journal.result(taskId)
    return result == null ? undefined : { state: 'finished', result }
  }

  /**
   * Cancel a task submitted here. Waiting in the admission queue (or journaled, not picked up
   * yet): it is dropped and never runs. Out to peers: nothing new is tried, they are sent
   * CANCEL (one that has not started drops it) and the answer says whether it may still finish
   * somewhere. Undefined when the id is unknown here.
   */
  async cancel (taskId: string): Promise<CancelOutcome | undefined> {
    const active = this.running.get(taskId)
    if (active != null) {
      if (!active.cancel.signal.aborted) active.cancel.abort(new TaskCancelledError(taskId))
      const record = await active.done
      if (record.errorCode !== ErrorCode.CANCELLED || active.cancelled == null) return { outcome: 'already-finished', record }
      return active.cancelled.started ? { outcome: 'may-still-finish', record, peer: active.cancelled.peer } : { outcome: 'cancelled', record }
    }
    const found = await this.lookup(taskId)
    if (found == null) return undefined
    if (found.state === 'finished') return { outcome: 'already-finished', record: found.result }
    // Journaled and not picked up yet (a restart's resume is pending): it never started.
    const record = toRecord(found.record, cancelledBeforeStart(found.record, this.components.peerId.toString()), this.init.clock.now() - found.record.submittedAt)
    this.recent.remember(record)
    await this.init.journal?.complete(record)
    return { outcome: 'cancelled', record }
  }

  recentTasks (): TaskRecord[] {
    return this.recent.newestFirst()
  }

  /** Accept (journal), run with failover, record. Resolves with the finished task. */
  run (req: RunRequest): Promise<TaskRecord> {
    // Not async: the task's own promise is returned as it is (no wrapper that adopts it), and a
    // refusal still arrives as a rejection.
    try {
      return this.accept(req)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** `run`'s body: refusals are thrown; the task's promise is returned. */
  private accept (req: RunRequest): Promise<TaskRecord> {
    if (this.stopping || !this.started) throw new OverloadedError('the node is shutting down; submit again once it is back', SHUTDOWN_RETRY_AFTER_S)
    if (!isValidKind(req.kind)) throw new BadRequestError(`"${req.kind}" is not a valid task kind`)
    if (req.input.byteLength > this.init.executor.maxInputBytes) {
      throw new TooLargeError(`task input of ${req.input.byteLength} bytes is larger than the limit of ${this.init.executor.maxInputBytes}`)
    }
    const timeoutMs = req.timeoutMs ?? this.defaultTimeoutMs
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > this.maxTimeoutMs) {
      throw new BadRequestError(`timeoutMs must be an integer between 1 and ${this.maxTimeoutMs}`)
    }
    if (req.priority != null && !isPriority(req.priority)) throw new BadRequestError(`priority must be one of ${PRIORITIES.join(', ')}`)
    if (req.peer != null && !this.validPeerIds.has(req.peer)) {
      try { peerIdFromString(req.peer) } catch { throw new BadRequestError(`"${req.peer}" is not a peer id`) }
      if (this.validPeerIds.size >= MAX_VALID_PEER_IDS) this.validPeerIds.clear()
      this.validPeerIds.add(req.peer)
    }
    if (this.init.maySubmit?.() === false) {
      const self = this.components.peerId.toString()
      if (req.peer != null && req.peer !== self) throw new ForbiddenError('this node may not submit tasks to peers (its certificate has no submit role); it runs its own tasks itself')
      req = { ...req, peer: self }
    }
    const taskId = req.taskId ?? randomUUID()
    const existing = this.running.get(taskId)
    if (existing != null) return existing.done
    const finished = this.recent.get(taskId)
    if (finished != null) return Promise.resolve(finished)
    const record: JournalRecord = { taskId, kind: req.kind, input: toBase64(req.input), timeoutMs, peer: req.peer, submittedAt: this.init.clock.now() }
    // Set only when not normal (a spread of a literal made one more object per task).
    if (req.priority != null && req.priority !== 'normal') record.priority = req.priority
    // A place in the admission queue first: a full queue refuses (503) before anything is
    // journaled. Then claim the id before the journal write: a concurrent resubmission joins.
    // One controller for the task: its cancel (`cancel(taskId)`) and a failed journal write both
    // end the wait for a place. A window with room (nearly always) admits at once: no promise.
    const cancel = new AbortController()
    const key = admissionKey(record)
    let entered: Release | Promise<Release> | undefined = this.admission.tryEnter(key, req.input.byteLength)
    if (entered == null) {
      entered = this.admission.enter(key, req.input.byteLength, { signal: cancel.signal, timeoutMs, priority: record.priority })
      entered.catch(() => {})
    }
    const journal = this.init.journal
    if (journal == null) {
      this.init.onTask?.({ type: 'submitted', record })
      return this.execute(record, req.input, undefined, entered, cancel)
    }
    const place = entered
    const accepted = journal.accept(record).catch((err: Error) => {
      cancel.abort(err)
      releaseWhenGranted(place)
      throw err
    })
    accepted.then(() => { this.init.onTask?.({ type: 'submitted', record }) }, () => {})
    return this.execute(record, req.input, accepted, entered, cancel)
  }

  /**
   * Run a task accepted here until it finishes; it is `running` (for lookups, cancels and
   * resubmissions) until then. `accepted`: its journal write, when one is under way; `entered`:
   * the place `run` got or asked for, under `cancel` (the task's cancel).
   */
  private execute (record: JournalRecord, input: Uint8Array = Buffer.from(record.input, 'base64'), accepted?: Promise<void>, entered?: Release | Promise<Release>, cancel = new AbortController()): Promise<TaskRecord> {
    const active: ActiveTask = { record, state: 'queued', done: undefined as unknown as Promise<TaskRecord>, cancel }
    this.running.set(record.taskId, active)
    active.done = this.work(active, input, accepted, entered)
    return active.done
  }

  /** `execute`'s body: wait for a place, dispatch (again while the mesh is full), record. */
  private async work (active: ActiveTask, input: Uint8Array, accepted: Promise<void> | undefined, entered: Release | Promise<Release> | undefined): Promise<TaskRecord> {
    const { record } = active
    const cancelled = active.cancel.signal
    try {
      if (accepted != null) await accepted
      let entering = entered
      // A resumed task was accepted before the restart: it is never refused for a full queue.
      let again = entered == null
      while (true) {
        let release: Release
        try {
          // The admission wait ends when the task is cancelled (both waits listen to `cancelled`).
          release = typeof entering === 'function' ? entering : await (entering ?? this.admission.enter(admissionKey(record), input.byteLength, { signal: cancelled, timeoutMs: Math.max(1, this.left(record)), again, priority: record.priority }))
          if (cancelled.aborted) {
            release()
            throw cancelled.reason
          }
        } catch (err) {
          if (cancelled.aborted) {
            // A place granted after the cancel won the race goes back at once.
            releaseWhenGranted(entering)
            active.cancelled = { started: false }
            return await this.finish(record, cancelledBeforeStart(record, this.components.peerId.toString()))
          }
          return await this.finish(record, this.waitFailed(record, err))
        }
        entering = undefined
        active.state = 'running'
        // One reading of the clock for both (the same instant).
        const waitedMs = this.init.clock.now() - record.submittedAt
        this.init.onTask?.({ type: 'started', record, waitedMs })
        let result: DispatchResult
        try {
          const request: DispatchRequest = {
            taskId: record.taskId,
            kind: record.kind,
            input,
            timeoutMs: Math.max(1, record.timeoutMs - waitedMs),
            peer: record.peer,
            acceptedAt: record.acceptedAt ?? record.submittedAt,
            priority: record.priority,
            signal: cancelled
          }
          result = await this.dispatcher.dispatch(request)
          if (!cancelled.aborted && await this.spotChecker.wants(request, result)) {
            result = await this.spotChecker.check(request, result, record.submittedAt + record.timeoutMs, () => this.init.clock.now())
          }
        } finally {
          release()
        }
        if (cancelled.aborted && result.outcome.error !== ErrorCode.NONE) {
          active.cancelled = result.cancelled ?? { started: false }
          return await this.finish(record, result.cancelled != null ? result : cancelledBeforeStart(record, result.peer, result.attempts))
        }
        // Every peer refused it (others' load filled the mesh), or no candidate was eligible just
        // now (a breaker opened meanwhile): back to the head of the line.
        const waitable = REQUEUE_ON.has(result.outcome.error) || (result.unplaced === true && !this.dispatcher.unplaceable(record.kind, record.peer))
        if (!waitable || this.stopping || this.init.clock.now() - record.submittedAt >= record.timeoutMs) {
          return await this.finish(record, result)
        }
        active.state = 'queued'
        again = true
        await sleepOn(systemTimers, backoffDelay(0, { minMs: 20, maxMs: 200 }, this.init.random))
      }
    } finally {
      this.running.delete(record.taskId)
    }
  }

  /** What is left of a task's budget now, ms. */
  private left (record: JournalRecord): number {
    return record.timeoutMs - (this.init.clock.now() - record.submittedAt)
  }

  /**
   * Dispatch, and again while the peers refuse it for their load (BUSY, QUEUE_FULL) and time is
   * left: a spot check waits for a slot as a task does (it holds its task's admission place).
   */
  private async dispatchWhileRefused (req: DispatchRequest): Promise<DispatchResult> {
    const deadline = this.init.clock.now() + req.timeoutMs
    for (let n = 0; ; n++) {
      const r = await this.dispatcher.dispatch({ ...req, timeoutMs: Math.max(1, deadline - this.init.clock.now()) })
      const refused = r.outcome.error === ErrorCode.BUSY || r.outcome.error === ErrorCode.QUEUE_FULL
      if (!refused || req.signal?.aborted === true || this.stopping || this.init.clock.now() >= deadline) return r
      // Growing: the mesh is full, and these runs hold no admission place to wait in.
      await sleepOn(systemTimers, Math.min(backoffDelay(n, CHECK_RETRY_BACKOFF, this.init.random), deadline - this.init.clock.now()), req.signal)
    }
  }

  /** The task's end when it never got a slot: its budget ran out, or the node is stopping. */
  private waitFailed (record: JournalRecord, err: unknown): DispatchResult {
    const waited = this.init.clock.now() - record.submittedAt
    const code = this.stopping ? ErrorCode.SHUTTING_DOWN : ErrorCode.TIMED_OUT
    const message = this.stopping ? 'the node shut down before the task got a slot' : `no slot in the mesh came free within the task's ${record.timeoutMs} ms (waited ${waited} ms): ${(err as Error)?.message ?? String(err)}`
    return { outcome: { taskId: record.taskId, error: code, output: new Uint8Array(0), message, queuedMs: waited, runMs: 0, deduped: false }, peer: this.components.peerId.toString(), attempts: 0 }
  }

  /** Record a task's end (or keep it journaled when it can run later). */
  private finish (record: JournalRecord, result: DispatchResult): TaskRecord | Promise<TaskRecord> {
    const done = toRecord(record, result, this.init.clock.now() - record.submittedAt)
    if (this.stopping && done.status === 'error') {
      // Cut short by the shutdown: it stays journaled and runs again after the restart.
      const startedHere = result.outcome.error === ErrorCode.INTERRUPTED
      return { ...done, errorCode: ErrorCode.SHUTTING_DOWN, error: `the node shut down before the task finished; it resumes when the node restarts${startedHere ? ' (on another node: it started here, and a node never runs a task id twice)' : ''}` }
    }
    if (this.resumable(record, done)) {
      // Nothing can run it yet (its kind's servers or its peer are not back): keep it.
      this.scheduleResume(RESUME_RETRY_MS)
      return done
    }
    this.recent.remember(done)
    this.init.onTask?.({ type: 'finished', record: done })
    // The task ran: a result the disk refuses is held (it counts as written here) and written
    // once the store recovers. Never a 507 for work that was done: the client would run it again.
    const journal = this.init.journal
    return journal == null ? done : this.writeResult(journal, done)
  }

  private async writeResult (journal: TaskJournal, done: TaskRecord): Promise<TaskRecord> {
    const written = await journal.complete(done)
    if (written.written === false) this.log.error('the result of task %s could not be written (%s): held in memory until the store takes writes again', done.taskId, written.error.message)
    if (++this.completions % PRUNE_EVERY === 0) void journal.prune(this.keepResults).catch(() => {})
    return done
  }

  /** The store takes writes again: write the results held meanwhile, then pick up what is journaled and idle. */
  private async catchUp (): Promise<void> {
    const journal = this.init.journal
    if (journal == null || this.stopping) return
    try {
      const n = await journal.writeHeld()
      if (n > 0) this.log('wrote %d task results held while the store refused writes', n)
    } catch (err) {
      this.log.error('writing held task results failed - %e', err)
      return
    }
    this.scheduleResume(0)
  }

  /**
   * A resumed task that found nowhere to run stays in the journal and is tried again later: its
   * kind's servers or its peer are not back, or it was running here when this node crashed (it
   * never runs twice here) and no peer can take it yet.
   */
  private resumable (record: JournalRecord, done: TaskRecord): boolean {
    return this.resumed.has(record.taskId) && (done.errorCode === ErrorCode.KIND_NOT_SERVED || done.errorCode === ErrorCode.INTERRUPTED)
  }

  private scheduleResume (ms: number): void {
    if (this.stopping || this.init.journal == null) return
    clearTimeout(this.resumeTimer)
    this.resumeTimer = setTimeout(() => {
      this.resume().catch(err => { this.log.error('resuming journaled tasks failed - %e', err) })
    }, ms)
  }

  /** After a restart: run what was accepted but not finished (and not running now). */
  private async resume (): Promise<void> {
    const pending = (await (this.init.journal as TaskJournal).pending()).filter(r => !this.running.has(r.taskId))
    if (pending.length === 0 || this.stopping) return
    this.log('resuming %d journaled tasks', pending.length)
    for (const record of pending) {
      this.resumed.add(record.taskId)
      // The budget restarts: the user's acceptance stands even though the clock ran on (executors
      // are still told when it was accepted: they may have forgotten runs since).
      this.execute({ ...record, acceptedAt: record.acceptedAt ?? record.submittedAt, submittedAt: this.init.clock.now() }).catch(err => {
        this.log.error('resumed task %s failed - %e', record.taskId, err)
      })
    }
  }

  private client (peerId: string): StreamTaskClient {
    let c = this.clients.get(peerId)
    if (c == null) {
      const id = peerIdFromString(peerId)
      c = new StreamTaskClient({
        openStream: async (options) => {
          // Payloads never travel through a relay: a direct connection, hole-punched if need be.
          const conn = this.init.directConnection != null
            ? await this.init.directConnection(id, options)
            : await this.components.connectionManager.openConnection(id, options)
          return conn.newStream(TASK_PROTOCOL, { ...options, runOnLimitedConnection: false })
        },
        limits: this.limits,
        log: this.log,
        onMalformed: (why) => { this.init.onMalformed?.(peerId, why) },
        onActivity: () => { this.init.onActivity?.(peerId) }
      })
      this.clients.set(peerId, c)
    }
    return c
  }
}

/** Parsed peer ids remembered at most (then forgotten all at once: parsing again is only slower). */
const MAX_VALID_PEER_IDS = 1_024

/** The submitter cancelled the task (`tasks cancel`). */
export class TaskCancelledError extends Error {
  constructor (taskId: string) {
    super(`task ${taskId} was cancelled`)
    this.name = 'TaskCancelledError'
  }
}

/** The end of a task cancelled before anything ran it. */
function cancelledBeforeStart (record: JournalRecord, peer: string, attempts = 0): DispatchResult {
  return { outcome: { taskId: record.taskId, error: ErrorCode.CANCELLED, output: new Uint8Array(0), message: 'cancelled before it started', queuedMs: 0, runMs: 0, deduped: false }, peer, attempts, cancelled: { started: false } }
}

/** Give back a place in the admission queue once it is granted (at once when it already is). */
function releaseWhenGranted (place: Release | Promise<Release> | undefined): void {
  if (typeof place === 'function') place()
  else place?.then(free => { free() }, () => {})
}

/** Refusals that mean "the mesh is full right now": the task waits for a slot again. */
const REQUEUE_ON: ReadonlySet<ErrorCode> = new Set([ErrorCode.QUEUE_FULL, ErrorCode.BUSY, ErrorCode.CANCELLED, ErrorCode.SHUTTING_DOWN])

/** Seconds a client refused during a shutdown is told to wait (Retry-After). */
const SHUTDOWN_RETRY_AFTER_S = 5

/** Between re-dispatches of a spot check's run that peers refused for their load. */
const CHECK_RETRY_BACKOFF = { minMs: 50, maxMs: 1_000 }

export function tasks (init: TaskServiceInit): (components: TaskServiceComponents) => TaskService {
  return (components) => new TaskService(components, init)
}
