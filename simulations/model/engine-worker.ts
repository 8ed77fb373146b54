/**
 * An engine worker (engine-pool.ts): builds the world from the scenario and its seed once, then
 * runs the engine jobs it is handed, reporting progress and each result.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { runEngine } from './engine.js'
import { jobRng } from './engine-pool.js'
import { heapGuard } from './heap-guard.js'
import { buildWorld } from './world.js'
import type { Scenario } from '../scenario.js'
import type { EngineJob, WorkerMessage } from './engine-pool.js'

const port = parentPort
if (port === null) throw new Error('engine-worker.js runs as a worker thread only')
const { scenario } = workerData as { scenario: Scenario }
const world = buildWorld(scenario, scenario.seed)
const guard = heapGuard()
const post = (m: WorkerMessage): void => { port.postMessage(m) }

port.on('message', ({ index, job }: { index: number, job: EngineJob }) => {
  runEngine(world, {
    ...job,
    rng: jobRng(scenario.seed, job.stream),
    onProgress: (virtualMs) => {
      guard()
      post({ type: 'progress', index, virtualMs })
    }
  }).then(result => {
    post({ type: 'done', index, result })
  }, (err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err))
    post({ type: 'failed', index, message: e.message, stack: e.stack })
  })
})
