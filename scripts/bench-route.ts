import { DEFAULT_PLAN_PARAMS, planDispatch } from '../src/core/routing/plan.js'
import { DEFAULT_SCORE_PARAMS, rankCandidates } from '../src/core/routing/score.js'
import { gatherCandidates } from '../src/services/tasks/candidates.js'
import { CapacityTable } from '../src/services/capacity/capacity-table.js'
import { Dispatcher } from '../src/services/tasks/dispatcher.js'
import { Executor } from '../src/services/tasks/executor.js'
import { builtinHandlers } from '../src/services/tasks/handlers.js'
import { round } from './bench-util.js'
import type { ValidatedAd } from '../src/services/capacity/validate-ad.js'

const PEERS = 300

/**
 * The cost of one routing decision (rank every candidate, plan the dispatch) with 300 peers in
 * the capacity table, against a plain sort of the same 300 numbers as the baseline; and the
 * decision as the dispatcher now makes it, ranking only the shortlist the plan can pick.
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
  const shortlist = { plan: DEFAULT_PLAN_PARAMS, bounced: false }
  t = performance.now()
  for (let i = 0; i < n; i++) planDispatch(rankCandidates(gatherCandidates('sleep', 'self', executor, table, view), DEFAULT_SCORE_PARAMS, shortlist), Math.random)
  const shortlistUs = (performance.now() - t) * 1000 / n
  const numbers = Array.from({ length: PEERS }, () => Math.random())
  t = performance.now()
  for (let i = 0; i < n; i++) [...numbers].sort((a, b) => a - b)
  const sortUs = (performance.now() - t) * 1000 / n
  return {
    bench: 'route',
    peers: PEERS,
    fedmesh: { usPerDecision: round(decisionUs, 1), decisionsPerSec: round(1e6 / decisionUs, 0) },
    shortlisted: { usPerDecision: round(shortlistUs, 1), speedup: round(decisionUs / shortlistUs, 2) },
    baseline: { name: 'sort of 300 numbers', usPerSort: round(sortUs, 1) },
    ratio: round(decisionUs / sortUs, 2)
  }
}
