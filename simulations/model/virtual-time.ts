/**
 * Virtual time for the real services: a clock and `Timers` on the simulator's event queue, and
 * a loop that runs the queue while letting promise continuations run in between. The dispatcher
 * and executor are async code: after the events of one virtual instant, every continuation they
 * resolved must run (and schedule its own timers) before the clock moves on. Events due at the
 * same instant run as one batch, then the microtask queue is drained, then the next instant.
 *
 * Draining: a `process.nextTick` callback queued from inside a microtask runs only once the
 * microtask queue is empty (Node runs the tick queue, then every microtask, in turn), so
 * awaiting one drains every continuation the instant resolved, however deep, without a trip
 * through the event loop (a `setImmediate` per instant, an epoll call each, was a tenth of a
 * run). Every `YIELD_EVERY` instants the loop still takes a real macrotask turn, so the process
 * stays responsive (signals, stderr) and the loop is back in microtask context for the rule above.
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

export class VirtualTime {
  readonly q = new EventQueue()
  readonly clock: Clock = { now: () => this.q.now }
  /** Timers of something that never dies. */
  readonly timers: Timers

  constructor () {
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
    const q = this.q
    let instants = 0
    await yieldToLoop()
    for (;;) {
      const at = q.nextAt()
      if (at > until) break
      q.runAt(at)
      if (++instants % YIELD_EVERY === 0) await yieldToLoop()
      else await drainMicrotasks()
      onInstant?.()
      if (stop?.() === true) return
    }
    if (q.now < until && q.size === 0) q.now = until
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

/** Instants run between two real event-loop turns. */
const YIELD_EVERY = 4096

/** Resolves after every pending promise continuation (and those they queue) has run; awaited from a microtask. */
async function drainMicrotasks (): Promise<void> {
  await new Promise<void>(resolve => { process.nextTick(resolve) })
}

/** A real macrotask turn: every continuation runs before it, whatever context awaits it. */
async function yieldToLoop (): Promise<void> {
  await new Promise<void>(resolve => { setImmediate(resolve) })
}
