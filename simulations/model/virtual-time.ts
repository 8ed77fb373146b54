/**
 * Virtual time for the real services: a clock and `Timers` on the simulator's event queue, and
 * a loop that runs the queue while letting promise continuations run in between. The dispatcher
 * and executor are async code: after the events of one virtual instant, every continuation they
 * resolved must run (and schedule its own timers) before the clock moves on. Events due at the
 * same instant run as one batch, then the microtask queue is drained, then the next instant.
 *
 * Draining: a `process.nextTick` callback queued from inside a microtask runs only once the
 * microtask queue is empty (Node runs the tick queue, then every microtask, in turn), so each
 * instant runs as a microtask and queues a tick that queues the next instant as a microtask:
 * every continuation the instant resolved, however deep, runs in between, without a trip
 * through the event loop (a `setImmediate` per instant, an epoll call each, cost a tenth of a
 * run, and under load each gave the CPU away) and without a promise per instant. Every
 * `yieldEvery` instants (default every one; the model: `FAST_YIELD_EVERY`) the loop takes a
 * real macrotask turn instead.
 */
import { EventQueue } from './heap.js'
import type { SimEvent } from './heap.js'
import type { Clock } from '../../src/util/time.js'
import type { Timers } from '../../src/util/timers.js'

/** Something whose timers die with it (a simulated process: a crash voids its pending timers). */
export interface Life {
  /** Bumped when the process dies. */
  readonly incarnation: number
}

export interface VirtualTimeOptions {
  /**
   * Instants run between two real event-loop turns. Default 1: a turn after every instant, so
   * code under test that waits for the loop itself (a real `setImmediate`, as the connectivity
   * service does before judging) runs between instants. The model, which drives no such code,
   * uses `FAST_YIELD_EVERY`.
   */
  yieldEvery?: number
}

/** The model's `yieldEvery`: a real turn every 4,096 instants (responsive, signals, stderr). */
export const FAST_YIELD_EVERY = 4096

export class VirtualTime {
  readonly q = new EventQueue()
  private readonly yieldEvery: number
  readonly clock: Clock = { now: () => this.q.now }
  /** Timers of something that never dies. */
  readonly timers: Timers

  constructor (options: VirtualTimeOptions = {}) {
    this.yieldEvery = Math.max(1, options.yieldEvery ?? 1)
    this.timers = this.timersOf({ incarnation: 0 })
  }

  /** Timers whose callbacks (and timeout signals) never fire once `life` moved to another incarnation. */
  timersOf (life: Life): Timers {
    const q = this.q
    const setTimeout = (fn: () => void, ms: number): SimEvent => {
      const inc = life.incarnation
      return q.after(ms, () => { if (life.incarnation === inc) fn() })
    }
    return {
      now: () => q.now,
      setTimeout,
      clearTimeout: (handle) => { if (handle != null) q.cancel(handle as SimEvent) },
      timeout: (ms) => {
        // Held by the timer until it fires (as AbortSignal.timeout is while it has listeners):
        // garbage collection must never decide whether an abort happens.
        const controller = new AbortController()
        setTimeout(() => { controller.abort(TIMEOUT) }, Math.max(0, Math.ceil(ms)))
        return controller.signal
      }
    }
  }

  /**
   * Run until the queue is empty, the next event is after `until`, or `stop()` says so (asked
   * after each instant). `onInstant` is called after each instant too (progress, sampling).
   */
  async run (until: number, stop?: () => boolean, onInstant?: () => void): Promise<void> {
    await yieldToLoop()
    const q = this.q
    await new Promise<void>((resolve, reject) => {
      let instants = 0
      // Runs as a microtask, so the tick it queues runs once every continuation has.
      const step = (): void => {
        try {
          const at = q.nextAt()
          if (at > until) {
            if (q.now < until && q.size === 0) q.now = until
            resolve()
            return
          }
          q.runAt(at)
          if (++instants % this.yieldEvery === 0) setImmediate(hop)
          else process.nextTick(hop)
        } catch (err) {
          reject(err)
        }
      }
      // Every continuation of the instant has run: report it, then the next one (as a microtask).
      const drained = (): void => {
        try {
          onInstant?.()
          if (stop?.() === true) resolve()
          else step()
        } catch (err) {
          reject(err)
        }
      }
      // From a tick or an immediate (everything drained), back into a microtask.
      const hop = (): void => { queueMicrotask(drained) }
      queueMicrotask(step)
    })
  }

  /**
   * Run timers until `p` settles (tests: drive code under test in virtual time). Throws when
   * nothing is left to run and `p` is still pending (it would hang), or after `limitMs`.
   */
  async settle<T> (p: Promise<T>, limitMs = Infinity): Promise<T> {
    let done = false
    p.then(() => { done = true }, () => { done = true })
    await yieldToLoop()
    if (!done) await this.run(this.q.now + limitMs, () => done)
    if (!done) throw new Error(`still pending at virtual ${this.q.now} ms with no timer left to run`)
    return await p
  }

  /** Let virtual time pass (running every timer due), as a test step. */
  async advance (ms: number): Promise<void> {
    const until = this.q.now + ms
    await yieldToLoop()
    await this.run(until)
    if (this.q.now < until) this.q.now = until
  }

  /** A promise that resolves after `ms` of virtual time. */
  async sleep (ms: number): Promise<void> {
    await new Promise<void>(resolve => { this.timers.setTimeout(resolve, ms) })
  }
}

/** One reason for every virtual timeout (what AbortSignal.timeout aborts with; made once, it costs). */
const TIMEOUT = new DOMException('The operation was aborted due to timeout', 'TimeoutError')

/** A real macrotask turn: every continuation runs before it, whatever context awaits it. */
async function yieldToLoop (): Promise<void> {
  await new Promise<void>(resolve => { setImmediate(resolve) })
}
