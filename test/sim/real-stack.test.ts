import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runRealStack } from '../../simulations/real-stack/index.js'
import { writeReport } from '../../simulations/report/index.js'
import { parseScenario } from '../../simulations/scenario.js'
import type { RunResult } from '../../simulations/report/types.js'

/** 8 real nodes in this process on the simulated network, 3 s of work at half load. */
const small = parseScenario({
  name: 'test-real-stack',
  seed: 5,
  peers: 8,
  durationMs: 3_000,
  warmupMs: 500,
  workload: { load: 0.5, service: { meanMs: 300 } },
  realStack: { cacheWrites: 3 },
  goals: ['routing', 'fairness', 'cache']
})

describe('real-stack mode, 8 nodes', () => {
  let run: RunResult
  let dir: string

  beforeAll(async () => {
    run = await runRealStack(small)
    dir = await mkdtemp(join(tmpdir(), 'fedmesh-sim-rs-'))
  }, 60_000)
  afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

  it('runs every task of the trace and loses none', () => {
    const r = run.routing!
    expect(r.fedmesh.tasks).toBeGreaterThan(10)
    expect(r.fedmesh.lost).toBe(0)
    expect(r.fedmesh.completed).toBe(r.fedmesh.tasks)
    expect((r.fedmesh.decisions?.['ran-local'] ?? 0) + (r.fedmesh.decisions?.['ran-remote'] ?? 0)).toBeGreaterThanOrEqual(r.fedmesh.tasks)
  })

  it('measures cache convergence against the flood and BFS baselines on the real connections', () => {
    const c = run.cache!
    expect(c.coverage).toBe(1)
    expect(c.flood.coverage).toBe(1)
    expect(c.bfs.maxHops).toBeGreaterThan(0)
    expect(c.series.gossip.length).toBeGreaterThan(1)
    expect(c.p99ConvergenceMs).toBeGreaterThanOrEqual(c.flood.p50ConvergenceMs)
  })

  it('writes report.json and an HTML report with its plots', async () => {
    const { jsonPath, htmlPath } = await writeReport([run], dir)
    const doc = JSON.parse(await readFile(jsonPath, 'utf8'))
    expect(doc).toMatchObject({ scenario: 'test-real-stack', seed: 5, peers: 8, mode: 'real-stack' })
    expect(doc.routing.lost).toBe(0)
    expect(doc.resources.peakRssMb).toBeGreaterThan(0)
    const html = await readFile(htmlPath, 'utf8')
    expect(html).toContain('<svg')
    expect(html).toContain('Response time CDF per policy')
    expect(html).toContain('Load per peer')
    expect(html).toContain('Cache convergence')
    expect(html).not.toMatch(/<script|<link|src="http|href="http/)
  })
})

describe('real-stack mode, 8 nodes in one private federation', () => {
  it('every connection proves membership and the run still loses nothing', async () => {
    const run = await runRealStack(parseScenario({ ...small, name: 'test-real-stack-federation', realStack: { cacheWrites: 3, federation: true } }))
    const r = run.routing!
    expect(r.fedmesh.completed).toBe(r.fedmesh.tasks)
    expect(r.fedmesh.lost).toBe(0)
    expect(run.cache!.coverage).toBe(1)
  }, 60_000)
})
