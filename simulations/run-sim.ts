/**
 * `fedmesh sim` without the CLI: load a scenario, apply overrides, run it in model mode,
 * real-stack mode or both, write report.json and report.html, print a summary. Returns the exit
 * code: 0 when every applicable goal is met (or missed as the scenario expects), 1 when one is
 * missed (the seed is printed so the run can be replayed), 2 when the run could not happen (bad
 * scenario, an output folder it cannot write, real-stack mode missing).
 */
import { access, constants, mkdir } from 'node:fs/promises'
import { wantsColor } from '../src/cli/color.js'
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
  /** Colour the tables. Default: when stdout is a terminal and NO_COLOR is not set. */
  colour?: boolean
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

/**
 * The scenario with command-line overrides, validated again as a whole. `--peers` sizes the
 * whole run: the cache dissemination model too (a scenario's own cache size is for its default
 * peer count).
 */
export function scenarioWithOverrides (base: Scenario, peers?: number, seed?: number): Scenario {
  const sized = peers !== undefined ? { peers, cache: { ...base.cache, peers } } : {}
  return parseScenario({ ...base, ...sized, ...(seed !== undefined ? { seed } : {}) }, 'command line')
}

/** The output folder, made and checked before the run (not after minutes of simulation). */
async function writableFolder (dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true })
    await access(dir, constants.W_OK)
  } catch (err) {
    throw new SimUsageError(`--out ${dir}: cannot write there (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
}

export async function runSimulation (opts: SimOptions = {}): Promise<number> {
  const out = opts.stdout ?? ((s: string) => { process.stdout.write(s) })
  const err = opts.stderr ?? ((s: string) => { process.stderr.write(s) })
  const mode = opts.mode ?? 'model'
  const given = scenarioWithOverrides(loadScenario(opts.scenario ?? 'steady'), opts.peers, opts.seed)
  const outDir = opts.out ?? 'sim-out'
  await writableFolder(outDir)
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
      : new ProgressLine({ write: err, tty: process.stderr.isTTY === true, colour: wantsColor(process.stderr) })
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
  const written = await writeReport(runs, outDir)
  const doc = written.doc
  if (opts.json === true) out(toJson(doc) + '\n')
  else {
    out(renderTerminal(runs, doc, { colour: opts.colour ?? (opts.stdout == null && wantsColor(process.stdout)) }) + '\n')
    out(`report: ${written.jsonPath} and ${written.htmlPath}\n`)
  }
  const goals = (doc.runs ?? [doc]).flatMap(d => d.goals)
  const expected = [...new Set(goals.filter(g => g.status === 'fail' && g.expected !== undefined).map(g => g.id))]
  if (expected.length > 0) log(`goals missed as this scenario expects (expectedMisses): ${expected.join(', ')}`)
  if (!doc.passed) {
    const missed = [...new Set(goals.filter(g => g.status === 'fail' && g.expected === undefined).map(g => g.id))]
    err(`sim: goals missed (${missed.join(', ')}); seed ${scenario.seed} replays this run: --scenario ${opts.scenario ?? 'steady'} --seed ${scenario.seed} --peers ${scenario.peers}\n`)
    return 1
  }
  return 0
}
