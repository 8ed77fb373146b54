import { readFile } from 'node:fs/promises'

/** CPU time counters, in clock ticks (USER_HZ), as /proc reports them. */
export interface CpuTicks {
  /** Busy ticks of the whole machine (all cores): user, nice, system, irq, softirq, steal. */
  busy: number
  /** Busy plus idle and iowait. */
  total: number
  /** This process's own ticks, its finished children included (command kinds run as children). */
  self: number
}

/** Reads the counters; tests inject a fake. */
export type ReadCpuTicks = () => Promise<CpuTicks | undefined>

/** `/proc/stat`'s `cpu` line and `/proc/self/stat`'s utime, stime, cutime, cstime. */
export const readProcTicks: ReadCpuTicks = async () => {
  try {
    const [stat, self] = await Promise.all([readFile('/proc/stat', 'utf8'), readFile('/proc/self/stat', 'utf8')])
    return parseTicks(stat, self)
  } catch {
    return undefined
  }
}

export function parseTicks (stat: string, selfStat: string): CpuTicks | undefined {
  const line = stat.split('\n').find(l => l.startsWith('cpu '))
  if (line == null) return undefined
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number)
  const busy = user + nice + system + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  const rest = selfStat.slice(selfStat.lastIndexOf(')') + 2).split(' ').map(Number)
  // Fields 14-17 (utime, stime, cutime, cstime) are rest[11..14].
  const self = rest[11] + rest[12] + rest[13] + rest[14]
  if (![busy, idle, self].every(Number.isFinite)) return undefined
  return { busy, total: busy + idle + (iowait ?? 0), self }
}

/**
 * Cores the owner's own work keeps busy between two readings: the machine's busy time minus
 * this process's (fedmesh's tasks are not the owner's load), as a share of `cores`.
 */
export function ownerBusyCores (before: CpuTicks, after: CpuTicks, cores: number): number | undefined {
  const total = after.total - before.total
  if (total <= 0) return undefined
  const others = Math.max(0, (after.busy - before.busy) - (after.self - before.self))
  return Math.min(cores, (others / total) * cores)
}
