import { availableParallelism } from 'node:os'
import { SECOND } from '../../util/time.js'
import { systemTimers } from '../../util/timers.js'
import { ownerBusyCores, readProcTicks } from './owner-load.js'
import { readPower } from './power.js'
import { readPresence } from './presence.js'
import type { CpuTicks, ReadCpuTicks } from './owner-load.js'
import type { PowerSignal } from './power.js'
import type { PresenceSignal } from './presence.js'
import type { HostSignals } from '../../core/host-policy.js'
import type { Clock } from '../../util/time.js'
import type { TimerHandle, Timers } from '../../util/timers.js'

export interface HostMonitorInit {
  clock: Clock
  /** Sampling runs on these. Default: the event loop's. */
  timers?: Timers
  /** Power and the owner's CPU load are read this often, ms. Default 10 s. */
  sampleIntervalMs?: number
  /** Presence (a `loginctl` call) is read this often, ms. Default 30 s. */
  presenceIntervalMs?: number
  /** Cores of this machine. Default: `os.availableParallelism()`. */
  cores?: number
  /** Sources, replaceable in tests. Defaults: /sys/class/power_supply, logind, /proc. */
  readPower?: () => Promise<PowerSignal>
  readPresence?: (now: number) => Promise<PresenceSignal>
  readTicks?: ReadCpuTicks
  /** A new sample (every interval; the policy decides whether anything changed). */
  onSample?: (signals: HostSignals) => void
}

export const DEFAULT_HOST_SAMPLE_MS = 10 * SECOND
export const DEFAULT_PRESENCE_SAMPLE_MS = 30 * SECOND

/**
 * Watches the machine fedmesh shares with its owner: on battery or AC (and the charge), whether
 * someone is using it, and how many cores the owner's own programs keep busy. Each source is
 * injectable; one that cannot be read says so (`unknown`, on AC, no load) rather than failing.
 */
export class HostMonitor {
  private readonly timers: Timers
  private readonly sampleMs: number
  private readonly presenceMs: number
  private readonly cores: number
  private timer: TimerHandle | undefined
  private running = false
  private lastTicks: CpuTicks | undefined
  private lastPresenceAt = -Infinity
  private current: HostSignals

  constructor (private readonly init: HostMonitorInit) {
    this.timers = init.timers ?? systemTimers
    this.sampleMs = init.sampleIntervalMs ?? DEFAULT_HOST_SAMPLE_MS
    this.presenceMs = init.presenceIntervalMs ?? DEFAULT_PRESENCE_SAMPLE_MS
    this.cores = init.cores ?? availableParallelism()
    this.current = { cores: this.cores, power: { onBattery: false }, presence: { state: 'unknown' } }
  }

  /** The latest sample. */
  signals (): HostSignals {
    return this.current
  }

  /** Take a first sample, then one every interval. */
  async start (): Promise<void> {
    if (this.running) return
    this.running = true
    await this.sample()
    this.schedule()
  }

  stop (): void {
    this.running = false
    this.timers.clearTimeout(this.timer)
    this.timer = undefined
  }

  /** Read every source now (presence only when its interval passed). */
  async sample (): Promise<HostSignals> {
    const now = this.init.clock.now()
    const readingPresence = now - this.lastPresenceAt >= this.presenceMs
    const [power, presence, ticks] = await Promise.all([
      (this.init.readPower ?? readPower)(),
      readingPresence ? (this.init.readPresence ?? readPresence)(now) : Promise.resolve(this.current.presence),
      (this.init.readTicks ?? readProcTicks)()
    ])
    if (readingPresence) this.lastPresenceAt = now
    const busy = ticks != null && this.lastTicks != null ? ownerBusyCores(this.lastTicks, ticks, this.cores) : this.current.ownerBusyCores
    if (ticks != null) this.lastTicks = ticks
    this.current = { cores: this.cores, power, presence, ...(busy != null ? { ownerBusyCores: Math.round(busy * 100) / 100 } : {}) }
    this.init.onSample?.(this.current)
    return this.current
  }

  private schedule (): void {
    if (!this.running) return
    this.timer = this.timers.setTimeout(() => {
      this.sample().catch(() => {}).finally(() => { this.schedule() })
    }, this.sampleMs)
    // An idle daemon must be able to exit: this timer alone keeps nothing alive.
    ;(this.timer as { unref?: () => void } | undefined)?.unref?.()
  }
}
