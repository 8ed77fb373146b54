import { createRequire } from 'node:module'
import { CliError, EXIT } from './errors.js'
import { duration } from './format.js'
import { paint } from './color.js'
import type { ApiClient } from './client.js'
import type { CancelDoc, TaskDetailDoc } from '../node/documents.js'

/**
 * While `fedmesh run` waits for its task: a progress line on stderr when it is a terminal, and
 * Ctrl-C that asks whether to cancel the task (when stdin is a terminal to answer on). Without a
 * terminal to ask, Ctrl-C leaves the task running and says how to look it up or cancel it.
 */

export interface WatchInit {
  client: ApiClient
  taskId: string
  kind: string
  stderr: NodeJS.WriteStream
  stdin: NodeJS.ReadStream
  /** Draw the progress line (stderr is a terminal). */
  progress: boolean
  /** Ctrl-C may ask (stdin is a terminal not used for the task's input). */
  interactive: boolean
  color: boolean
  /** Progress line redraws, ms. Default 100. */
  tickMs?: number
  /** The task's state is read this often, ms. Default 500. */
  pollMs?: number
}

export interface Watched<T> {
  doc: T
  /** Set when the user cancelled the task from the prompt. */
  cancelled?: CancelDoc
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']

export async function runWatched<T> (init: WatchInit, answer: (signal: AbortSignal) => Promise<T>): Promise<Watched<T>> {
  const started = Date.now()
  const abort = new AbortController()
  let state = 'submitting'
  let frame = 0
  let drawn = false
  let asking = false
  let cancelled: CancelDoc | undefined
  let cancelling: Promise<void> | undefined
  let detach: ((err: Error) => void) | undefined
  const detached = new Promise<never>((_resolve, reject) => { detach = reject })
  detached.catch(() => {})

  const clear = (): void => {
    if (drawn) init.stderr.write('\r\u001b[K')
    drawn = false
  }
  const draw = (): void => {
    if (!init.progress || asking) return
    const hint = cancelled != null ? 'cancelling' : 'Ctrl-C to cancel'
    const line = `${SPINNER[frame++ % SPINNER.length]} ${init.kind}  task ${init.taskId.slice(0, 8)}  ${state}  ${duration(Date.now() - started)}  ${paint(init.color, 'dim', `(${hint})`)}`
    init.stderr.write(`\r${line}\u001b[K`)
    drawn = true
  }
  const poll = async (): Promise<void> => {
    try {
      const t = await init.client.request<TaskDetailDoc>('GET', `/v1/tasks/${encodeURIComponent(init.taskId)}`, undefined, { signal: abort.signal })
      state = t.status === 'queued' ? 'queued: waiting for a free slot' : t.status === 'running' ? `running${t.pinnedPeer != null ? ' on the pinned peer' : ''}` : t.status
    } catch {}
  }
  const ticker = init.progress ? setInterval(draw, init.tickMs ?? 100) : undefined
  const poller = init.progress ? setInterval(() => { void poll() }, init.pollMs ?? 500) : undefined

  const leave = (): void => {
    abort.abort()
    clear()
    detach?.(new CliError(`interrupted: task ${init.taskId} goes on without this command; see: fedmesh tasks show ${init.taskId} (cancel it: fedmesh tasks cancel ${init.taskId})`, EXIT.INTERRUPTED))
  }
  const ask = (): void => {
    asking = true
    clear()
    // Loaded here, when first asked: the daemon's bundle holds this module too, and an idle daemon
    // has no use for readline (~0.5 MB resident once loaded).
    const { createInterface } = createRequire(import.meta.url)('node:readline') as typeof import('node:readline')
    const rl = createInterface({ input: init.stdin, output: init.stderr, terminal: true })
    // Ctrl-C again while asked: leave the task running and exit.
    rl.on('SIGINT', () => { rl.close(); init.stderr.write('\n'); leave() })
    rl.question(`cancel task ${init.taskId}? [y/N] `, (reply) => {
      rl.close()
      asking = false
      if (!/^y(es)?$/i.test(reply.trim())) return
      cancelling = init.client.request<CancelDoc>('POST', `/v1/tasks/${encodeURIComponent(init.taskId)}/cancel`, undefined, { signal: abort.signal }).then(doc => {
        cancelled = doc
        clear()
        init.stderr.write(`${doc.message}\n`)
      }, (err: Error) => {
        clear()
        init.stderr.write(`fedmesh: could not cancel: ${err.message}\n`)
      })
    })
  }
  const onSigint = (): void => {
    if (asking) return
    if (init.interactive) ask()
    else leave()
  }
  process.on('SIGINT', onSigint)
  try {
    const doc = await Promise.race([answer(abort.signal), detached])
    // The task's answer may overtake the cancel's: report the cancel either way.
    await cancelling
    return { doc, ...(cancelled != null ? { cancelled } : {}) }
  } finally {
    process.off('SIGINT', onSigint)
    clearInterval(ticker)
    clearInterval(poller)
    clear()
  }
}
