/**
 * The network: peers are points in a plane, grouped around a few centres (think regions), and a
 * link's round trip grows with distance, mapped into [minRttMs, maxRttMs] (5-150 ms by default,
 * LAN-ish inside a cluster, cross-continent between far clusters). Nothing is stored per link,
 * so 10,000 peers cost two arrays, not a 10^8 matrix.
 *
 * Partitions: during [atMs, healMs) peers in different groups cannot reach each other. Loss is
 * modelled as TCP sees it (every stream here is TCP or yamux over it): a lost segment is not a
 * lost message but a retransmission, max(200 ms, 2 RTT) later.
 */
import type { Rng } from '../prng.js'
import type { Scenario } from '../scenario.js'

export interface PartitionPlan {
  atMs: number
  healMs: number
  /** Group of each peer during the cut. */
  group: Int32Array
  /** Peers cut off alone. */
  isolated: number[]
}

export class Network {
  readonly x: Float64Array
  readonly y: Float64Array
  readonly cluster: Int32Array
  private readonly minRtt: number
  private readonly span: number
  private readonly loss: number
  partition: PartitionPlan | undefined

  constructor (readonly peers: number, net: Scenario['network'], rng: Rng) {
    this.x = new Float64Array(peers)
    this.y = new Float64Array(peers)
    this.cluster = new Int32Array(peers)
    this.minRtt = net.minRttMs
    this.span = Math.max(0, net.maxRttMs - net.minRttMs)
    this.loss = net.loss
    const cx: number[] = []
    const cy: number[] = []
    for (let c = 0; c < net.clusters; c++) {
      cx.push(0.1 + 0.8 * rng.float())
      cy.push(0.1 + 0.8 * rng.float())
    }
    for (let i = 0; i < peers; i++) {
      const c = rng.int(net.clusters)
      this.cluster[i] = c
      this.x[i] = clamp01(cx[c] + 0.06 * rng.normal())
      this.y[i] = clamp01(cy[c] + 0.06 * rng.normal())
    }
  }

  /** Round trip between two peers, ms (0 to itself). */
  rtt (a: number, b: number): number {
    if (a === b) return 0
    const dx = this.x[a] - this.x[b]
    const dy = this.y[a] - this.y[b]
    // The unit square's diagonal is the longest link.
    return this.minRtt + this.span * Math.min(1, Math.sqrt(dx * dx + dy * dy) / Math.SQRT2)
  }

  oneWay (a: number, b: number): number {
    return this.rtt(a, b) / 2
  }

  /** One-way delivery time of a task message, with a retransmission when the segment is lost. */
  deliveryMs (a: number, b: number, rng: Rng): number {
    const ow = this.oneWay(a, b)
    if (this.loss > 0 && a !== b && rng.chance(this.loss)) return ow + Math.max(200, 4 * ow)
    return ow
  }

  /** Can a message from a reach b at time t? */
  reachable (a: number, b: number, t: number): boolean {
    const p = this.partition
    if (p === undefined || t < p.atMs || t >= p.healMs) return true
    return p.group[a] === p.group[b]
  }

  /** Is a partition in force at t? */
  cut (t: number): boolean {
    const p = this.partition
    return p !== undefined && t >= p.atMs && t < p.healMs
  }
}

/** Split the peers into groups for a partition; `isolate` random peers each get a group alone. */
export function planPartition (peers: number, spec: NonNullable<Scenario['faults']['partition']>, rng: Rng): PartitionPlan {
  const order = rng.shuffled(Array.from({ length: peers }, (_, i) => i))
  const group = new Int32Array(peers)
  const isolated = order.slice(0, Math.min(spec.isolate, peers - 1))
  isolated.forEach((p, k) => { group[p] = -1 - k })
  const rest = order.slice(isolated.length)
  let start = 0
  spec.groups.forEach((fraction, g) => {
    const n = Math.round(fraction * rest.length)
    for (const p of rest.slice(start, start + n)) group[p] = g
    start += n
  })
  for (const p of rest.slice(start)) group[p] = spec.groups.length
  return { atMs: spec.atMs, healMs: spec.healMs, group, isolated }
}

function clamp01 (v: number): number {
  return Math.min(1, Math.max(0, v))
}
