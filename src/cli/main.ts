import { Command, CommanderError } from 'commander'
import { VERSION } from '../version.js'
import { CliError } from './client.js'
import { registerCacheCommands } from './commands/cache.js'
import { registerDaemonCommand } from './commands/daemon.js'
import { registerFederationCommands } from './commands/federation.js'
import { registerMonitorCommand } from './commands/monitor.js'
import { registerSimCommand } from './commands/sim.js'
import type { Simulator } from './commands/sim.js'
import { registerStatusCommands } from './commands/status.js'
import { registerTaskCommands } from './commands/tasks.js'

/** `fedmesh` — the daemon and the commands that inspect it (CONTRACT.md "CLI"). */
export interface MainOptions {
  /** Loads the simulation harness for `fedmesh sim` (bin/fedmesh.js passes simulations/cli.js). */
  simulator?: () => Promise<Simulator>
}

export async function main (argv: string[], options: MainOptions = {}): Promise<number> {
  const program = new Command('fedmesh')
    .description('peer-to-peer federation node: discovery, capacity, task routing and a replicated cache')
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError()
  registerDaemonCommand(program)
  registerStatusCommands(program)
  registerTaskCommands(program)
  registerCacheCommands(program)
  registerFederationCommands(program)
  registerMonitorCommand(program)
  registerSimCommand(program, options.simulator)
  try {
    await program.parseAsync(argv)
    // A command may report failure without throwing (`run` of a task that failed exits 1).
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode
    if (err instanceof CliError) {
      process.stderr.write(`fedmesh: ${err.message}\n`)
      return err.exitCode
    }
    process.stderr.write(`fedmesh: ${(err as Error)?.message ?? String(err)}\n`)
    if (process.env.FEDMESH_DEBUG != null) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`)
    return 1
  }
}
