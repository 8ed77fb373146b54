/**
 * `fedmesh sim` without the CLI: load a scenario, apply overrides, run it in model mode,
 * real-stack mode or both, write report.json and report.html, print a summary. Returns the exit
 * code: 0 when every applicable goal is met, 1 when one is missed (the seed is printed so the run
 * can be replayed), 2 when the run could not happen (bad scenario, real-stack mode missing).
 */
import { ProgressLine } from './progress.js'
import { parseScenario, loadScenario, realStackScenario } from './scenario.js'
import { renderTerminal, toJson, writeReport } from './report/index.js'
import type { RunResult } from './report/types.js'
import type { Scenario } from './scenario.js'

export type ModeChoice = 'model' | 'real-stack' | 'both'

export interface SimOptions {
  /** Scenario file, or a bundled scenario's name. Default `steady`. */
  scenario?: string
  peers?: number
  seed?: number
  /** Output folder. Default `./sim-out`. */
  out?: string
  mode?: ModeChoice
  /** Print report.json on stdout instead of the tables. */
  json?: boolean
  stdout?: (s: string) => void
  stderr?: (s: string) => void
}

export class SimUsageError extends Error {
  constructor (message: string, readonly exitCode = 2) {
    super(message)
    this.name = 'SimUsageError'
  }
}

/** What `simulations/real-stack/index.js` must export. */
export interface RealStackModule {
  runRealStack: (scenario: Scenario, options: { log?: (line: string) => void }) => Promise<RunResult>
}

export async function loadRealStack (): Promise<RealStackModule> {
  const spec = new URL('./real-stack/index.js', import.meta.url).href
  let mod: Partial<RealStackModule>
  try {
    mod = await import(spec) as Partial<RealStackModule>
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code === 'ERR_MODULE_NOT_FOUND' && String((err as Error).message).includes('real-stack')) {
      throw new SimUsageError('real-stack mode is not available yet (simulations/real-stack/index.js does not exist)')
    }
    throw err
  }
  if (typeof mod.runRealStack !== 'function') throw new SimUsageError('simulations/real-stack/index.js does not export runRealStack')
  return mod as RealStackModule
}

/** The scenario with command-line overrides, validated again as a whole. */
export function scenarioWithOverrides (base: Scenario, peers?: number, seed?: number): Scenario {
  return parseScenario({ ...base, ...(peers !== undefined ? { peers } : {}), ...(seed !== undefined ? { seed } : {}) }, 'command line')
}

export async function runSimulation (opts: SimOptions = {}): Promise<number> {
  const out = opts.stdout ?? ((s: string) => { process.stdout.write(s) })
  const err = opts.stderr ?? ((s: string) => { process.stderr.write(s) })
  const mode = opts.mode ?? 'model'
  const given = scenarioWithOverrides(loadScenario(opts.scenario ?? 'steady'), opts.peers, opts.seed)
  // A real-stack run may scale the workload (scenario.realStack); under --mode both the model
  // runs the same scaled world, so the cross-check compares like with like.
  const { scenario, scaled } = mode === 'model' ? { scenario: given, scaled: [] } : realStackScenario(given)
  const log = (line: string): void => { if (opts.json !== true) err(`sim: ${line}\n`) }
  const runs: RunResult[] = []
  // Load real-stack first, so a missing module fails before minutes of model mode.
  const real = mode === 'model' ? undefined : await loadRealStack()
  const scaledNote = scaled.length > 0 ? [`Workload scaled for real-stack (scenario.realStack): ${scaled.join('; ')}.`] : []
  if (mode !== 'real-stack') {
    const { runModel } = await import('./model/run.js')
    // A progress line only where a person watches stderr (the CLI's own), never with --json.
    const progress = opts.json === true || opts.stderr != null
      ? undefined
      : new ProgressLine({ write: err, tty: process.stderr.isTTY === true, colour: process.stderr.isTTY === true && process.env.NO_COLOR == null })
    const r = await runModel(scenario, { log: (line) => { progress?.done(); log(line) }, progress: (p) => { progress?.update(p) } })
    progress?.done()
    r.notes.push(...scaledNote)
    runs.push(r)
  }
  if (real !== undefined) {
    const r = await real.runRealStack(scenario, { log })
    r.notes.push(...scaledNote)
    runs.push(r)
  }
  const written = await writeReport(runs, opts.out ?? 'sim-out')
  const doc = written.doc
  if (opts.json === true) out(toJson(doc) + '\n')
  else {
    out(renderTerminal(runs, doc) + '\n')
    out(`report: ${written.jsonPath} and ${written.htmlPath}\n`)
  }
  if (!doc.passed) {
    const missed = doc.goals.filter(g => g.status === 'fail').map(g => g.id)
    err(`sim: goals missed (${missed.join(', ')}); seed ${scenario.seed} replays this run: --scenario ${opts.scenario ?? 'steady'} --seed ${scenario.seed} --peers ${scenario.peers}\n`)
    return 1
  }
  return 0
}
