/** The short summary printed to the terminal at the end of a run (cli-table3). */
import Table from 'cli-table3'
import type { ReportDocument } from './json.js'
import type { RunResult } from './types.js'

function n (v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—'
  if (!Number.isFinite(v)) return '∞'
  return String(Math.round(v * 10 ** digits) / 10 ** digits)
}

export function renderTerminal (runs: RunResult[], doc: ReportDocument): string {
  const out: string[] = []
  for (const r of runs) {
    const rt = r.routing
    if (rt === undefined) continue
    const t = new Table({ head: [`${r.mode}: policy`, 'mean ms', 'p99 ms', 'mean/ideal', 'p99/ideal', 'Jain', 'max/mean', 'lost'] })
    for (const p of [rt.fedmesh, ...rt.variants, ...Object.values(rt.baselines), rt.ideal]) {
      t.push([p.name, n(p.meanMs, 1), n(p.p99Ms, 1), n(p.meanResponseVsIdeal), n(p.p99ResponseVsIdeal), n(p.jainIndex), n(p.maxOverMeanLoad), n(p.lost, 0)])
    }
    out.push(t.toString())
  }
  const g = new Table({ head: ['goal', 'target', 'value', 'status'] })
  for (const c of doc.goals) if (c.status !== 'n/a') g.push([c.goal, c.target, n(c.value), c.status])
  out.push(g.toString())
  return out.join('\n')
}
