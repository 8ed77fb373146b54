import type { Daemon } from './daemon.js'

/** The value of a Prometheus series on a daemon's /metrics (the first line of that name, labels or not). */
export async function metricValue (d: Daemon, name: string): Promise<number> {
  const text = (await d.api('GET', '/metrics')).body as string
  const line = text.split('\n').find(l => l.startsWith(name + ' ') || l.startsWith(name + '{'))
  return line == null ? Number.NaN : Number(line.split(' ').at(-1))
}
