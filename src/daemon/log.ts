/**
 * The daemon's operational log: one structured line per event on stderr,
 * `time level event key=value ...`, easy to grep and to parse.
 */
export type Level = 'info' | 'warn' | 'error'

export interface DaemonLog {
  info(event: string, fields?: Record<string, unknown>): void
  warn(event: string, fields?: Record<string, unknown>): void
  error(event: string, fields?: Record<string, unknown>): void
}

export function createDaemonLog (write: (line: string) => void = (l) => process.stderr.write(l)): DaemonLog {
  const emit = (level: Level, event: string, fields: Record<string, unknown> = {}): void => {
    const parts = [new Date().toISOString(), level, event]
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) continue
      const text = typeof v === 'string' ? v : JSON.stringify(v)
      parts.push(`${k}=${/[\s"=]/.test(text) ? JSON.stringify(text) : text}`)
    }
    write(parts.join(' ') + '\n')
  }
  return {
    info: (e, f) => { emit('info', e, f) },
    warn: (e, f) => { emit('warn', e, f) },
    error: (e, f) => { emit('error', e, f) }
  }
}
