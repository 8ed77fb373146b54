import { writeSync } from 'node:fs'
import { hostname } from 'node:os'
import type { NodeEvent } from '../node/events.js'

/**
 * The daemon's operational log: one line per event on stderr. Readable by default,
 * `time level message key=value ...`, easy to grep; with `--log-format json` one JSON object per
 * line in pino's shape (`level` 20/30/40/50, `time` epoch ms, `pid`, `hostname`, `msg`, then
 * the fields), which log shippers parse as is. Lines below `--log-level` are not written.
 *
 * The log never takes the daemon down: a line that cannot be written (stderr on a full disk,
 * a closed pipe, /dev/full) is dropped and counted (`fedmesh_log_dropped_total`), and the next
 * line that gets through first says how many were lost.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error'
export type LogFormat = 'text' | 'json'

export const LOG_LEVELS: readonly Level[] = ['debug', 'info', 'warn', 'error']
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json']

/** pino's numbers for the levels. */
const PINO_LEVEL: Record<Level, number> = { debug: 20, info: 30, warn: 40, error: 50 }

export interface LogOptions {
  /** Default `text`. */
  format?: LogFormat
  /** Lines below this level are not written. Default `info`. */
  level?: Level
}

export interface DaemonLog {
  debug(event: string, fields?: Record<string, unknown>): void
  info(event: string, fields?: Record<string, unknown>): void
  warn(event: string, fields?: Record<string, unknown>): void
  error(event: string, fields?: Record<string, unknown>): void
  /** One line for a node event, at the event's level. */
  event(e: NodeEvent): void
  /** Change the format or level (the daemon reads them from its config after the log exists). */
  configure(options: LogOptions): void
  /** Lines and other output that could not be written, since start. */
  readonly dropped: number
  /** Count output lost elsewhere (the banner, an 'error' event on stdout or stderr). */
  countDropped(n?: number): void
}

/** Writes the whole text or throws (ENOSPC, EPIPE, EIO, EAGAIN...). */
export type LineWriter = (text: string) => void

/**
 * Synchronous writes to a file descriptor, as Node writes stdio to files and pipes on Linux: the
 * line is out (or known lost) when this returns, so nothing queues up in memory behind a stuck
 * output, and a failure is an exception here rather than an 'error' event nobody listens to.
 */
export function fdWriter (fd: number): LineWriter {
  return (text) => {
    const bytes = Buffer.from(text)
    for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off)
  }
}

export function formatLine (time: Date, level: Level, event: string, fields: Record<string, unknown> = {}): string {
  const parts = [time.toISOString(), level, event]
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue
    const text = typeof v === 'string' ? v : Array.isArray(v) && v.every(x => typeof x === 'string') ? v.join(',') : JSON.stringify(v)
    parts.push(`${k}=${/[\s"=]/.test(text) ? JSON.stringify(text) : text}`)
  }
  return parts.join(' ') + '\n'
}

/** One pino-style JSON line: pino's keys first, then the fields (which never replace them). */
export function formatJsonLine (time: Date, level: Level, message: string, fields: Record<string, unknown> = {}): string {
  const line: Record<string, unknown> = { level: PINO_LEVEL[level], time: time.getTime(), pid: process.pid, hostname: HOST, msg: message }
  for (const [k, v] of Object.entries(fields)) if (!(k in line)) line[k] = v
  return JSON.stringify(line) + '\n'
}

const HOST = hostname()

/** An event's own fields (what the common ones do not already say). */
function eventFields (e: NodeEvent): Record<string, unknown> {
  const { id, type, time: _time, level: _level, message: _message, ...fields } = e as NodeEvent & Record<string, unknown>
  return { event: type, eventId: id, ...fields }
}

export function createDaemonLog (write: LineWriter = fdWriter(2), now: () => Date = () => new Date(), options: LogOptions = {}): DaemonLog {
  let dropped = 0
  let unreported = 0
  let format: LogFormat = options.format ?? 'text'
  let threshold = LOG_LEVELS.indexOf(options.level ?? 'info')
  const line = (time: Date, level: Level, message: string, fields?: Record<string, unknown>): string =>
    format === 'json' ? formatJsonLine(time, level, message, fields) : formatLine(time, level, message, fields)
  const emit = (level: Level, event: string, fields?: Record<string, unknown>, at?: Date): void => {
    if (LOG_LEVELS.indexOf(level) < threshold) return
    try {
      if (unreported > 0) {
        write(line(now(), 'warn', 'log lines dropped', { count: unreported, total: dropped }))
        unreported = 0
      }
      write(line(at ?? now(), level, event, fields))
    } catch {
      dropped++
      unreported++
    }
  }
  return {
    debug: (e, f) => { emit('debug', e, f) },
    info: (e, f) => { emit('info', e, f) },
    warn: (e, f) => { emit('warn', e, f) },
    error: (e, f) => { emit('error', e, f) },
    event: (e) => {
      if (LOG_LEVELS.indexOf(e.level) < threshold) return
      emit(e.level, e.message, eventFields(e), new Date(e.time))
    },
    configure: (o) => {
      if (o.format != null) format = o.format
      if (o.level != null) threshold = LOG_LEVELS.indexOf(o.level)
    },
    get dropped () { return dropped },
    countDropped: (n = 1) => { dropped += n }
  }
}
