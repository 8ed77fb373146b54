import { formatRoute, formatRun, formatServed, formatTaskDetail, formatTasks } from '../format.js'
import { printResult, withClientOptions } from '../output.js'
import { ApiError, CliError } from '../client.js'
import type { CommonOptions } from '../output.js'
import type { RouteDoc, RunDoc, ServedDoc, TaskDetailDoc, TaskDoc } from '../../node/documents.js'
import type { Command } from 'commander'

interface RunOptions extends CommonOptions {
  input?: string
  peer?: string
  timeout?: string
}

export function registerTaskCommands (program: Command): void {
  withClientOptions(program.command('run <kind>').description('run a task on the best peer and print its result'))
    .option('--input <json>', 'task input as JSON (e.g. \'{"ms": 500}\' for sleep)')
    .option('--peer <id>', 'run it on this peer only')
    .option('--timeout <ms>', 'give up after this many milliseconds (default 90000)')
    .action(async (kind: string, opts: RunOptions) => {
      let input: unknown = null
      if (opts.input != null) {
        try { input = JSON.parse(opts.input) } catch { throw new CliError(`--input is not valid JSON: ${opts.input}`) }
      }
      const timeoutMs = opts.timeout != null ? Number(opts.timeout) : undefined
      if (timeoutMs != null && (!Number.isInteger(timeoutMs) || timeoutMs <= 0)) throw new CliError('--timeout must be a positive integer (ms)')
      const doc = await printResult(opts, async c => c.request<RunDoc>('POST', '/v1/tasks', { kind, input, peer: opts.peer, timeoutMs }), formatRun)
      if (doc.status === 'error') process.exitCode = 1
    })
  const tasks = withClientOptions(program.command('tasks').description('recent tasks submitted here, newest first'))
    .option('--served', 'list the tasks this node ran (for itself or for peers) instead')
    .action(async (opts: CommonOptions & { served?: boolean }) => {
      if (opts.served === true) {
        await printResult(opts, async c => c.request<ServedDoc[]>('GET', '/v1/tasks/served'), formatServed)
        return
      }
      await printResult(opts, async c => c.request<TaskDoc[]>('GET', '/v1/tasks'), formatTasks)
    })
  withClientOptions(tasks.command('show <id>').description('one task submitted here, by id: queued, running, or its result (while the journal keeps it)'))
    .action(async (id: string, own: CommonOptions, cmd: Command) => {
      // `tasks` has the same options: given after `show ID` they may land on either.
      const opts = { ...cmd.optsWithGlobals<CommonOptions>(), ...own }
      try {
        await printResult(opts, async c => c.request<TaskDetailDoc>('GET', `/v1/tasks/${encodeURIComponent(id)}`), formatTaskDetail)
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) throw new CliError(`not found: task ${id}`)
        throw err
      }
    })
  withClientOptions(program.command('route <kind>').description('how a task of KIND would be routed now, and why'))
    .action(async (kind: string, opts: CommonOptions) => {
      await printResult(opts, async c => c.request<RouteDoc[]>('GET', `/v1/route/${encodeURIComponent(kind)}`), formatRoute)
    })
}
