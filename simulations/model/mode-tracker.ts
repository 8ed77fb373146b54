/**
 * Federated or solo, per node, through a partition: the real `ConnectivityMonitor` of a few
 * tracked nodes (every isolated one, and a few from each group) fed with the capacity adverts
 * that reach them (an advert is the heartbeat) and ticked every 250 ms, as the node does.
 * Tracking a sample keeps this at (tracked × peers) heartbeats a second instead of peers².
 */
import { ConnectivityMonitor, RECOMMENDED_TICK_MS } from '../../src/core/connectivity.js'
import type { ConnectivityMode } from '../../src/core/connectivity.js'
import type { EventQueue } from './heap.js'
import { isUp } from './world.js'
import type { World } from './world.js'

export interface ModeSegment { from: number, to: number, mode: ConnectivityMode }

export interface ModeTimeline {
  nodes: Array<{ peer: number, group: number, isolated: boolean, segments: ModeSegment[] }>
  cutAtMs: number
  healAtMs: number
  /** Longest time from the cut until an isolated node went solo, ms. */
  soloAfterMs: number | undefined
  /** Longest time from the heal until an isolated node was federated again, ms. */
  federatedAfterHealMs: number | undefined
  /** Tracked nodes that were not isolated but went solo during the cut (should be 0). */
  spuriousSolo: number
}

const PER_GROUP = 3

export class ModeTracker {
  private readonly tracked: number[]
  private readonly monitors = new Map<number, ConnectivityMonitor>()
  private readonly transitions = new Map<number, Array<{ at: number, to: ConnectivityMode }>>()

  constructor (private readonly w: World, private readonly q: EventQueue) {
    const p = w.partition
    if (p === undefined) throw new Error('mode tracking needs a partition')
    const perGroup = new Map<number, number>()
    const tracked = [...p.isolated]
    for (let i = 0; i < w.peers; i++) {
      const g = p.group[i]
      if (g < 0) continue
      const n = perGroup.get(g) ?? 0
      if (n < PER_GROUP) {
        tracked.push(i)
        perGroup.set(g, n + 1)
      }
    }
    this.tracked = tracked.sort((a, b) => a - b)
    for (const t of this.tracked) {
      this.monitors.set(t, new ConnectivityMonitor({ now: 0 }))
      this.transitions.set(t, [])
    }
  }

  start (): void {
    const tick = (): void => {
      for (const [t, m] of this.monitors) this.note(t, m.tick(this.q.now))
      if (this.q.now < this.w.scenario.durationMs) this.q.after(RECOMMENDED_TICK_MS, tick)
    }
    this.q.at(0, tick)
  }

  /** Peer p published an advert now: it reaches the tracked nodes it can reach. */
  published (p: number): void {
    const now = this.q.now
    for (const t of this.tracked) {
      if (t === p) continue
      const at = now + this.w.net.oneWay(p, t)
      if (!this.w.net.reachable(p, t, at) || !isUp(this.w, t, at)) continue
      const id = `p${p}`
      this.q.at(at, () => { this.note(t, this.monitors.get(t)?.heartbeat(id, at)) })
    }
  }

  private note (t: number, tr: { to: ConnectivityMode, at: number } | undefined): void {
    if (tr !== undefined) this.transitions.get(t)?.push({ at: tr.at, to: tr.to })
  }

  finish (end: number): ModeTimeline {
    const p = this.w.partition as NonNullable<World['partition']>
    let soloAfter: number | undefined
    let fedAfter: number | undefined
    let spurious = 0
    const nodes = this.tracked.map(t => {
      const trs = this.transitions.get(t) ?? []
      const segments: ModeSegment[] = []
      let mode: ConnectivityMode = 'solo'
      let from = 0
      for (const tr of trs) {
        segments.push({ from, to: tr.at, mode })
        mode = tr.to
        from = tr.at
      }
      segments.push({ from, to: end, mode })
      const isolated = p.group[t] < 0
      const solo = trs.find(tr => tr.to === 'solo' && tr.at >= p.atMs)
      if (isolated && solo !== undefined) soloAfter = Math.max(soloAfter ?? 0, solo.at - p.atMs)
      if (isolated) {
        const back = trs.find(tr => tr.to === 'federated' && tr.at >= p.healMs)
        if (back !== undefined) fedAfter = Math.max(fedAfter ?? 0, back.at - p.healMs)
      }
      if (!isolated && solo !== undefined && solo.at < p.healMs) spurious++
      return { peer: t, group: p.group[t], isolated, segments }
    })
    return { nodes, cutAtMs: p.atMs, healAtMs: p.healMs, soloAfterMs: soloAfter, federatedAfterHealMs: fedAfter, spuriousSolo: spurious }
  }
}
