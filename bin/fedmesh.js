#!/usr/bin/env node
// The CLI entry: compiled JavaScript (npm ci builds it), so commands start fast.
import { main } from '../dist/src/cli/main.js'

process.exitCode = await main(process.argv)
