import { InvalidArgumentError } from 'commander'
import type { Command } from 'commander'

/**
 * The simulation harness as `fedmesh sim` runs it. It lives in simulations/ (which imports src,
 * never the other way round): the program's entry point passes a loader in, so other commands
 * do not pay for it at start.
 */
export interface Simulator {
  runSimulation: (opts: { scenario: string, peers?: number, seed?: number, out: string, mode: 'model' | 'real-stack' | 'both', json?: boolean }) => Promise<number>
  /** The run could not happen for a reason the message says in full (bad scenario, mode missing): its exit code. */
  usageExitCode: (err: unknown) => number | undefined
}

/**
 * `fedmesh sim`: run a simulation scenario and write report.json and report.html (CONTRACT.md
 * "Simulation report").
 */
export function registerSimCommand (program: Command, load?: () => Promise<Simulator>): void {
  program
    .command('sim')
    .description('simulate a federation (hundreds to thousands of virtual peers) and report routing, cache, reputation and partition figures')
    .option('--scenario <file>', 'scenario file, or a bundled scenario name (steady, load-90, flash-crowd, churn, partition-heal, sybil-forger, peers-1000, model-10000, routing-variants, real-stack-steady, real-stack-300, real-stack-1000)', 'steady')
    .option('--peers <n>', 'number of peers (overrides the scenario)', positiveInt)
    .option('--seed <s>', 'seed of every random choice (overrides the scenario); a seed replays a run', seedInt)
    .option('--out <dir>', 'folder for report.json and report.html', './sim-out')
    .option('--mode <mode>', 'model (discrete-event, virtual time), real-stack (real nodes on @libp2p/memory) or both', modeChoice, 'model')
    .option('--json', 'print report.json on stdout instead of tables')
    .action(async (opts: { scenario: string, peers?: number, seed?: number, out: string, mode: 'model' | 'real-stack' | 'both', json?: boolean }) => {
      if (load == null) {
        process.stderr.write('fedmesh sim: the simulation harness is not part of this build\n')
        process.exitCode = 2
        return
      }
      const simulator = await load()
      try {
        process.exitCode = await simulator.runSimulation({ scenario: opts.scenario, peers: opts.peers, seed: opts.seed, out: opts.out, mode: opts.mode, json: opts.json })
      } catch (err) {
        const code = simulator.usageExitCode(err)
        if (code == null) throw err
        process.stderr.write(`fedmesh sim: ${(err as Error).message}\n`)
        process.exitCode = code
      }
    })
}

function positiveInt (v: string): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 2) throw new InvalidArgumentError('must be an integer of at least 2')
  return n
}

function seedInt (v: string): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) throw new InvalidArgumentError('must be an integer in [0, 2^32)')
  return n
}

function modeChoice (v: string): 'model' | 'real-stack' | 'both' {
  if (v === 'model' || v === 'real-stack' || v === 'both') return v
  throw new InvalidArgumentError('must be model, real-stack or both')
}
