import { Command, CommanderError } from 'commander'
import { VERSION } from '../version.js'
import { CliError, EXIT, UsageError } from './errors.js'
import { registerCacheCommands } from './commands/cache.js'
import { registerCompletionCommand } from './commands/completion.js'
import { registerDaemonCommand } from './commands/daemon.js'
import { registerFederationCommands } from './commands/federation.js'
import { registerMonitorCommand } from './commands/monitor.js'
import { registerPingCommands } from './commands/ping.js'
import { registerServiceCommands } from './commands/service.js'
import { registerSimCommand } from './commands/sim.js'
import type { Simulator } from './commands/sim.js'
import { registerStatusCommands } from './commands/status.js'
import { registerServingCommands } from './commands/serving.js'
import { registerTaskCommands } from './commands/tasks.js'
import { registerVersionCommand } from './commands/version.js'

export interface MainOptions {
  /** Loads the simulation harness for `fedmesh sim` (bin/fedmesh.js passes simulations/cli.js). */
  simulator?: () => Promise<Simulator>
}

/** The whole command tree (also what `fedmesh completion` walks). */
export function buildProgram (options: MainOptions = {}): Command {
  const program = new Command('fedmesh')
    .description('peer-to-peer federation node: discovery, capacity, task routing and a replicated cache')
    .version(VERSION)
    .exitOverride()
  registerDaemonCommand(program)
  registerStatusCommands(program)
  registerTaskCommands(program)
  registerServingCommands(program)
  registerPingCommands(program)
  registerCacheCommands(program)
  registerFederationCommands(program)
  registerMonitorCommand(program)
  registerServiceCommands(program)
  registerSimCommand(program, options.simulator)
  registerVersionCommand(program)
  registerCompletionCommand(program)
  oneLineUsageErrors(program)
  return program
}

/** `fedmesh` — the daemon and the commands that inspect it (CONTRACT.md "CLI"). */
export async function main (argv: string[], options: MainOptions = {}): Promise<number> {
  const program = buildProgram(options)
  try {
    await program.parseAsync(argv)
    // A command may report failure without throwing (`run` of a task that failed exits 1).
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; every other commander error is a usage error.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE
    }
    if (err instanceof CliError) {
      process.stderr.write(`fedmesh: ${err.message}\n`)
      return err.exitCode
    }
    process.stderr.write(`fedmesh: ${(err as Error)?.message ?? String(err)}\n`)
    if (process.env.FEDMESH_DEBUG != null) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`)
    return EXIT.FAILED
  }
}

/**
 * A mistake on the command line prints one line naming the command and where its help is,
 * never the whole help; a group called without its subcommand says which ones it has.
 */
function oneLineUsageErrors (cmd: Command): void {
  const path = commandPath(cmd)
  cmd.configureOutput({
    outputError: (text, write) => { write(`${path}: ${text.replace(/^error: /, '').trimEnd()} (see: ${path} --help)\n`) }
  })
  const subcommands = cmd.commands.map(c => c.name())
  // commander shows the whole help when a group is called without a subcommand: say it in a line.
  if (cmd.parent != null && subcommands.length > 0 && !hasAction(cmd)) {
    cmd.usage('<command> [options]')
      .argument('[command...]')
      .action((given: string[]) => {
        throw new UsageError(given.length > 0
          ? `unknown command '${given[0]}' for ${path} (one of: ${subcommands.join(', ')})`
          : `missing command for ${path}: one of ${subcommands.join(', ')} (see: ${path} --help)`)
      })
  }
  for (const sub of cmd.commands) oneLineUsageErrors(sub)
}

export function commandPath (cmd: Command): string {
  const names: string[] = []
  for (let c: Command | null = cmd; c != null; c = c.parent) names.unshift(c.name())
  return names.join(' ')
}

/** commander keeps the action handler private; a group without one shows help by default. */
function hasAction (cmd: Command): boolean {
  return (cmd as unknown as { _actionHandler: unknown })._actionHandler != null
}
