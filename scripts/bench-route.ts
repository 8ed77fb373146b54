import { DEFAULT_PLAN_PARAMS, planDispatch } from '../src/core/routing/plan.js'
import { rankCandidates, rankShortlist } from '../src/core/routing/ranking.js'
import { DEFAULT_SCORE_PARAMS } from '../src/core/routing/score.js'
import { TableCandidates, gatherCandidates } from '../src/services/tasks/candidates.js'
import { CapacityTable } from '../src/services/capacity/capacity-table.js'
import { Dispatcher } from '../src/services/tasks/dispatcher.js'
import { Executor } from '../src/services/tasks/executor.js'
import { builtinHandlers } from '../src/services/tasks/handlers.js'
import { round } from './bench-util.js'
import type { CapacityEntry } from '../src/services/capacity/capacity-table.js'
import type { ValidatedAd } from '../src/services/capacity/validate-ad.js'

const PEERS = 300

/**
 * The cost of one routing decision (rank every candidate, plan the dispatch) with 300 peers in
 * the capacity table, against a plain sort of the same 300 numbers as the baseline; the
 * decision ranking only the shortlist the plan can pick, from gathered candidate objects; and
 * as the dispatcher now makes it, from a reader (no object per peer, objects only for what the
 * plan picks). `bounced`: a reservation after a BUSY bounce (its pool is most peers).
 */
export async function benchRoute (): Promise<Record<string, unknown>> {
  const clock = { now: () => Date.now() }
  const table = new CapacityTable({ clock })
  for (let i = 0; i < PEERS; i++) {
    const ad: ValidatedAd = {
      seq: 1, name: `p${i}`, cores: 8, freeMemoryMb: 4096, load: 0.5, queueDepth: i % 7, running: i % 4, concurrency: 4, queueLimit: 128,
      kinds: ['echo', 'sha256', 'sleep'], meanRunMs: new Map([['sleep', 100 + (i % 50)]]), intervalMs: 60_000, addrs: [], clamped: []
    }
    table.update(`peer-${i}`, ad)
  }
  const executor = new Executor({ concurrency: 4, handlers: builtinHandlers(), clock })
  const dispatcher = new Dispatcher({
    selfId: 'self',
    executor,
    table: () => table,
    view: { rtt: () => ({ rttMs: 20, source: 'ping' }), reputation: () => ({ score: 0, state: 'healthy' }), circuitOpen: () => false, connected: () => true },
    client: () => { throw new Error('not used') },
    clock,
    random: Math.random
  })
  const n = 20_000
  let t = performance.now()
  for (let i = 0; i < n; i++) planDispatch(dispatcher.rank('sleep'), Math.random)
  const decisionUs = (performance.now() - t) * 1000 / n
  const view = { rtt: () => ({ rttMs: 20, source: 'ping' as const }), reputation: () => ({ score: 0, state: 'healthy' as const }), circuitOpen: () => false, connected: () => true }
  const timed = (bounced: boolean, read: boolean): number => {
    const shortlist = { plan: DEFAULT_PLAN_PARAMS, bounced }
    const entries: CapacityEntry[] = []
    const start = performance.now()
    for (let i = 0; i < n; i++) {
      const ranked = read
        ? rankShortlist(new TableCandidates('sleep', 'self', executor, table, view, { entries }), DEFAULT_SCORE_PARAMS, shortlist)
        : rankCandidates(gatherCandidates('sleep', 'self', executor, table, view), DEFAULT_SCORE_PARAMS, shortlist)
      planDispatch(ranked, Math.random, DEFAULT_PLAN_PARAMS, { bounced })
    }
    return (performance.now() - start) * 1000 / n
  }
  const shortlistUs = timed(false, false)
  const readerUs = timed(false, true)
  const bouncedGatheredUs = timed(true, false)
  const bouncedReaderUs = timed(true, true)
  const numbers = Array.from({ length: PEERS }, () => Math.random())
  t = performance.now()
  for (let i = 0; i < n; i++) [...numbers].sort((a, b) => a - b)
  const sortUs = (performance.now() - t) * 1000 / n
  return {
    bench: 'route',
    peers: PEERS,
    fedmesh: { usPerDecision: round(decisionUs, 1), decisionsPerSec: round(1e6 / decisionUs, 0) },
    shortlisted: { usPerDecision: round(shortlistUs, 1), speedup: round(decisionUs / shortlistUs, 2) },
    reader: { usPerDecision: round(readerUs, 1), speedup: round(decisionUs / readerUs, 2) },
    bounced: { gatheredUsPerDecision: round(bouncedGatheredUs, 1), readerUsPerDecision: round(bouncedReaderUs, 1), speedup: round(bouncedGatheredUs / bouncedReaderUs, 2) },
    baseline: { name: 'sort of 300 numbers', usPerSort: round(sortUs, 1) },
    ratio: round(decisionUs / sortUs, 2)
  }
}
