/**
 * Timers that can be replaced by fake or virtual time, beside `Clock`. Services that make
 * decisions in time (the dispatcher, the executor, connectivity, ad links) take one, so the same
 * code runs on the event loop in the daemon and on the simulator's event queue in model mode.
 */

/** An opaque handle for `clearTimeout`. */
export type TimerHandle = unknown

export interface Timers {
  /** Monotonic time, ms (for measuring how late something ran, not for dates). */
  now(): number
  /** Run `fn` once after `ms` (whole or fractional ms; never sooner than the next turn). */
  setTimeout(fn: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle | undefined): void
  /** A signal that aborts with a `TimeoutError` after `ms` (whole ms: fractions are rounded up). */
  timeout(ms: number): AbortSignal
}

/** The event loop's timers. */
export const systemTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => { clearTimeout(handle as NodeJS.Timeout | undefined) },
  timeout: (ms) => AbortSignal.timeout(Math.max(0, Math.ceil(ms)))
}

/** Wait `ms` on `timers`, or less when `signal` fires (no error: the caller looks at the signal). */
export async function sleepOn (timers: Timers, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return
  await new Promise<void>(resolve => {
    const done = (): void => {
      timers.clearTimeout(handle)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const handle = timers.setTimeout(done, Math.max(0, ms))
    signal?.addEventListener('abort', done, { once: true })
  })
}

/** A deadline that leaves nothing behind once cleared (see `deadlineOn`). */
export interface Deadline {
  readonly signal: AbortSignal
  /** The work is over: drop the timer and the listener on `linked`. */
  clear(): void
}

/**
 * A signal that aborts with `reason` after `ms` on `timers`, or with `linked`'s reason when
 * `linked` aborts first. Unlike `timers.timeout(ms)` joined by `AbortSignal.any`, whose timer,
 * composite and weak references live until the deadline, `clear()` drops them all at once: what
 * a per-task deadline needs on a busy node.
 */
export function deadlineOn (timers: Timers, ms: number, reason: unknown, linked?: AbortSignal): Deadline {
  const controller = new AbortController()
  const timer = timers.setTimeout(() => { controller.abort(reason) }, ms)
  const onLinked = (): void => { controller.abort(linked?.reason) }
  if (linked?.aborted === true) onLinked()
  else linked?.addEventListener('abort', onLinked, { once: true })
  return {
    signal: controller.signal,
    clear: () => {
      timers.clearTimeout(timer)
      linked?.removeEventListener('abort', onLinked)
    }
  }
}
