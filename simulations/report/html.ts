/**
 * report.html: one self-contained page (inline CSS and SVG, no script, no external file) with
 * the goals, the figures table and the plots: response-time CDF per policy, load per peer,
 * cache convergence over time, reputation of honest vs malicious peers, and the federated/solo
 * timeline through a partition. With two runs, each gets its section and a cross-check table.
 */
import { esc, fmt, laneChart, lineChart, niceFloor } from './svg.js'
import { goalStatus } from './table.js'
import type { ReportDocument } from './json.js'
import type { Series } from './svg.js'
import type { PolicySummary, RunResult } from './types.js'

const CSS = `body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#222;padding:0 12px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}h3{font-size:15px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
.pass{color:#1a7f37;font-weight:600}.fail{color:#cf222e;font-weight:600}.na{color:#888}
.plot{display:block;margin:10px 0;background:#fff}.plot .t{font-weight:600;font-size:13px}
.plot .g{stroke:#eee}.plot .frame{fill:none;stroke:#999}.plot .tx{font-size:11px;text-anchor:middle}
.plot .ty{font-size:11px;text-anchor:end}.plot .lg{font-size:11px}.plot .ref{stroke:#555;stroke-dasharray:3 3}
.plot .rl{font-size:10px;fill:#555}pre{background:#f6f8fa;padding:8px;overflow:auto;font-size:12px}
.small{color:#666;font-size:12px}.verdict{font-size:15px;background:#f6f8fa;border-left:4px solid #999;padding:8px 12px}
.expected{color:#9a6700;font-weight:600}`

function n (v: unknown, digits = 3): string {
  if (v === null || v === undefined) return '—'
  if (typeof v !== 'number') return esc(String(v))
  if (!Number.isFinite(v)) return '∞'
  return String(Math.round(v * 10 ** digits) / 10 ** digits)
}

function table (head: string[], rows: string[][]): string {
  return `<table><tr>${head.map(h => `<th>${esc(h)}</th>`).join('')}</tr>${rows.map(r => `<tr>${r.map(c => `<td>${c}</td>`).join('')}</tr>`).join('')}</table>`
}

function goalsSection (doc: Omit<ReportDocument, 'runs' | 'crossCheck'>): string {
  const expected = doc.goals.filter(g => g.expected !== undefined && g.status !== 'n/a')
  const why = expected.length === 0 ? '' : `<p class="small">This scenario expects to miss: ${expected.map(g => `<b>${esc(g.goal)}</b>: ${esc(g.expected ?? '')}`).join('; ')}</p>`
  return table(['goal', 'target', 'value', 'status'], doc.goals.map(g => [
    esc(g.goal), esc(g.target), g.status === 'n/a' && g.value === null ? '—' : esc(g.shown), `<span class="${g.expected !== undefined && g.status === 'fail' ? 'expected' : g.status === 'n/a' ? 'na' : g.status}">${esc(goalStatus(g))}</span>`
  ])) + why
}

function routingSection (r: RunResult): string {
  const rt = r.routing
  if (rt === undefined) return ''
  const rows: PolicySummary[] = [rt.fedmesh, ...rt.variants, ...Object.values(rt.baselines), rt.ideal]
  const figures = table(['policy', 'tasks', 'mean ms', 'p50 ms', 'p99 ms', 'mean / ideal', 'p99 / ideal', 'Jain', 'max/mean load', 'lost'], rows.map(p => [
    esc(p.name), n(p.tasks, 0), n(p.meanMs, 1), n(p.p50Ms, 1), n(p.p99Ms, 1), n(p.meanResponseVsIdeal), n(p.p99ResponseVsIdeal), n(p.jainIndex), n(p.maxOverMeanLoad), n(p.lost, 0)
  ]))
  const cdf: Series[] = rows.map(p => ({
    name: p.name,
    points: p.cdf.map((ms, k) => [ms, k / (p.cdf.length - 1)] as [number, number])
  }))
  // The axis starts near the fastest 1 % of responses (not at 1 ms, which squeezes the curves right).
  const fastest = Math.min(...rows.map(p => p.cdf[1] ?? p.cdf[0]).filter(v => v > 0))
  const cdfPlot = lineChart({ title: 'Response time CDF per policy', xLabel: 'response time, ms (log)', yLabel: 'fraction of tasks', series: cdf, logX: true, ...(Number.isFinite(fastest) ? { xMin: niceFloor(fastest) } : {}), yMin: 0, yMax: 1, step: true })
  const loads: Series[] = [rt.fedmesh, ...Object.values(rt.baselines), rt.ideal].map(p => ({
    name: p.name,
    points: [...p.loadPerPeer].sort((a, b) => b - a).map((u, i) => [i, u] as [number, number])
  }))
  const loadPlot = lineChart({ title: 'Load per peer (utilisation, busiest first)', xLabel: 'peer rank', yLabel: 'utilisation', series: loads, yMin: 0 })
  const dec = rt.fedmesh.decisions ?? {}
  const decisions = Object.keys(dec).length === 0 ? '' : `<h3>fedmesh decisions</h3>${table(['decision', 'count'], Object.entries(dec).map(([k, v]) => [esc(k), n(v, 0)]))}<p class="small">mean age of the advert behind a remote direct send: ${n(rt.fedmesh.meanAdAgeMs, 1)} ms; tasks whose work ran twice: ${n(rt.fedmesh.duplicateRuns, 0)}; not accepted (origin down): ${n(rt.notAccepted, 0)}</p>`
  const variants = rt.variants.length === 0 ? '' : `<h3>Variants (routing parameters)</h3>${table(['variant', 'parameters', 'mean / ideal', 'p99 / ideal', 'Jain', 'lost'], rt.variants.map(v => [esc(v.name), `<code>${esc(JSON.stringify(v.params ?? {}))}</code>`, n(v.meanResponseVsIdeal), n(v.p99ResponseVsIdeal), n(v.jainIndex), n(v.lost, 0)]))}`
  return `<h2>Routing</h2><p>Offered load ${n(rt.offeredLoad, 2)} of the honest slots; ratios are to the ideal scheduler on the same trace.</p>${figures}${cdfPlot}${loadPlot}${timelineSection(r)}${variants}${decisions}`
}

/** fedmesh over time: throughput, mean response (beside the ideal's mean) and tasks in the system. */
function timelineSection (r: RunResult): string {
  const tl = r.routing?.timeline
  if (tl === undefined || tl.t.length === 0) return ''
  const at = (i: number): number => (tl.t[i] + tl.binMs / 2) / 1000
  const warmup = r.config.warmupMs > 0 ? [{ x: r.config.warmupMs / 1000, label: 'measured from here' }] : []
  const events = [...warmup, ...(r.partition !== undefined ? [{ x: r.partition.cutAtMs / 1000, label: 'cut' }, { x: r.partition.healAtMs / 1000, label: 'heal' }] : [])]
  const throughput = lineChart({
    title: `Throughput: tasks finished per second (${fmt(tl.binMs / 1000)} s bins)`,
    xLabel: 'time, s',
    yLabel: 'tasks / s',
    series: [{ name: 'finished', points: tl.throughputPerS.map((v, i) => [at(i), v]) }, { name: 'lost', points: tl.lost.map((v, i) => [at(i), v * 1000 / tl.binMs]) }],
    yMin: 0,
    vLines: events
  })
  const ideal = r.routing?.ideal.meanMs
  const latency = lineChart({
    title: 'Mean response time of the tasks finishing in each bin',
    xLabel: 'time, s',
    yLabel: 'ms',
    series: [{ name: 'fedmesh', points: tl.meanResponseMs.flatMap((v, i) => v === null ? [] : [[at(i), v] as [number, number]]) }],
    yMin: 0,
    hLines: ideal !== undefined ? [{ y: ideal, label: `ideal's mean over the run (${fmt(ideal)} ms)` }] : [],
    vLines: events
  })
  const queue = lineChart({
    title: 'Tasks in the system (queued or running), the most at once per bin',
    xLabel: 'time, s',
    yLabel: 'tasks',
    series: [{ name: 'in the system', points: tl.peakInSystem.map((v, i) => [at(i), v]) }],
    yMin: 0,
    vLines: events
  })
  return `<h3>Over time (fedmesh)</h3>${throughput}${latency}${queue}`
}

function cacheSection (r: RunResult): string {
  const c = r.cache
  if (c === undefined) return ''
  const t = table(['dissemination', 'coverage', 'p50 ms', 'p99 ms', 'messages / entry'], [
    ['gossip (mesh + IHAVE)', n(c.coverage, 4), n(c.p50ConvergenceMs, 1), n(c.p99ConvergenceMs, 1), n(c.messagesPerEntry, 0)],
    ['naive flood', n(c.flood.coverage, 4), n(c.flood.p50ConvergenceMs, 1), n(c.flood.p99ConvergenceMs, 1), n(c.flood.messagesPerEntry, 0)],
    ['BFS hops × one-hop latency', '1', n(c.bfs.p50ConvergenceMs, 1), n(c.bfs.p99ConvergenceMs, 1), '—']
  ])
  const plot = lineChart({
    title: 'Cache convergence: share of (peer, entry) pairs holding the entry',
    xLabel: 'ms after publication',
    yLabel: 'coverage',
    yMin: 0,
    yMax: 1,
    series: [{ name: 'gossip', points: c.series.gossip }, { name: 'naive flood', points: c.series.flood }, { name: 'BFS × hop', points: c.series.bfs, dashed: true }],
    vLines: [{ x: 1000, label: '1 s target' }]
  })
  return `<h2>Cache dissemination</h2><p>${c.peers} peers, ${c.entries} entries, worst entry coverage ${n(c.minCoverage, 4)}; forged entries published ${c.forgedPublished}, accepted ${c.forgedAccepted}.</p>${t}${plot}`
}

function reputationSection (r: RunResult): string {
  const rep = r.reputation
  if (rep === undefined) return ''
  const s = rep.series
  const series: Series[] = [
    { name: 'honest peers', points: s.t.map((t, i) => [t / 1000, s.honest[i]]) },
    { name: 'malicious (all)', points: s.t.map((t, i) => [t / 1000, s.malicious[i]]) },
    ...Object.entries(s.byKind).map(([k, v]) => ({ name: `malicious: ${k}`, points: s.t.map((t, i) => [t / 1000, v[i]] as [number, number]), dashed: true }))
  ]
  const plot = lineChart({ title: 'Reputation honest nodes give honest vs malicious peers (mean score)', xLabel: 'time, s', yLabel: 'score', series, yMin: -100, yMax: 100, hLines: [{ y: -20, label: 'avoid below -20' }, { y: -60, label: 'ban below -60' }] })
  const byKind = s.excludedFractionByKind ?? {}
  const excl = lineChart({
    title: 'Share of (honest node, malicious peer) pairs excluded',
    xLabel: 'time, s',
    yLabel: 'excluded',
    series: [
      { name: 'excluded (all)', points: s.t.map((t, i) => [t / 1000, s.excludedFraction[i]]) },
      ...Object.entries(byKind).map(([k, v]) => ({ name: `excluded: ${k}`, points: s.t.map((t, i) => [t / 1000, v[i]] as [number, number]), dashed: true }))
    ],
    yMin: 0,
    yMax: 1
  })
  const within = (v: number | null): string => v === null ? 'not within the run' : `${n(v / 1000, 1)} s`
  const atEnd = (v: number[] | undefined): string => v === undefined || v.length === 0 ? '' : `${n(100 * (v.at(-1) as number), 1)} %`
  const t = table(['malicious peers', 'kind', 'excluded by every honest node within', 'pairs excluded at the end'], [
    [n(rep.maliciousPeers, 0), 'all', within(rep.excludedWithinMs), atEnd(s.excludedFraction)],
    ...Object.entries(rep.excludedWithinMsByKind).map(([k, v]) => ['', esc(k), within(v), atEnd(byKind[k])])
  ])
  const wrongly = rep.honestExcludedMax === undefined ? '' : ` Honest peers wrongly excluded (pairs at once, at most): ${n(rep.honestExcludedMax, 0)}.`
  return `<h2>Reputation</h2><p>${rep.observers} honest observers sampled.${wrongly}</p>${t}${plot}${excl}`
}

function partitionSection (r: RunResult): string {
  const p = r.partition
  if (p === undefined) return ''
  const end = Math.max(...p.timeline.flatMap(l => l.segments.map(s => s.to)), p.healAtMs)
  const lanes = p.timeline.map(l => ({ label: `${l.isolated ? 'isolated' : `group ${l.group}`} p${l.peer}`, segments: l.segments.map(s => ({ from: s.from, to: s.to, state: s.mode })) }))
  const chart = laneChart('Mode per node through the partition', lanes, { federated: '#2ca02c', solo: '#d62728' }, end, [{ x: p.cutAtMs, label: 'cut' }, { x: p.healAtMs, label: 'heal' }])
  const rec = p.reconcile ?? {}
  const t = table(['figure', 'value'], [
    ['solo after the cut (isolated nodes, worst)', `${n(p.soloAfterMs, 0)} ms`],
    ['federated again after the heal (worst)', `${n(p.federatedAfterHealMs, 0)} ms`],
    ['non-isolated nodes that went solo', n(p.spuriousSolo, 0)],
    ['reconciled after the heal (model)', `${n(p.reconciledAfterMs, 0)} ms`],
    ...Object.entries(rec).map(([k, v]) => [`reconcile: ${esc(k)}`, n(v)])
  ])
  return `<h2>Partition</h2>${t}${chart}`
}

function runSection (r: RunResult, doc: Omit<ReportDocument, 'runs' | 'crossCheck'>, multi: boolean): string {
  const head = multi ? `<h2>Run: ${esc(r.mode)} mode</h2>` : ''
  return `${head}<h2>Goals</h2>${goalsSection(doc)}${routingSection(r)}${cacheSection(r)}${reputationSection(r)}${partitionSection(r)}
<h2>What this mode models</h2><ul>${r.notes.map(x => `<li>${esc(x)}</li>`).join('')}</ul>
<p class="small">wall ${n(r.resources.wallMs, 0)} ms, ${r.resources.events !== undefined ? `${n(r.resources.events, 0)} events, ` : ''}peak RSS ${n(r.resources.peakRssMb ?? null, 0)} MB${r.resources.cpuMs !== undefined ? `, CPU ${n(r.resources.cpuMs, 0)} ms` : ''}${r.resources.startMs !== undefined ? `, nodes started and connected in ${n(r.resources.startMs, 0)} ms` : ''}${r.resources.eventLoopDelayP99Ms !== undefined ? `, event-loop delay p50 ${n(r.resources.eventLoopDelayP50Ms ?? null, 1)} / p99 ${n(r.resources.eventLoopDelayP99Ms, 1)} / max ${n(r.resources.eventLoopDelayMaxMs ?? null, 1)} ms` : ''}</p>`
}

export function renderHtml (runs: RunResult[], doc: ReportDocument): string {
  const docs = doc.runs ?? [doc]
  const first = runs[0]
  const status = doc.passed ? '<span class="pass">all applicable goals met</span>' : '<span class="fail">some goals missed</span>'
  const cross = doc.crossCheck === undefined
    ? ''
    : `<h2>Model vs real-stack</h2>${table(['figure', 'model', 'real-stack', 'real / model', 'agree (±20 %)'], doc.crossCheck.map(c => [esc(c.figure), n(c.model), n(c.realStack), n(c.ratio), c.agree === null ? '—' : c.agree ? '<span class="pass">yes</span>' : '<span class="fail">no</span>']))}`
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>fedmesh sim: ${esc(first.scenario)}</title><style>${CSS}</style></head><body>
<h1>fedmesh simulation: ${esc(first.scenario)}</h1>
<p>${esc(runs.map(r => r.mode).join(' + '))} mode · seed <b>${first.seed}</b> · ${first.peers} peers · ${fmt(first.durationMs / 1000)} s of arrivals · fedmesh ${esc(doc.versions.fedmesh)} · node ${esc(doc.versions.node)} · ${status}</p>
<p class="verdict">${esc(doc.verdict)}</p>
<p class="small">Replay: <code>fedmesh sim --scenario ${esc(first.scenario)} --seed ${first.seed} --peers ${first.peers}</code></p>
${cross}${runs.map((r, i) => runSection(r, docs[i] ?? doc, runs.length > 1)).join('\n')}
<h2>Scenario</h2><pre>${esc(JSON.stringify(first.config, null, 2))}</pre>
</body></html>`
}
