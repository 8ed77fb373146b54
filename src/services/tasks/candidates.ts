import { readAll } from '../../core/routing/ranking.js'
import type { CandidateReader } from '../../core/routing/ranking.js'
import type { CandidateInput, ReputationState, RttSource } from '../../core/routing/score.js'
import type { CapacityEntry, CapacityTable } from '../capacity/capacity-table.js'
import type { Executor } from './executor.js'

/** What routing asks the rest of the node about a peer. */
export interface PeerView {
  /** Measured or estimated RTT to the peer. */
  rtt(peerId: string): { rttMs: number, source: RttSource } | undefined
  reputation(peerId: string): { score: number, state: ReputationState }
  circuitOpen(peerId: string): boolean
  connected(peerId: string): boolean
}

/**
 * The routing input for one kind: this node (exact load) plus every peer with a fresh capacity
 * advertisement, corrected by the tasks sent to it since (`only`: just that one candidate).
 */
export function gatherCandidates (kind: string, selfId: string, executor: Executor, table: CapacityTable, view: PeerView, only?: string): CandidateInput[] {
  return readAll(new TableCandidates(kind, selfId, executor, table, view, { only }))
}

export interface TableCandidatesOptions {
  /** Just this candidate (a peer id, or this node's). */
  only?: string
  /** Peers read as nothing (tried already). */
  exclude?: ReadonlySet<string>
  /** An array to hold the table's fresh entries (reused by a caller that reads one ranking at a time). */
  entries?: CapacityEntry[]
}

/**
 * `gatherCandidates` as a reader: the table's fresh entries taken once, each candidate read on
 * demand (routing reads every one to score it, and builds only the few it keeps). Position 0 is
 * this node when it is included; `exclude`d peers read as nothing.
 */
export class TableCandidates implements CandidateReader {
  readonly length: number
  private readonly entries: CapacityEntry[]
  private readonly withSelf: boolean
  private readonly only: string | undefined
  private readonly exclude: ReadonlySet<string> | undefined
  private median: { value: number | undefined } | undefined

  constructor (
    private readonly kind: string,
    private readonly selfId: string,
    private readonly executor: Executor,
    table: CapacityTable,
    private readonly view: PeerView,
    options: TableCandidatesOptions = {}
  ) {
    this.only = options.only
    this.exclude = options.exclude
    this.withSelf = this.only == null || this.only === selfId
    this.entries = table.fresh(options.entries)
    this.length = this.entries.length + (this.withSelf ? 1 : 0)
  }

  read (i: number, into: CandidateInput): CandidateInput | undefined {
    const e = this.entryAt(i)
    if (e === undefined) return undefined
    if (e === SELF) return this.readSelf(into)
    this.fillLoad(e, into)
    const { view } = this
    const rtt = view.rtt(e.peerId)
    const rep = view.reputation(e.peerId)
    const ad = e.ad
    into.sentSinceAd = e.sentSinceAd
    into.meanRunMs = ad.meanRunMs.get(this.kind) || this.typical()
    into.rttMs = rtt?.rttMs
    into.rttSource = rtt?.source ?? 'default'
    into.reputation = rep.score
    this.fillStanding(e, rep.state, into)
    into.connected = view.connected(e.peerId)
    return into
  }

  readLoad (i: number, into: CandidateInput): CandidateInput | undefined {
    const e = this.entryAt(i)
    if (e === undefined) return undefined
    if (e === SELF) return this.readSelf(into)
    this.fillLoad(e, into)
    return into
  }

  readStanding (i: number, into: CandidateInput): CandidateInput | undefined {
    const e = this.entryAt(i)
    if (e === undefined) return undefined
    if (e === SELF) return this.readSelfStanding(into)
    this.fillLoad(e, into)
    this.fillStanding(e, this.view.reputation(e.peerId).state, into)
    return into
  }

  /** The entry at position `i`, SELF for this node, undefined when filtered out. */
  private entryAt (i: number): CapacityEntry | typeof SELF | undefined {
    if (this.withSelf && i === 0) return this.exclude?.has(this.selfId) === true ? undefined : SELF
    const e = this.entries[this.withSelf ? i - 1 : i]
    if (this.only != null && e.peerId !== this.only) return undefined
    if (this.exclude !== undefined && this.exclude.size > 0 && this.exclude.has(e.peerId)) return undefined
    return e
  }

  private fillLoad (e: CapacityEntry, into: CandidateInput): void {
    const ad = e.ad
    into.peerId = e.peerId
    into.local = false
    into.serves = ad.kinds.includes(this.kind)
    into.queueDepth = ad.queueDepth
    into.running = ad.running
    into.concurrency = ad.concurrency
    into.queueLimit = ad.queueLimit
    into.firstFreeMs = ad.firstFreeMs
  }

  /** What decides whether the peer may take work at all, given its reputation state. */
  private fillStanding (e: CapacityEntry, state: ReputationState, into: CandidateInput): void {
    into.reputationState = state
    into.circuitOpen = this.view.circuitOpen(e.peerId)
    into.noWork = e.ad.paused === true ? (e.ad.servingReason ?? 'paused') : undefined
  }

  private readSelf (into: CandidateInput): CandidateInput {
    this.readSelfStanding(into)
    into.sentSinceAd = 0
    into.meanRunMs = this.executor.meanRunMs(this.kind) ?? this.typical()
    into.rttMs = 0
    into.rttSource = 'local'
    into.reputation = 0
    into.connected = undefined
    return into
  }

  /** This node's load and standing (it is always in good standing with itself). */
  private readSelfStanding (into: CandidateInput): CandidateInput {
    const { executor, kind } = this
    const local = executor.load()
    into.peerId = this.selfId
    into.local = true
    into.serves = executor.serves(kind)
    into.queueDepth = local.queueDepth
    into.running = local.running
    into.concurrency = local.concurrency
    into.queueLimit = local.queueLimit
    into.firstFreeMs = executor.firstFreeMs()
    into.reputationState = 'healthy'
    into.circuitOpen = false
    into.noWork = undefined
    return into
  }

  /**
   * A peer that has not run this kind yet (just started) is assumed as fast as the others'
   * median, not as the optimistic default: else it looks idle-and-fast and gets buried.
   * (Computed only when someone needs it: sorting every run time per task is not free.)
   */
  private typical (): number | undefined {
    this.median ??= { value: medianRunMs(this.kind, this.executor, this.entries) }
    return this.median.value
  }
}

/** Position 0 when it is this node (read from the executor, not the table). */
const SELF = Symbol('self')

function medianRunMs (kind: string, executor: Executor, entries: CapacityEntry[]): number | undefined {
  const values = medianValues.length > entries.length ? medianValues : (medianValues = new Float64Array(2 * entries.length + 1))
  let n = 0
  const own = executor.meanRunMs(kind)
  if (own != null) values[n++] = own
  for (const e of entries) {
    const v = e.ad.meanRunMs.get(kind)
    if (v != null && v > 0) values[n++] = v
  }
  if (n === 0) return undefined
  return nthSmallest(values, n, n >> 1)
}

/** Where medianRunMs gathers the run times (read at once: one array for the thread). */
let medianValues = new Float64Array(256)

/**
 * The k-th smallest of `a[0..n)` (from 0), reordering them: Hoare's selection, linear on
 * average, where sorting every run time per decision cost a few per cent of routing.
 */
export function nthSmallest (a: Float64Array, n: number, k: number): number {
  let lo = 0
  let hi = n - 1
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]
    let i = lo
    let j = hi
    while (i <= j) {
      while (a[i] < pivot) i++
      while (a[j] > pivot) j--
      if (i <= j) {
        const t = a[i]
        a[i] = a[j]
        a[j] = t
        i++
        j--
      }
    }
    if (k <= j) hi = j
    else if (k >= i) lo = i
    else return a[k]
  }
  return a[k]
}
