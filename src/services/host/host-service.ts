import { DEFAULT_HOST_POLICY, decideServing, sameServing } from '../../core/host-policy.js'
import { HOUR } from '../../util/time.js'
import { systemTimers } from '../../util/timers.js'
import { HostMonitor } from './host-monitor.js'
import type { HostMonitorInit } from './host-monitor.js'
import type { HostPolicy, HostSignals, ManualPause, Serving } from '../../core/host-policy.js'
import type { Executor, OnPause } from '../tasks/executor.js'
import type { Clock } from '../../util/time.js'
import type { TimerHandle, Timers } from '../../util/timers.js'
import type { Startable } from '@libp2p/interface'

/** Where the owner's pause is kept (survives a restart until it expires). */
const PAUSE_KEY = 'host-pause'

/** The bit of a store sublevel this service uses. */
export interface PauseStore {
  get(key: string): Promise<Uint8Array | undefined>
  put(key: string, value: Uint8Array): Promise<void>
  del(key: string): Promise<void>
}

export interface HostServiceInit {
  executor: Executor
  /** Keeps the owner's pause across restarts; none = in memory. */
  store?: PauseStore
  clock: Clock
  timers?: Timers
  /** The owner's policy; each field defaults to DEFAULT_HOST_POLICY's. */
  policy?: Partial<HostPolicy>
  /** Remote tasks running when serving pauses: finish them (default) or stop and hand them back. */
  onPause?: OnPause
  /**
   * Read the host's signals (power, presence, the owner's load). Default true; false: only the
   * manual pause and quiet hours apply (simulations, tests with injected signals).
   */
  watch?: boolean
  /** The host monitor's sources and intervals (tests inject fakes). */
  monitor?: Omit<HostMonitorInit, 'clock' | 'timers' | 'onSample'>
  /** Minutes since local midnight at `now`. Default: the process's time zone. */
  minuteOfDay?: (now: number) => number
  /** Quiet hours and an expiring pause are checked at least this often, ms, when the monitor does not run. Default 30 s. */
  recheckMs?: number
  /** The decision changed (publish an ad at once; events). */
  onChange?: (next: Serving, previous: Serving) => void
}

const DEFAULT_RECHECK_MS = 30_000

export function localMinuteOfDay (now: number): number {
  const d = new Date(now)
  return d.getHours() * 60 + d.getMinutes()
}

/**
 * A good citizen on its owner's machine: turns the host's signals, the owner's policy and a
 * manual pause into how many slots peers' tasks may use here (core/host-policy.ts), applies it
 * to the executor and says when it changes, so the capacity ad carries it at once.
 */
export class HostService implements Startable {
  readonly policy: HostPolicy
  readonly onPause: OnPause
  private readonly timers: Timers
  private readonly monitor: HostMonitor | undefined
  private pauseState: ManualPause | undefined
  private current: Serving = { slots: Infinity, paused: false }
  private timer: TimerHandle | undefined
  private running = false

  constructor (private readonly init: HostServiceInit) {
    this.policy = { ...DEFAULT_HOST_POLICY, ...init.policy }
    this.onPause = init.onPause ?? 'finish'
    this.timers = init.timers ?? systemTimers
    this.monitor = init.watch === false
      ? undefined
      : new HostMonitor({ ...init.monitor, clock: init.clock, timers: this.timers, onSample: () => { this.apply() } })
  }

  readonly [Symbol.toStringTag] = 'fedmesh:host'

  async start (): Promise<void> {
    if (this.running) return
    this.running = true
    this.pauseState = await this.loadPause()
    this.apply()
    await this.monitor?.start()
    this.schedule()
  }

  stop (): void {
    this.running = false
    this.monitor?.stop()
    this.timers.clearTimeout(this.timer)
    this.timer = undefined
  }

  /** The current decision. */
  serving (): Serving {
    return this.current
  }

  /** The latest host signals (defaults before the first sample, or when not watching). */
  signals (): HostSignals {
    return this.monitor?.signals() ?? { cores: this.init.executor.concurrency, power: { onBattery: false }, presence: { state: 'unknown' } }
  }

  /** The owner's pause, if one holds now. */
  pause (): ManualPause | undefined {
    const p = this.pauseState
    return p != null && (p.until == null || p.until > this.init.clock.now()) ? p : undefined
  }

  /** Serve nothing to peers, for `forMs` (until `resume` when undefined); kept across restarts. */
  async pauseFor (forMs?: number): Promise<Serving> {
    const now = this.init.clock.now()
    const pause: ManualPause = { since: now, ...(forMs != null ? { until: now + forMs } : {}) }
    await this.init.store?.put(PAUSE_KEY, new TextEncoder().encode(JSON.stringify(pause)))
    this.pauseState = pause
    this.apply()
    this.schedule()
    return this.current
  }

  /** End the owner's pause (the policy's own rules still apply). */
  async resume (): Promise<Serving> {
    await this.init.store?.del(PAUSE_KEY)
    this.pauseState = undefined
    this.apply()
    return this.current
  }

  /** Decide again now (a new sample, a pause, its expiry, the clock passing quiet hours). */
  apply (): void {
    const now = this.init.clock.now()
    if (this.pauseState?.until != null && this.pauseState.until <= now) {
      this.pauseState = undefined
      this.init.store?.del(PAUSE_KEY).catch(() => {})
    }
    const next = decideServing({
      signals: this.signals(),
      policy: this.policy,
      slots: this.init.executor.concurrency,
      now,
      minuteOfDay: (this.init.minuteOfDay ?? localMinuteOfDay)(now),
      pause: this.pauseState
    })
    const previous = this.current
    this.current = next
    if (sameServing(previous, next)) return
    this.init.executor.setServing(next, this.onPause)
    this.init.onChange?.(next, previous)
  }

  /** Re-decide when a pause expires, and every recheck interval while nobody samples. */
  private schedule (): void {
    this.timers.clearTimeout(this.timer)
    this.timer = undefined
    if (!this.running) return
    const until = this.pauseState?.until
    const recheck = this.monitor == null && this.policy.quietHours != null ? this.init.recheckMs ?? DEFAULT_RECHECK_MS : Infinity
    // At most an hour at a time: a longer setTimeout overflows (Node fires it at once).
    const wait = Math.min(until != null ? Math.max(0, until - this.init.clock.now()) : Infinity, recheck, HOUR)
    if (until == null && !Number.isFinite(recheck)) return
    this.timer = this.timers.setTimeout(() => {
      this.apply()
      this.schedule()
    }, wait)
    ;(this.timer as { unref?: () => void } | undefined)?.unref?.()
  }

  private async loadPause (): Promise<ManualPause | undefined> {
    const bytes = await this.init.store?.get(PAUSE_KEY).catch(() => undefined)
    if (bytes == null) return undefined
    try {
      const p = JSON.parse(new TextDecoder().decode(bytes)) as ManualPause
      if (typeof p.since !== 'number' || (p.until != null && typeof p.until !== 'number')) return undefined
      return p
    } catch {
      return undefined
    }
  }
}

export function host (init: HostServiceInit): () => HostService {
  return () => new HostService(init)
}
