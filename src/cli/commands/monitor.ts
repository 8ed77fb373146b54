import { request } from 'node:http'
import { Option } from 'commander'
import { ApiError, CliError, connect, unreachable } from '../client.js'
import { UsageError } from '../errors.js'
import { wantsJson, withClientOptions } from '../output.js'
import type { CommonOptions } from '../output.js'
import type { NodeEvent } from '../../node/events.js'
import type { Command } from 'commander'
import type { IncomingMessage } from 'node:http'

interface MonitorOptions extends CommonOptions {
  types?: string
  level?: string
  since?: string
  recent?: boolean
}

/**
 * `fedmesh monitor`: the daemon's events as they happen (`GET /v1/events`), one line each — a
 * readable one, or with `--json` one JSON object per line — until Ctrl-C.
 */
export function registerMonitorCommand (program: Command): void {
  const cmd = withClientOptions(program.command('monitor').description('print the node\'s events as they happen (peers, mode, tasks, cache refusals) until Ctrl-C'))
  const json = cmd.options.find(o => o.long === '--json')
  if (json != null) json.description = 'print each event as one JSON object per line'
  cmd
    .option('--types <list>', 'only these event types, comma-separated; a prefix such as task:* takes a family (default: all)')
    .addOption(new Option('--level <level>', 'lowest level shown').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .option('--since <id>', 'first replay the events the daemon still remembers after this event id')
    .option('--recent', 'first replay every event the daemon still remembers (up to 500)')
    .action(async (opts: MonitorOptions) => {
      await monitor(opts)
    })
}

async function monitor (opts: MonitorOptions): Promise<void> {
  if (opts.since != null && !/^\d{1,15}$/.test(opts.since)) throw new UsageError('--since must be an event id (a non-negative integer)')
  const { url, token } = await connect(opts)
  const json = wantsJson(opts)
  const query = new URLSearchParams({ level: opts.level ?? 'info' })
  if (opts.types != null) query.set('types', opts.types)
  const since = opts.recent === true ? '0' : opts.since
  if (since != null) query.set('since', since)

  await new Promise<void>((resolve, reject) => {
    let stopped = false
    const stop = (): void => {
      stopped = true
      req.destroy()
      resolve()
    }
    const req = request(`${url}/v1/events?${query.toString()}`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        readError(res).then(reject, reject)
        return
      }
      let buffered = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        const { events, rest } = parseSse(buffered + chunk)
        buffered = rest
        for (const e of events) process.stdout.write(json ? JSON.stringify(e) + '\n' : formatEventLine(e) + '\n')
      })
      res.on('close', () => {
        if (!stopped) reject(new CliError(`the daemon at ${url} closed the event stream (stopped?)`))
      })
    })
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (stopped) return
      reject(unreachable(url, err))
    })
    req.end()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}

/** The daemon's refusal as the other commands report it (ApiError: exit codes by status). */
async function readError (res: IncomingMessage): Promise<ApiError> {
  let text = ''
  for await (const chunk of res) text += String(chunk)
  const status = res.statusCode ?? 0
  let doc: unknown = text
  try { doc = JSON.parse(text) } catch {}
  const message = (doc as { error?: string } | null)?.error ?? `HTTP ${status}`
  return new ApiError(status, message, doc)
}

/** Complete SSE events in `text` (their `data:` lines parsed as JSON), and what is left of an unfinished one. */
export function parseSse (text: string): { events: NodeEvent[], rest: string } {
  const events: NodeEvent[] = []
  const blocks = text.replace(/\r\n/g, '\n').split('\n\n')
  const rest = blocks.pop() ?? ''
  for (const block of blocks) {
    const data = block.split('\n').filter(l => l.startsWith('data:')).map(l => l.slice(5).replace(/^ /, '')).join('\n')
    if (data === '') continue
    try { events.push(JSON.parse(data) as NodeEvent) } catch {}
  }
  return { events, rest }
}

/** `12:04:05.123 info  peer:connected     peer b (12D3Ko…x7Yz1Q) connected (outbound, direct)` */
export function formatEventLine (e: NodeEvent): string {
  const time = new Date(e.time).toISOString().slice(11, 23)
  return `${time} ${e.level.padEnd(5)} ${e.type.padEnd(17)} ${e.message}`
}
