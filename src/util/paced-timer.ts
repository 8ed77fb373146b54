import { systemTimers } from './timers.js'
import type { TimerHandle, Timers } from './timers.js'

/**
 * Runs `fn` again and again with a pace that may change at any time, also from inside `fn`: a
 * service ticks quickly while something is under way and slowly once settled, instead of waking
 * an idle daemon every second for nothing. (@libp2p/utils' `repeatingTask` cannot change its
 * interval from inside its task: that starts a second chain of runs.)
 */
export class PacedTimer {
  private readonly timers: Timers
  private handle: TimerHandle | undefined
  /** When the scheduled run is due, by `timers.now()` (Infinity: none). */
  private dueAt = Infinity
  private running = false

  /** `fn` runs every `paceMs` from `start()` on (see `setPace`). */
  constructor (private readonly fn: () => void, private paceMs: number, timers?: Timers) {
    this.timers = timers ?? systemTimers
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.schedule(this.paceMs)
  }

  stop (): void {
    this.running = false
    this.timers.clearTimeout(this.handle)
    this.handle = undefined
    this.dueAt = Infinity
  }

  /**
   * Run every `ms` from now on. A quicker pace brings the next run forward (to `ms` from now at
   * the latest); a slower one applies from the next run.
   */
  setPace (ms: number): void {
    this.paceMs = ms
    this.runSoon(ms)
  }

  /** Run within `ms` (default: on the next turn), then on at the pace. */
  runSoon (ms = 0): void {
    if (this.running && this.timers.now() + ms < this.dueAt) this.schedule(ms)
  }

  private schedule (ms: number): void {
    this.timers.clearTimeout(this.handle)
    this.dueAt = this.timers.now() + ms
    this.handle = this.timers.setTimeout(() => {
      this.handle = undefined
      this.dueAt = Infinity
      if (!this.running) return
      try {
        this.fn()
      } finally {
        // `fn` may have set a pace or asked for a run already.
        if (this.running && this.handle == null) this.schedule(this.paceMs)
      }
    }, ms)
  }
}
