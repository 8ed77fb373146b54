import { printResult, withClientOptions } from '../output.js'
import { formatServing } from '../format-serving.js'
import { parseDuration } from './federation.js'
import type { CommonOptions } from '../output.js'
import type { ServingDoc } from '../../node/documents.js'
import type { Command } from 'commander'

/** `fedmesh pause [--for D]` / `fedmesh resume`: do not disturb (README "On a laptop"). */
export function registerServingCommands (program: Command): void {
  withClientOptions(program.command('pause').description('take no work from peers (do not disturb) until resumed, or for a while; running tasks finish'))
    .option('--for <duration>', 'resume by itself after this long (e.g. 90s, 30m, 1h, 2d); kept across restarts')
    .action(async (opts: CommonOptions & { for?: string }) => {
      const body = opts.for != null ? { forMs: parseDuration(opts.for, '--for') * 1000 } : {}
      await printResult(opts, async c => c.request<ServingDoc>('POST', '/v1/pause', body), formatServing)
    })
  withClientOptions(program.command('resume').description('take work from peers again (the laptop policy still applies: battery, presence, quiet hours)'))
    .action(async (opts: CommonOptions) => {
      await printResult(opts, async c => c.request<ServingDoc>('POST', '/v1/resume', {}), formatServing)
    })
}
