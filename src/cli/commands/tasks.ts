import { randomUUID } from 'node:crypto'
import { formatRoute, formatRun, formatServed, formatTaskDetail, formatTasks } from '../format.js'
import { mergedOptions, printDoc, printResult, wantsJson, withClientOptions } from '../output.js'
import { connect } from '../client.js'
import { ApiError, EXIT, UsageError, nonEmpty, notFoundAs } from '../errors.js'
import { resolvePeer } from '../peer-arg.js'
import { readTaskInput } from '../task-input.js'
import { runWatched } from '../run-watch.js'
import { wantsColor } from '../color.js'
import { NOT_SERVED_REASON } from '../../core/routing/score.js'
import { PRIORITIES, isPriority } from '../../core/priority.js'
import type { ApiClient } from '../client.js'
import type { CommonOptions } from '../output.js'
import type { CancelDoc, RouteDoc, RunDoc, ServedDoc, TaskDetailDoc, TaskDoc } from '../../node/documents.js'
import type { Command } from 'commander'

interface RunOptions extends CommonOptions {
  input?: string
  inputFile?: string
  peer?: string
  timeout?: string
  priority?: string
  progress?: boolean
}

export function registerTaskCommands (program: Command): void {
  withClientOptions(program.command('run <kind>').description('run a task on the best peer and print its result (exit 1 if it failed)'))
    .option('--input <json>', 'task input as JSON (e.g. \'{"ms": 500}\' for sleep); "-" reads raw bytes from stdin')
    .option('--input-file <file>', 'send this file\'s bytes as the input (a command kind gets them on its stdin)')
    .option('--peer <peer>', 'run it on this peer only: a name, a peer id, or a unique start or end of one')
    .option('--timeout <ms>', 'give up after this many milliseconds (default 90000)')
    .option('--priority <priority>', 'interactive, normal (default) or batch: queues take interactive first, batch last')
    .option('--no-progress', 'no progress line on stderr (there is none unless stderr is a terminal)')
    .action(async (kind: string, opts: RunOptions) => {
      nonEmpty('KIND', kind)
      if (opts.priority != null && !isPriority(opts.priority)) throw new UsageError(`--priority must be one of ${PRIORITIES.join(', ')}`)
      const timeoutMs = opts.timeout != null ? Number(opts.timeout) : undefined
      if (timeoutMs != null && (!Number.isInteger(timeoutMs) || timeoutMs <= 0)) throw new UsageError('--timeout must be a positive integer (ms)')
      const input = await readTaskInput(opts)
      const client = await connect(opts)
      const peer = opts.peer != null ? (await resolvePeer(client, opts.peer)).peerId : undefined
      // The id is chosen here, so the progress line and Ctrl-C can name the task before it ends.
      const taskId = randomUUID()
      const { doc, cancelled } = await runWatched({
        client,
        taskId,
        kind,
        stderr: process.stderr,
        stdin: process.stdin,
        progress: opts.progress !== false && process.stderr.isTTY === true,
        interactive: process.stdin.isTTY === true && opts.input !== '-',
        color: wantsColor(process.stderr)
      }, async (signal) => client.request<RunDoc>('POST', '/v1/tasks', { kind, ...input, peer, timeoutMs, taskId, priority: opts.priority }, { signal }))
      printDoc(opts, doc, formatRun)
      if (cancelled != null && doc.status !== 'ok') process.exitCode = EXIT.INTERRUPTED
      else if (doc.status === 'error') process.exitCode = EXIT.FAILED
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
  withClientOptions(tasks.command('show <id>').description('one task submitted here, by id or a unique start of one: queued, running, or its result'))
    .action(async (id: string, own: CommonOptions, cmd: Command) => {
      // `tasks` has the same options: given after `show ID` they may land on either.
      nonEmpty('ID', id)
      const opts = mergedOptions(own, cmd)
      await printResult(opts, async c => byTaskId(c, id, async taskId => c.request<TaskDetailDoc>('GET', `/v1/tasks/${encodeURIComponent(taskId)}`)), formatTaskDetail)
        .catch(notFoundAs(`not found: task ${id}`))
    })
  withClientOptions(tasks.command('cancel <id>').description('cancel a task submitted here: dropped if it has not started; says if it may still finish on a peer'))
    .action(async (id: string, own: CommonOptions, cmd: Command) => {
      nonEmpty('ID', id)
      const opts = mergedOptions(own, cmd)
      await printResult(opts, async c => byTaskId(c, id, async taskId => c.request<CancelDoc>('POST', `/v1/tasks/${encodeURIComponent(taskId)}/cancel`)), formatCancel)
        .catch(notFoundAs(`not found: task ${id}`))
    })
  withClientOptions(program.command('route <kind>').description('how a task of KIND would be routed now, and why (exit 4 when nobody serves KIND)'))
    .action(async (kind: string, opts: CommonOptions) => {
      nonEmpty('KIND', kind)
      const candidates = await printResult(opts, async c => c.request<RouteDoc[]>('GET', `/v1/route/${encodeURIComponent(kind)}`), formatRoute)
      // Nobody serves it: the table says why for each candidate; the exit code says "not found".
      if (candidates.every(c => c.reason === NOT_SERVED_REASON)) {
        if (!wantsJson(opts)) process.stderr.write(`fedmesh: no known peer serves kind ${kind}\n`)
        process.exitCode = EXIT.NOT_FOUND
      }
    })
}

function formatCancel (d: CancelDoc): string {
  return `task ${d.taskId}: ${d.message}`
}

/**
 * Call with the task id as given; when the daemon knows no such id, with the one recent task
 * (what `tasks` lists, by the first 8 characters) whose id it starts.
 */
async function byTaskId<T> (client: ApiClient, given: string, call: (taskId: string) => Promise<T>): Promise<T> {
  try {
    return await call(given)
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err
    const recent = await client.request<TaskDoc[]>('GET', '/v1/tasks')
    const matches = [...new Set(recent.filter(t => t.taskId.startsWith(given)).map(t => t.taskId))]
    if (matches.length > 1) throw new UsageError(`"${given}" starts ${matches.length} recent tasks (${matches.slice(0, 3).join(', ')}${matches.length > 3 ? ', …' : ''}); give more of the id`)
    if (matches.length === 0) throw err
    return call(matches[0])
  }
}
