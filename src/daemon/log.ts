import { writeSync } from 'node:fs'

/**
 * The daemon's operational log: one structured line per event on stderr,
 * `time level event key=value ...`, easy to grep and to parse.
 *
 * The log never takes the daemon down: a line that cannot be written (stderr on a full disk,
 * a closed pipe, /dev/full) is dropped and counted (`fedmesh_log_dropped_total`), and the next
 * line that gets through first says how many were lost.
 */
export type Level = 'info' | 'warn' | 'error'

export interface DaemonLog {
  info(event: string, fields?: Record<string, unknown>): void
  warn(event: string, fields?: Record<string, unknown>): void
  error(event: string, fields?: Record<string, unknown>): void
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
    const text = typeof v === 'string' ? v : JSON.stringify(v)
    parts.push(`${k}=${/[\s"=]/.test(text) ? JSON.stringify(text) : text}`)
  }
  return parts.join(' ') + '\n'
}

export function createDaemonLog (write: LineWriter = fdWriter(2), now: () => Date = () => new Date()): DaemonLog {
  let dropped = 0
  let unreported = 0
  const emit = (level: Level, event: string, fields?: Record<string, unknown>): void => {
    try {
      if (unreported > 0) {
        write(formatLine(now(), 'warn', 'log lines dropped', { count: unreported, total: dropped }))
        unreported = 0
      }
      write(formatLine(now(), level, event, fields))
    } catch {
      dropped++
      unreported++
    }
  }
  return {
    info: (e, f) => { emit('info', e, f) },
    warn: (e, f) => { emit('warn', e, f) },
    error: (e, f) => { emit('error', e, f) },
    get dropped () { return dropped },
    countDropped: (n = 1) => { dropped += n }
  }
}
