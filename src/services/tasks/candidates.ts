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
  const local = executor.load()
  const fresh = table.fresh()
  // A peer that has not run this kind yet (just started) is assumed as fast as the others'
  // median, not as the optimistic default: else it looks idle-and-fast and gets buried.
  // (Computed only when someone needs it: sorting every run time per task is not free.)
  let median: { value: number | undefined } | undefined
  const typical = (): number | undefined => (median ??= { value: medianRunMs(kind, executor, fresh) }).value
  const out: CandidateInput[] = []
  if (only == null || only === selfId) {
    out.push({
      peerId: selfId,
      local: true,
      serves: executor.serves(kind),
      queueDepth: local.queueDepth,
      running: local.running,
      concurrency: local.concurrency,
      queueLimit: local.queueLimit,
      sentSinceAd: 0,
      meanRunMs: executor.meanRunMs(kind) ?? typical(),
      rttMs: 0,
      rttSource: 'local',
      reputation: 0,
      reputationState: 'healthy',
      circuitOpen: false
    })
  }
  for (const e of fresh) {
    if (only != null && e.peerId !== only) continue
    const rtt = view.rtt(e.peerId)
    const rep = view.reputation(e.peerId)
    out.push({
      peerId: e.peerId,
      local: false,
      serves: e.ad.kinds.includes(kind),
      queueDepth: e.ad.queueDepth,
      running: e.ad.running,
      concurrency: e.ad.concurrency,
      queueLimit: e.ad.queueLimit,
      sentSinceAd: e.sentSinceAd,
      meanRunMs: e.ad.meanRunMs.get(kind) || typical(),
      rttMs: rtt?.rttMs,
      rttSource: rtt?.source ?? 'default',
      reputation: rep.score,
      reputationState: rep.state,
      circuitOpen: view.circuitOpen(e.peerId),
      connected: view.connected(e.peerId),
      ...(e.ad.paused === true ? { noWork: e.ad.servingReason ?? 'paused' } : {})
    })
  }
  return out
}

function medianRunMs (kind: string, executor: Executor, entries: CapacityEntry[]): number | undefined {
  const values: number[] = []
  const own = executor.meanRunMs(kind)
  if (own != null) values.push(own)
  for (const e of entries) {
    const v = e.ad.meanRunMs.get(kind)
    if (v != null && v > 0) values.push(v)
  }
  if (values.length === 0) return undefined
  // A typed array sorts numbers natively (no comparator call per comparison).
  const sorted = Float64Array.from(values).sort()
  return sorted[sorted.length >> 1]
}
