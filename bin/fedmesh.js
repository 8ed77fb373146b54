#!/usr/bin/env node
// The CLI entry: compiled JavaScript (npm ci builds it), so commands start fast. The simulation
// harness lives beside src (it imports src, never the other way round): it is handed in here.
import { main } from '../dist/src/cli/main.js'

process.exitCode = await main(process.argv, {
  simulator: async () => (await import('../dist/simulations/cli.js')).simulator
})
