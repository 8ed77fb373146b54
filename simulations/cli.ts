/** What `fedmesh sim` loads (bin/fedmesh.js passes it to the CLI: src never imports simulations). */
import { SimUsageError, runSimulation } from './run-sim.js'
import { ScenarioError } from './scenario.js'
import type { Simulator } from '../src/cli/commands/sim.js'

export const simulator: Simulator = {
  runSimulation,
  usageExitCode: (err) => err instanceof SimUsageError ? err.exitCode : err instanceof ScenarioError ? 2 : undefined
}
