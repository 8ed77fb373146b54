import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCacheModel } from '../../simulations/model/cache.js'
import { runModel } from '../../simulations/model/run.js'
import { Rng } from '../../simulations/prng.js'
import { Timeline } from '../../simulations/model/timeline.js'
import { buildReport, renderTerminal, writeReport } from '../../simulations/report/index.js'
import { SimUsageError, runSimulation, scenarioWithOverrides } from '../../simulations/run-sim.js'
import { loadScenario, parseScenario } from '../../simulations/scenario.js'
import type { RunResult } from '../../simulations/report/types.js'

/** 30 peers, a few virtual seconds; judged on cache and malicious goals (the latter missed: nobody is malicious). */
const small = parseScenario({
  name: 'test-report',
  seed: 7,
  peers: 30,
  durationMs: 6_000,
  warmupMs: 1_000,
  workload: { load: 0.6 },
  cache: { entries: 4, forged: 2 },
  goals: ['cache', 'malicious'],
  routing: { baselines: ['random'] }
})

const ESC = String.fromCharCode(27)

describe('the report of a run', () => {
  let run: RunResult
  let dir: string

  beforeAll(async () => {
    run = await runModel(small)
    dir = await mkdtemp(join(tmpdir(), 'fedmesh-report-'))
  })
  afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

  it('opens with a verdict paragraph that states the figures and the goals', () => {
    const doc = buildReport([run])
    const f = run.routing!.fedmesh
    expect(doc.verdict).toContain(`${f.meanResponseVsIdeal.toFixed(3)}x the ideal scheduler's`)
    expect(doc.verdict).toContain('over 30 peers at 60 % offered load')
    // 'malicious' applies but there are no malicious peers: its goals are missed (not reached).
    expect(doc.verdict).toMatch(/Verdict: 2 of 6 goals missed \(malicious peers excluded within not reached, goal ≤ 60 s; honest peers wrongly excluded \(pairs, most at once\) not reached, goal = 0\)/)
  })

  it('shows each value in its target\'s unit', () => {
    const goals = buildReport([run]).goals
    const byId = Object.fromEntries(goals.map(g => [g.id, g]))
    expect(byId['routing-mean'].shown).toMatch(/^\d+\.\d+x$/)
    expect(byId['cache-coverage'].shown).toMatch(/ %$/)
    expect(byId['cache-p99'].shown).toMatch(/^\d+ ms$/)
    expect(byId['malicious-excluded'].shown).toBe('not reached')
  })

  it('converts each value to its target\'s unit exactly (percent, seconds, ms, ratio)', () => {
    const judged: RunResult = {
      ...run,
      cache: { ...run.cache!, coverage: 0.9876, p99ConvergenceMs: 412.4 },
      reputation: { maliciousPeers: 3, observers: 10, excludedWithinMs: 42_100, excludedWithinMsByKind: {}, series: { t: [], honest: [], malicious: [], byKind: {}, excludedFraction: [] } }
    }
    const byId = Object.fromEntries(buildReport([judged]).goals.map(g => [g.id, g]))
    expect(byId['cache-coverage']).toMatchObject({ shown: '98.76 %', status: 'fail' })
    expect(byId['cache-p99']).toMatchObject({ shown: '412 ms', status: 'pass' })
    expect(byId['malicious-excluded']).toMatchObject({ shown: '42.1 s', status: 'pass' })
    // Not measured (a report from before the field): not reached. Measured: 0 passes, more fails.
    expect(byId['honest-excluded']).toMatchObject({ shown: 'not reached', status: 'fail' })
    const honest = (n: number): string => Object.fromEntries(buildReport([{ ...judged, reputation: { ...judged.reputation!, honestExcludedMax: n } }]).goals.map(g => [g.id, g.status]))['honest-excluded']
    expect([honest(0), honest(2)]).toEqual(['pass', 'fail'])
    // A listed miss that is met says so too.
    const met = buildReport([{ ...judged, config: { ...judged.config, expectedMisses: { 'malicious-excluded': 'was slower' } } }])
    expect(met.verdict).toContain('expected to miss but met: malicious peers excluded within')
    expect(renderTerminal([judged], met)).toContain('pass (expected to fail)')
  })

  it('a miss the scenario expects says so with its reason and does not fail the run', () => {
    const expecting = { ...run, config: { ...run.config, expectedMisses: { 'malicious-excluded': 'no malicious peer in this scenario', 'honest-excluded': 'no malicious peer in this scenario' } } }
    const doc = buildReport([expecting])
    const g = doc.goals.find(g => g.id === 'malicious-excluded')!
    expect(g).toMatchObject({ status: 'fail', expected: 'no malicious peer in this scenario' })
    expect(doc.passed).toBe(true)
    expect(doc.verdict).toContain('2 missed as this scenario expects (malicious peers excluded within not reached: no malicious peer in this scenario')
    expect(renderTerminal([expecting], doc)).toMatch(/fail \(expected\)/)
    expect(buildReport([run]).passed).toBe(false)
  })

  it('terminal tables carry no escape codes unless colour is asked for', () => {
    const doc = buildReport([run])
    expect(renderTerminal([run], doc)).not.toContain(ESC)
    expect(renderTerminal([run], doc, { colour: true })).toContain(ESC)
  })

  it('reports the run over time: throughput, mean response and tasks in the system per bin', async () => {
    const tl = run.routing!.timeline!
    expect(tl.binMs).toBe(1_000)
    expect(tl.t.length).toBeGreaterThanOrEqual(6)
    const finished = tl.throughputPerS.reduce((a, b) => a + b, 0) * tl.binMs / 1000
    // Every task finished (warm-up ones included), none lost.
    expect(finished).toBeGreaterThanOrEqual(run.routing!.fedmesh.completed)
    expect(tl.lost.every(n => n === 0)).toBe(true)
    expect(Math.max(...tl.peakInSystem)).toBeGreaterThan(0)
    const { htmlPath, jsonPath } = await writeReport([run], dir)
    const html = await readFile(htmlPath, 'utf8')
    for (const title of ['Throughput: tasks finished per second', 'Mean response time of the tasks finishing in each bin', 'Tasks in the system']) expect(html).toContain(title)
    expect(html).toContain('class="verdict"')
    expect(JSON.parse(await readFile(jsonPath, 'utf8')).routing.series.timeline.binMs).toBe(1_000)
  })

  it('tells policies apart by more than colour: each line has its own dash pattern and markers', async () => {
    const { htmlPath } = await writeReport([run], dir)
    const html = await readFile(htmlPath, 'utf8')
    const cdf = html.slice(html.indexOf('Response time CDF per policy'), html.indexOf('Load per peer'))
    const dashes = [...cdf.matchAll(/<path d="[^"]*" fill="none" stroke="[^"]+" stroke-width="1.8"( stroke-dasharray="([^"]+)")?>/g)].map(m => m[2] ?? 'solid')
    expect(dashes.length).toBe(3) // fedmesh, random, ideal
    expect(new Set(dashes).size).toBe(3)
    expect(cdf).toMatch(/<rect [^>]*width="6.4"/) // a square marker
    expect(cdf).toContain('<circle')
  })
})

describe('fedmesh sim checks before it runs', () => {
  it('an output folder it cannot write is a usage error, before any simulation', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fedmesh-out-'))
    const file = join(dir, 'a-file')
    await writeFile(file, 'x')
    try {
      const started = Date.now()
      const failure = await runSimulation({ scenario: 'model-10000', out: join(file, 'sub'), stdout: () => {}, stderr: () => {} }).catch((err: unknown) => err)
      expect(failure).toBeInstanceOf(SimUsageError)
      expect((failure as Error).message).toMatch(/^--out .*: cannot write there \(ENOTDIR\)$/)
      // model-10000 takes minutes: failing at once shows the check came first.
      expect(Date.now() - started).toBeLessThan(10_000)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('--peers sizes the whole run, the cache model too; without it the cache model has the scenario\'s peers unless it names its own', () => {
    const s = scenarioWithOverrides(loadScenario('steady'), 120)
    expect(s.peers).toBe(120)
    expect(s.cache.peers).toBe(120)
    const small = scenarioWithOverrides({ ...loadScenario('steady'), peers: 40 })
    expect(runCacheModel(small, new Rng(1)).peers).toBe(40)
    expect(loadScenario('model-10000').cache.peers).toBe(2000)
  })
})

describe('Timeline', () => {
  it('bins finishes, responses, losses and the peak of tasks in the system', () => {
    const t = new Timeline(10_000)
    t.inSystem(100, 1)
    t.inSystem(200, 2)
    t.ended(900, 400)
    t.inSystem(900, 1)
    t.ended(1_500, undefined)
    t.inSystem(1_500, 0)
    expect(t.result()).toEqual({ binMs: 1_000, t: [0, 1_000], throughputPerS: [1, 0], meanResponseMs: [400, null], lost: [0, 1], peakInSystem: [2, 0] })
  })

  it('uses bins of at least a second, about 120 over a long run', () => {
    expect(new Timeline(600_000).result().binMs).toBe(5_000)
  })
})
