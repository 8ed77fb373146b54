/**
 * What a simulation run hands to the report: the same shape from model mode and from real-stack
 * mode, so either (or both, for the cross-check) renders. Every section is optional: a mode
 * fills what it measured. A real-stack runner (`simulations/real-stack/index.ts`) exports
 * `runRealStack(scenario, options): Promise<RunResult>` with `mode: 'real-stack'`.
 */
import type { Scenario } from '../scenario.js'

export type SimMode = 'model' | 'real-stack'

/** One policy's figures on the run's task trace. */
export interface PolicySummary {
  /** Report name: fedmesh, ideal, random, roundRobin, powerOfTwo, or a variant's name. */
  name: string
  /** Measured tasks (arrived after warm-up at a live origin). */
  tasks: number
  completed: number
  /** Measured tasks without a correct result (beyond-budget ones apart). */
  lost: number
  /** Measured tasks whose run alone is longer than their budget on any peer: no scheduler answers them in time. */
  beyondBudget?: number
  meanMs: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  meanResponseVsIdeal: number
  p99ResponseVsIdeal: number
  /** Jain's index over per-peer utilisation (honest peers). */
  jainIndex: number
  maxOverMeanLoad: number
  /** Response-time quantiles 0, 1 %, …, 100 %, ms (the CDF). */
  cdf: number[]
  /** Per-peer utilisation, honest peers in peer order (rounded). */
  loadPerPeer: number[]
  decisions?: Record<string, number>
  meanAdAgeMs?: number
  duplicateRuns?: number
  /** Parameters that differ from the defaults (variants). */
  params?: Record<string, unknown>
}

/** fedmesh's run over time, in bins of `binMs` starting at `t` (ms since the start). */
export interface TimelineSeries {
  binMs: number
  t: number[]
  /** Tasks that finished with a result, per second. */
  throughputPerS: number[]
  /** Their mean response time, ms (null: none finished in the bin). */
  meanResponseMs: Array<number | null>
  /** Tasks that ended without a correct result. */
  lost: number[]
  /** The most tasks in the system at once (arrived at their origin, not finished). */
  peakInSystem: number[]
}

export interface RoutingResult {
  policy: 'fedmesh'
  offeredLoad: number
  fedmesh: PolicySummary
  /** fedmesh's run over time (model mode). */
  timeline?: TimelineSeries
  ideal: PolicySummary
  baselines: Record<string, PolicySummary>
  variants: PolicySummary[]
  /** Tasks submitted while their origin was down (not accepted, not lost). */
  notAccepted: number
}

export interface CacheSection {
  peers: number
  entries: number
  coverage: number
  minCoverage: number
  p50ConvergenceMs: number
  p99ConvergenceMs: number
  forgedPublished: number
  forgedAccepted: number
  messagesPerEntry: number
  flood: { coverage: number, p50ConvergenceMs: number, p99ConvergenceMs: number, messagesPerEntry: number }
  bfs: { p50ConvergenceMs: number, p99ConvergenceMs: number, meanHopMs: number, maxHops: number }
  series: { gossip: Array<[number, number]>, flood: Array<[number, number]>, bfs: Array<[number, number]> }
}

export interface ReputationSection {
  maliciousPeers: number
  observers: number
  /** Time until every honest node rates every malicious peer it knows below the avoid line. */
  excludedWithinMs: number | null
  excludedWithinMsByKind: Record<string, number | null>
  /** (Honest observer, honest peer) pairs excluded at once, at most over the run: wrongly excluded. */
  honestExcludedMax?: number
  series: { t: number[], honest: number[], malicious: number[], byKind: Record<string, number[]>, excludedFraction: number[], excludedFractionByKind?: Record<string, number[]> }
}

export interface PartitionSection {
  cutAtMs: number
  healAtMs: number
  soloAfterMs: number | null
  federatedAfterHealMs: number | null
  reconciledAfterMs: number | null
  spuriousSolo: number
  reconcile?: Record<string, unknown>
  timeline: Array<{ peer: number, group: number, isolated: boolean, segments: Array<{ from: number, to: number, mode: 'federated' | 'solo' }> }>
}

export interface RunResult {
  mode: SimMode
  scenario: string
  seed: number
  peers: number
  durationMs: number
  /** The validated scenario as run (after --peers/--seed overrides). */
  config: Scenario
  routing?: RoutingResult
  cache?: CacheSection
  reputation?: ReputationSection
  partition?: PartitionSection
  /** Wall time and memory of the run (not figures: they vary between machines). */
  resources: {
    wallMs: number
    events?: number
    peakRssMb?: number
    /** Real-stack: CPU time of the process (user + system), ms. */
    cpuMs?: number
    /** Real-stack: event-loop delay while the workload ran (all nodes share one loop), ms. */
    eventLoopDelayP50Ms?: number
    eventLoopDelayP99Ms?: number
    eventLoopDelayMaxMs?: number
    /** Real-stack: time to start and connect every node, ms. */
    startMs?: number
  }
  /** What the mode models and what it leaves out. */
  notes: string[]
}
