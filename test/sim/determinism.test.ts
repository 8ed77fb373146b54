import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { runModel } from '../../simulations/model/run.js'
import { buildWorld } from '../../simulations/model/world.js'
import { Rng } from '../../simulations/prng.js'
import { parseScenario } from '../../simulations/scenario.js'
import type { RunResult } from '../../simulations/report/types.js'

const scenario = (seed: number): ReturnType<typeof parseScenario> => parseScenario({
  name: 'test-determinism', seed, peers: 25, durationMs: 5_000, warmupMs: 500,
  workload: { load: 0.7 }, faults: { churn: { fraction: 0.1, downMs: 1_500 } }, cache: { peers: 40, entries: 3 }
})

/** Everything but wall time and memory. */
function figures (r: RunResult): unknown {
  return { routing: r.routing, cache: r.cache, reputation: r.reputation, partition: r.partition }
}

describe('determinism', () => {
  it('the same seed gives identical figures and decision counts', async () => {
    const a = await runModel(scenario(42))
    const b = await runModel(scenario(42))
    expect(figures(b)).toEqual(figures(a))
    expect(b.routing!.fedmesh.decisions).toEqual(a.routing!.fedmesh.decisions)
    expect(b.resources.events).toBe(a.resources.events)
  })

  // The pool starts compiled workers (npm test builds dist/ first): the runs side by side on
  // threads give the figures of the same runs one after the other here.
  const workerUrl = new URL('../../dist/simulations/model/engine-worker.js', import.meta.url)
  it.skipIf(!existsSync(fileURLToPath(workerUrl)))('engine runs on worker threads give the figures of the same runs in this thread', async () => {
    const here = await runModel(scenario(7), { workers: 1 })
    const threads = await runModel(scenario(7), { workers: 2, workerUrl })
    expect(figures(threads)).toEqual(figures(here))
    expect(threads.resources.events).toBe(here.resources.events)
  })

  it('a different seed gives a different trace', () => {
    const a = buildWorld(scenario(1), 1).trace
    const b = buildWorld(scenario(2), 2).trace
    expect(Array.from(b.at.slice(0, 20))).not.toEqual(Array.from(a.at.slice(0, 20)))
  })

  it('forked streams are independent of each other and stable', () => {
    const r = new Rng(11)
    const x = r.fork('arrivals').float()
    const y = new Rng(11).fork('arrivals').float()
    expect(x).toBe(y)
    expect(new Rng(11).fork('faults').float()).not.toBe(x)
  })
})
