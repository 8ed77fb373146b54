/**
 * The engine runs of one model run (fedmesh, each baseline, each variant) are independent: each
 * replays the same seeded world with its own named random streams. So they run side by side on
 * worker threads, one per core (`os.availableParallelism()`), each worker building the world
 * from the scenario and seed itself (a pure function of them): the figures are the same as one
 * after the other, bit for bit (tested). The longest runs (fedmesh and its variants) go first.
 *
 * Without compiled JavaScript to start a worker from (the test runner loads TypeScript
 * sources), or with one worker, the runs go one after the other in this thread.
 */
import { availableParallelism } from 'node:os'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { Rng } from '../prng.js'
import { runEngine } from './engine.js'
import type { Scenario } from '../scenario.js'
import type { EngineOptions, EngineResult } from './engine.js'
import type { World } from './world.js'

/** One engine run, as a worker is told it: the options, and the name of its random stream. */
export type EngineJob = Omit<EngineOptions, 'rng' | 'onProgress'> & {
  /** The run's random stream: `new Rng(seed).fork('policies').fork(stream)`. */
  stream: string
}

export interface PoolOptions {
  /** Threads to run on. Default: the cores available; 1 runs everything in this thread. */
  workers?: number
  /** The worker script (compiled). Default: `engine-worker.js` beside this module, when it exists. */
  workerUrl?: URL
  /** Job `index` reached virtual time `virtualMs`. */
  onProgress?: (index: number, virtualMs: number) => void
}

/** Heap limit of each worker, MB: a 10,000-peer run holds over a GB live. */
const WORKER_OLD_SPACE_MB = 4096
/** Young generation of each worker, MB: decisions make garbage fast; fewer scavenges cost a few per cent less CPU at 300 peers. */
const WORKER_YOUNG_MB = 192

/** The random stream of a job (the same in a worker and here). */
export function jobRng (seed: number, stream: string): Rng {
  return new Rng(seed).fork('policies').fork(stream)
}

/**
 * Run `jobs` over `world` (built from `scenario` and its seed); one promise per job, in the
 * jobs' order, each settling when its run ends.
 */
export function runEngines (world: World, scenario: Scenario, jobs: readonly EngineJob[], options: PoolOptions = {}): Array<Promise<EngineResult>> {
  const url = options.workerUrl ?? defaultWorkerUrl()
  const threads = Math.min(jobs.length, options.workers ?? availableParallelism())
  if (url === undefined || threads <= 1) return inThisThread(world, scenario, jobs, options)
  return onWorkers(url, threads, scenario, jobs, options)
}

function defaultWorkerUrl (): URL | undefined {
  const url = new URL('./engine-worker.js', import.meta.url)
  return existsSync(fileURLToPath(url)) ? url : undefined
}

function inThisThread (world: World, scenario: Scenario, jobs: readonly EngineJob[], options: PoolOptions): Array<Promise<EngineResult>> {
  let previous: Promise<unknown> = Promise.resolve()
  return jobs.map((job, index) => {
    const run = previous.then(async () => await runEngine(world, {
      ...job,
      rng: jobRng(scenario.seed, job.stream),
      onProgress: (v) => { options.onProgress?.(index, v) }
    }))
    previous = run.catch(() => {})
    return handled(run)
  })
}

/** The caller awaits the runs in order: one that fails before its turn is not "unhandled". */
function handled<T> (p: Promise<T>): Promise<T> {
  p.catch(() => {})
  return p
}

/** What a worker sends back. */
export type WorkerMessage =
  | { type: 'progress', index: number, virtualMs: number }
  | { type: 'done', index: number, result: EngineResult }
  | { type: 'failed', index: number, message: string, stack?: string }

function onWorkers (url: URL, threads: number, scenario: Scenario, jobs: readonly EngineJob[], options: PoolOptions): Array<Promise<EngineResult>> {
  const settlers = jobs.map(() => Promise.withResolvers<EngineResult>())
  // Longest first: fedmesh and its variants judge, hedge and reserve; baselines just send.
  const order = jobs.map((_, i) => i).sort((a, b) => weight(jobs[b]) - weight(jobs[a]) || a - b)
  let next = 0
  let live = threads
  const workers: Worker[] = []
  const fail = (err: Error): void => {
    for (const s of settlers) s.reject(err)
    for (const w of workers) void w.terminate()
  }
  for (let t = 0; t < threads; t++) {
    const worker = new Worker(url, { workerData: { scenario }, resourceLimits: { maxOldGenerationSizeMb: WORKER_OLD_SPACE_MB, maxYoungGenerationSizeMb: WORKER_YOUNG_MB } })
    workers.push(worker)
    const give = (): void => {
      if (next < order.length) {
        const index = order[next++]
        worker.postMessage({ index, job: jobs[index] })
      } else {
        void worker.terminate()
      }
    }
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'progress') options.onProgress?.(m.index, m.virtualMs)
      else if (m.type === 'done') {
        settlers[m.index].resolve(m.result)
        give()
      } else {
        const err = new Error(`engine run ${jobs[m.index].label} failed: ${m.message}`)
        if (m.stack !== undefined) err.stack = m.stack
        fail(err)
      }
    })
    worker.on('error', (err) => { fail(err) })
    worker.on('exit', () => {
      if (--live === 0) fail(new Error('engine workers exited before every run ended'))
    })
    give()
  }
  return settlers.map(s => handled(s.promise))
}

function weight (job: EngineJob): number {
  return job.baseline === undefined ? 1 : 0
}
