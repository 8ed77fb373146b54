import { errorMessage } from '../util/errors.js'
import { MINUTE } from '../util/time.js'
import type { DaemonLog } from './log.js'

/** Error codes of an output that cannot take more bytes: the line is lost, nothing else is. */
const OUTPUT_ERROR_CODES = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EPIPE', 'EAGAIN', 'ECONNRESET', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END'])
const STORAGE_ERROR_NAMES = /\b(StorageFullError|StorageFaultError)\b/

/** The same message is logged at most once per this window. */
const REPEAT_WINDOW_MS = 1 * MINUTE

export interface ProcessGuards {
  /** Faults kept running through, by kind. */
  readonly survived: { rejection: number, exception: number }
  uninstall(): void
}

export interface ProcessGuardsInit {
  log: DaemonLog
  /** Where the handlers go. Default `process`. */
  target?: NodeJS.EventEmitter & { stdout?: NodeJS.EventEmitter, stderr?: NodeJS.EventEmitter }
  /** Default `process.exit`. */
  exit?: (code: number) => void
  now?: () => number
}

/**
 * Whether the daemon can keep running through an error nobody handled. Only for failures whose
 * effect is known and contained:
 * - the store's typed disk errors (also wrapped, as libp2p's datastore does): the store has
 *   already refused the write and fenced further ones until it recovers, so no state is torn;
 * - a write to an output that is full or gone (stdout/stderr on /dev/full, a closed pipe): only
 *   that output is lost.
 * Anything else is a bug whose effect on memory we cannot know: log it and exit 1, as Node would.
 * The task journal makes a restart lose nothing that was acknowledged.
 */
export function isContainedFault (err: unknown): boolean {
  for (let e = err, depth = 0; e != null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { name, code, message } = e as { name?: unknown, code?: unknown, message?: unknown }
    if (typeof name === 'string' && STORAGE_ERROR_NAMES.test(name)) return true
    if (typeof message === 'string' && STORAGE_ERROR_NAMES.test(message)) return true
    if (code === 'LEVEL_IO_ERROR') return true
    if (typeof code === 'string' && OUTPUT_ERROR_CODES.has(code) && (e as { syscall?: unknown }).syscall === 'write') return true
    if (code === 'ERR_STREAM_DESTROYED' || code === 'ERR_STREAM_WRITE_AFTER_END') return true
  }
  return false
}

/**
 * Process-level handling for the daemon: stdout/stderr errors are counted as dropped output
 * (without a listener, an 'error' event on them kills the process), and unhandled rejections
 * and uncaught exceptions are kept running through when `isContainedFault`, else logged and
 * fatal.
 */
export function installProcessGuards (init: ProcessGuardsInit): ProcessGuards {
  const target = init.target ?? process
  const exit = init.exit ?? ((code: number) => process.exit(code))
  const now = init.now ?? Date.now
  const { log } = init
  const survived = { rejection: 0, exception: 0 }
  const lastLogged = new Map<string, number>()

  const onOutputError = (): void => { log.countDropped() }
  const survive = (kind: 'rejection' | 'exception', err: unknown): void => {
    survived[kind]++
    const message = errorMessage(err)
    const last = lastLogged.get(message)
    if (last != null && now() - last < REPEAT_WINDOW_MS) return
    if (lastLogged.size > 100) lastLogged.clear()
    lastLogged.set(message, now())
    log.warn(kind === 'rejection' ? 'unhandled rejection, kept running' : 'uncaught exception, kept running', { error: message })
  }
  const fatal = (kind: string, err: unknown): void => {
    log.error(`${kind}, exiting`, { error: errorMessage(err), stack: (err as Error)?.stack })
    exit(1)
  }
  const onRejection = (reason: unknown): void => {
    if (isContainedFault(reason)) survive('rejection', reason)
    else fatal('unhandled rejection', reason)
  }
  const onException = (err: unknown): void => {
    if (isContainedFault(err)) survive('exception', err)
    else fatal('uncaught exception', err)
  }

  target.stdout?.on('error', onOutputError)
  target.stderr?.on('error', onOutputError)
  target.on('unhandledRejection', onRejection)
  target.on('uncaughtException', onException)
  return {
    survived,
    uninstall () {
      target.stdout?.off('error', onOutputError)
      target.stderr?.off('error', onOutputError)
      target.off('unhandledRejection', onRejection)
      target.off('uncaughtException', onException)
    }
  }
}
