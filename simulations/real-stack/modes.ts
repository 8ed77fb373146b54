import type { Cluster } from './cluster.js'
import type { PartitionPlan } from '../model/network.js'
import type { PartitionSection } from '../report/types.js'

type Mode = 'federated' | 'solo'

/**
 * Samples every node's connectivity mode (what `fedmesh status` reports) through a partition,
 * into the report's mode timeline and the solo / back-to-federated times of the isolated peers.
 */
export function observeModes (cluster: Cluster, now: () => number, everyMs = 250): { finish(plan: PartitionPlan): PartitionSection } {
  const segments = cluster.peers.map(() => [] as Array<{ from: number, to: number, mode: Mode }>)
  const sample = (): void => {
    const t = Math.round(now())
    cluster.peers.forEach((p, i) => {
      const mode: Mode = p.node?.status().mode ?? 'solo'
      const segs = segments[i]
      const last = segs[segs.length - 1]
      if (last != null && last.mode === mode) last.to = t
      else segs.push({ from: t, to: t, mode })
    })
  }
  const timer = setInterval(sample, everyMs)
  return {
    finish (plan: PartitionPlan): PartitionSection {
      clearInterval(timer)
      sample()
      const firstAfter = (i: number, t: number, mode: Mode): number | undefined => segments[i].find(s => s.mode === mode && s.to >= t)?.from
      let soloAfter: number | null = null
      let federatedAfter: number | null = null
      for (const i of plan.isolated) {
        const solo = firstAfter(i, plan.atMs, 'solo')
        if (solo != null) soloAfter = Math.max(soloAfter ?? 0, Math.max(0, solo - plan.atMs))
        const back = firstAfter(i, plan.healMs, 'federated')
        if (back != null) federatedAfter = Math.max(federatedAfter ?? 0, Math.max(0, back - plan.healMs))
      }
      let spurious = 0
      segments.forEach((segs, i) => {
        if (plan.isolated.includes(i)) return
        spurious += segs.filter(s => s.mode === 'solo' && s.from > 5_000).length
      })
      return {
        cutAtMs: plan.atMs,
        healAtMs: plan.healMs,
        soloAfterMs: soloAfter,
        federatedAfterHealMs: federatedAfter,
        reconciledAfterMs: null,
        spuriousSolo: spurious,
        timeline: segments.map((segs, i) => ({ peer: i, group: plan.group[i], isolated: plan.isolated.includes(i), segments: segs }))
      }
    }
  }
}
