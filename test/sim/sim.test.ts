import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runEngine } from '../../simulations/model/engine.js'
import type { DispatcherRules, EngineResult } from '../../simulations/model/engine.js'
import { runIdeal } from '../../simulations/model/ideal.js'
import { runModel } from '../../simulations/model/run.js'
import { buildWorld } from '../../simulations/model/world.js'
import { Rng } from '../../simulations/prng.js'
import { DEFAULT_PLAN_PARAMS } from '../../src/core/routing/plan.js'
import { DEFAULT_SCORE_PARAMS } from '../../src/core/routing/score.js'
import { writeReport } from '../../simulations/report/index.js'
import { parseScenario } from '../../simulations/scenario.js'
import type { RunResult } from '../../simulations/report/types.js'

/** 30 peers, a few virtual seconds: every invariant, in well under a second of wall time. */
const small = parseScenario({
  name: 'test-small',
  seed: 7,
  peers: 30,
  durationMs: 6_000,
  warmupMs: 1_000,
  workload: { load: 0.6 },
  cache: { peers: 60, entries: 4, forged: 2 },
  goals: ['routing', 'fairness', 'cache']
})

describe('model mode, small scenario', () => {
  let run: RunResult
  let dir: string

  beforeAll(async () => {
    run = await runModel(small)
    dir = await mkdtemp(join(tmpdir(), 'fedmesh-sim-'))
  })
  afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

  it('measures tasks and loses none under fedmesh', () => {
    const r = run.routing!
    expect(r.fedmesh.tasks).toBeGreaterThan(100)
    expect(r.fedmesh.lost).toBe(0)
    expect(r.fedmesh.completed).toBe(r.fedmesh.tasks)
    expect(r.ideal.lost).toBe(0)
  })

  it('runs every baseline on the same trace', () => {
    const r = run.routing!
    expect(Object.keys(r.baselines).sort()).toEqual(['powerOfTwo', 'random', 'roundRobin'])
    for (const b of Object.values(r.baselines)) expect(b.tasks).toBe(r.fedmesh.tasks)
  })

  it('the ideal is no slower on average than any policy', () => {
    const r = run.routing!
    for (const p of [r.fedmesh, ...Object.values(r.baselines)]) {
      expect(r.ideal.meanMs).toBeLessThanOrEqual(p.meanMs)
      expect(p.meanResponseVsIdeal).toBeGreaterThanOrEqual(1)
    }
  })

  it('fairness and load figures are in range', () => {
    for (const p of [run.routing!.fedmesh, run.routing!.ideal]) {
      expect(p.jainIndex).toBeGreaterThan(0)
      expect(p.jainIndex).toBeLessThanOrEqual(1)
      expect(p.maxOverMeanLoad).toBeGreaterThanOrEqual(1)
    }
  })

  it('models cache dissemination with no forged entry accepted', () => {
    expect(run.cache!.coverage).toBeGreaterThan(0.9)
    expect(run.cache!.forgedAccepted).toBe(0)
    expect(run.cache!.p99ConvergenceMs).toBeGreaterThanOrEqual(run.cache!.p50ConvergenceMs)
  })

  it('writes report.json with the contract fields and a self-contained report.html with its plots', async () => {
    const { jsonPath, htmlPath } = await writeReport([run], dir)
    const doc = JSON.parse(await readFile(jsonPath, 'utf8'))
    expect(doc).toMatchObject({ scenario: 'test-small', seed: 7, peers: 30, durationMs: 6_000, mode: 'model' })
    for (const k of ['policy', 'tasks', 'meanResponseVsIdeal', 'p99ResponseVsIdeal', 'jainIndex', 'maxOverMeanLoad', 'lost']) expect(doc.routing).toHaveProperty(k)
    for (const k of ['random', 'powerOfTwo', 'roundRobin']) expect(doc.routing.baselines[k]).toHaveProperty('meanResponseVsIdeal')
    for (const k of ['entries', 'coverage', 'p50ConvergenceMs', 'p99ConvergenceMs', 'forgedAccepted']) expect(doc.cache).toHaveProperty(k)
    expect(doc.versions.fedmesh).toMatch(/^\d+\.\d+\.\d+/)
    expect(doc.goals.find((g: { id: string }) => g.id === 'routing-mean').status).toMatch(/pass|fail/)
    const html = await readFile(htmlPath, 'utf8')
    expect(html).toContain('<svg')
    expect(html).toContain('Response time CDF per policy')
    expect(html).toContain('Load per peer')
    expect(html).toContain('Cache convergence')
    // Self-contained: nothing fetched from elsewhere.
    expect(html).not.toMatch(/<script|<link|src="http|href="http/)
  })
})

describe('model mode, faults', () => {
  it('loses nothing when a fifth of the peers crash and restart', async () => {
    // A restarted peer has no measured run time: candidates.ts gives it the median advertised one.
    const s = parseScenario({
      name: 'test-churn', seed: 3, peers: 30, durationMs: 8_000, warmupMs: 500, workload: { load: 0.6 },
      faults: { churn: { fraction: 0.2, downMs: 2_000 } }, cache: { enabled: false }, goals: ['churn']
    })
    const r = await runModel(s)
    expect(r.routing!.fedmesh.decisions?.crash).toBe(6)
    expect(r.routing!.fedmesh.lost).toBe(0)
  })

  it('honest nodes mark malicious peers and the report has the reputation series', async () => {
    const s = parseScenario({
      name: 'test-sybil', seed: 5, peers: 30, durationMs: 8_000, warmupMs: 500, workload: { load: 0.5, taskTimeoutMs: 4_000 },
      faults: { malicious: { fraction: 0.2, kinds: ['liar', 'wrong'] } }, cache: { enabled: false }, goals: ['malicious']
    })
    const r = await runModel(s)
    const rep = r.reputation!
    expect(rep.maliciousPeers).toBe(6)
    expect(rep.series.t.length).toBeGreaterThan(3)
    const last = rep.series.malicious.length - 1
    expect(rep.series.malicious[last]).toBeLessThan(rep.series.honest[last])
  })

  it('shared evidence: honest nodes exclude wrong-result peers they never sent a task to, by re-running the proof', async () => {
    const scenario = (evidence: boolean, checkFraction = 1): ReturnType<typeof parseScenario> => parseScenario({
      name: 'test-evidence', seed: 5, peers: 60, durationMs: 20_000, warmupMs: 500, workload: { load: 0.5, taskTimeoutMs: 4_000 },
      faults: { malicious: { fraction: 0.1, kinds: ['wrong'], evidence, checkFraction } }, cache: { enabled: false }, goals: ['malicious']
    })
    const [shared, own, sampled] = await Promise.all([runModel(scenario(true)), runModel(scenario(false)), runModel(scenario(true, 0.2))])
    // Checking a fifth of the answers: the others' wrong outputs reach the user, and fewer proofs go out.
    const s = sampled.routing!.fedmesh.decisions!
    expect(s['wrong-delivered']).toBeGreaterThan(0)
    expect(s['evidence-published']).toBeGreaterThan(0)
    expect(shared.routing!.fedmesh.decisions!['wrong-delivered']).toBeUndefined()
    const wrongAtEnd = (r: RunResult): number => r.reputation!.series.excludedFractionByKind!.wrong.at(-1)!
    const d = shared.routing!.fedmesh.decisions!
    expect(d['evidence-published']).toBeGreaterThan(0)
    expect(d['evidence-applied']).toBeGreaterThan(0)
    // Proof against a peer already banned is not run again.
    expect(d['evidence-banned-signer']).toBeGreaterThan(0)
    expect(own.routing!.fedmesh.decisions!['evidence-published']).toBeUndefined()
    expect(wrongAtEnd(shared)).toBeGreaterThan(0.9)
    expect(wrongAtEnd(own)).toBeLessThan(wrongAtEnd(shared))
  })

  it('isolated nodes go solo through a partition and the timeline is reported', async () => {
    const s = parseScenario({
      name: 'test-partition', seed: 9, peers: 30, durationMs: 10_000, warmupMs: 500, workload: { load: 0.5 },
      faults: { partition: { atMs: 3_000, healMs: 7_000, isolate: 2, divergentEntries: 1_000 } }, cache: { enabled: false }, goals: ['partition']
    })
    const r = await runModel(s)
    const p = r.partition!
    expect(p.soloAfterMs).not.toBeNull()
    expect(p.soloAfterMs!).toBeGreaterThan(2_000)
    expect(p.soloAfterMs!).toBeLessThan(4_000)
    expect(p.spuriousSolo).toBe(0)
    expect(p.timeline.filter(n => n.isolated)).toHaveLength(2)
    expect(p.reconciledAfterMs).not.toBeNull()
  })
})

describe('model mode drives the real dispatcher: rules worth comparing are DispatcherInit options', () => {
  // Black holes sit on tasks (patience 1 s, so attempts pass it); liars refuse what they attract.
  const s = parseScenario({
    name: 'test-rules', seed: 4, peers: 30, durationMs: 8_000, warmupMs: 500, workload: { load: 0.85, taskTimeoutMs: 4_000 },
    faults: { malicious: { fraction: 0.2, kinds: ['liar', 'blackhole'] } }, cache: { enabled: false }, goals: []
  })
  const world = buildWorld(s, s.seed)
  const run = async (rules: DispatcherRules | undefined): Promise<EngineResult> => await runEngine(world, {
    label: 'x', score: DEFAULT_SCORE_PARAMS, plan: DEFAULT_PLAN_PARAMS, rules, minAttemptTimeoutMs: 1_000, rng: new Rng(s.seed).fork('fedmesh')
  })

  it('the code: slow attempts stay open (hedged), refusals are judged against the advert, liars and black holes are met', async () => {
    const d = (await run(undefined)).decisions
    expect(d['liar-refusal']).toBeGreaterThan(0)
    expect(d['black-holed']).toBeGreaterThan(0)
    // A black hole is blamed when its patience passes and it never said the task started: as
    // ignoring the task, since its adverts keep coming.
    expect(d['report-ignored']).toBeGreaterThan(0)
    expect(d['report-refused']).toBeGreaterThan(0)
  })

  it('hedge: false and reserveWhenBouncing: false change what the dispatcher does on the same trace', async () => {
    const code = await run(undefined)
    const off = await run({ hedge: false, reserveWhenBouncing: false })
    expect(off.decisions).not.toEqual(code.decisions)
    expect(off.measured).toBe(code.measured)
  })
})

describe('a silent direct send is tried elsewhere before its patience (silenceSlackMs)', () => {
  // Black holes advertise an idle queue and never answer: direct sends meet them.
  const s = parseScenario({
    name: 'test-silence', seed: 6, peers: 30, durationMs: 8_000, warmupMs: 500, workload: { load: 0.6, taskTimeoutMs: 10_000 },
    faults: { malicious: { fraction: 0.2, kinds: ['blackhole'] } }, cache: { enabled: false }, goals: []
  })
  const world = buildWorld(s, s.seed)
  const run = async (rules: DispatcherRules | undefined): Promise<EngineResult> => await runEngine(world, {
    label: 'x', score: DEFAULT_SCORE_PARAMS, plan: DEFAULT_PLAN_PARAMS, rules, rng: new Rng(s.seed).fork('fedmesh')
  })

  it('answers more tasks, and more of them within the 5 s patience, than waiting out the patience at each black hole', async () => {
    const code = await run(undefined)
    const before = await run({ silenceSlackMs: false })
    expect(code.decisions['black-holed']).toBeGreaterThan(0)
    expect(code.measured).toBe(before.measured)
    expect(code.lost).toBeLessThan(before.lost)
    const inTime = (r: EngineResult): number => r.responses.filter(x => x < 5_000).length
    expect(inTime(code)).toBeGreaterThan(inTime(before))
    // Silent sends were not blamed: the timeouts charged are far fewer than the black holes met.
    const charged = (r: EngineResult): number => (r.decisions['report-timeout'] ?? 0) + (r.decisions['report-ignored'] ?? 0)
    expect(charged(code)).toBeLessThan(charged(before))
  })
})

describe('tasks whose run alone is longer than their budget anywhere', () => {
  // Exponential run times (mean 1 s) and a 1.5 s budget: about one task in five cannot finish in time on any peer.
  const s = parseScenario({
    name: 'test-budget', seed: 8, peers: 20, durationMs: 6_000, warmupMs: 500, workload: { load: 0.3, taskTimeoutMs: 1_500 },
    cache: { enabled: false }, goals: []
  })
  const world = buildWorld(s, s.seed)

  it('are counted apart from lost tasks, by every policy and by the ideal (which no longer answers them)', async () => {
    let measuredBeyond = 0
    for (let i = 0; i < world.trace.length; i++) if (world.trace.at[i] >= s.warmupMs && world.beyondBudget[i] === 1) measuredBeyond++
    expect(measuredBeyond).toBeGreaterThan(0)
    for (let i = 0; i < world.trace.length; i++) expect(world.beyondBudget[i] === 1).toBe(world.trace.service[i] > 1_500)
    const ideal = runIdeal(world)
    expect(ideal.beyondBudget).toBe(measuredBeyond)
    expect(ideal.responses.length).toBe(ideal.measured - measuredBeyond - ideal.lost)
    const e = await runEngine(world, { label: 'x', score: DEFAULT_SCORE_PARAMS, plan: DEFAULT_PLAN_PARAMS, rng: new Rng(s.seed).fork('fedmesh') })
    expect(e.beyondBudget).toBe(measuredBeyond)
    // Lost: a few that could have finished but for the network and queues, so close to the budget.
    expect(e.lost).toBeLessThan(measuredBeyond)
    expect(e.responses.length + e.lost + e.beyondBudget).toBe(e.measured)
  })
})

describe('heavy-tailed run times: started attempts are not duplicated, losers are stopped', () => {
  const s = parseScenario({
    name: 'test-tails', seed: 3, peers: 40, durationMs: 8_000, warmupMs: 1_000,
    drainMs: 600_000, workload: { load: 0.85, service: { dist: 'lognormal', sigma: 2 }, taskTimeoutMs: 600_000 }, cache: { enabled: false }, goals: ['routing']
  })
  const world = buildWorld(s, s.seed)
  const run = async (rules: DispatcherRules | undefined): Promise<EngineResult> => await runEngine(world, {
    label: 'x', score: DEFAULT_SCORE_PARAMS, plan: DEFAULT_PLAN_PARAMS, rules, rng: new Rng(s.seed).fork('fedmesh')
  })

  it('runs fewer tasks twice than hedging started attempts and letting losers run, and still loses none', async () => {
    const code = await run(undefined)
    const before = await run({ hedgeStarted: true, stopLosers: false, patienceQuantile: 0 })
    expect(code.measured).toBe(before.measured)
    expect(code.lost).toBe(0)
    expect(before.duplicateRuns).toBeGreaterThan(0)
    expect(code.duplicateRuns).toBeLessThan(before.duplicateRuns)
    // Losers still out when the task was answered were told to stop, and the simulated peers honoured it.
    expect(code.decisions['cancel-stop'] ?? 0).toBeGreaterThan(0)
    expect((code.decisions['cancel-stopped'] ?? 0) + (code.decisions['cancel-dropped'] ?? 0)).toBeGreaterThan(0)
    expect(before.decisions['cancel-stop']).toBeUndefined()
  })
})
