/**
 * The event queue of the discrete-event simulator: a binary min-heap on (time, sequence), so
 * events at the same virtual millisecond run in the order they were scheduled. That tie-break
 * is what makes a run deterministic: nothing depends on object identity or wall time.
 */

export interface SimEvent {
  at: number
  seq: number
  run: () => void
}

export class EventQueue {
  private readonly heap: SimEvent[] = []
  private seq = 0
  /** Virtual time, ms: the time of the event being run. */
  now = 0
  /** Events run so far. */
  processed = 0

  get size (): number {
    return this.heap.length
  }

  /** Run `fn` at virtual time `at` (never earlier than now). The event can be cancelled. */
  at (at: number, run: () => void): SimEvent {
    const e = { at: Math.max(at, this.now), seq: this.seq++, run }
    this.push(e)
    return e
  }

  /** Run `fn` after `delayMs` of virtual time. */
  after (delayMs: number, run: () => void): SimEvent {
    return this.at(this.now + Math.max(0, delayMs), run)
  }

  /**
   * This process stalled until `until`: every event due before then runs late, at `until`, in
   * the order it would have run (for tests of code that notices its own stalls).
   */
  stall (until: number): void {
    for (const e of this.heap) if (e.at < until) e.at = until
    this.heap.sort((a, b) => (less(a, b) ? -1 : less(b, a) ? 1 : 0))
    this.now = Math.max(this.now, until)
  }

  /** The event will not run (it stays in the heap until its time, as a no-op). */
  cancel (e: SimEvent): void {
    e.run = NOOP
  }

  /** Time of the next event (Infinity when none). */
  nextAt (): number {
    return this.heap.length > 0 ? this.heap[0].at : Infinity
  }

  /** Run every event due at exactly `at` (the clock set to it), including ones they schedule for then. */
  runAt (at: number): void {
    const h = this.heap
    this.now = at
    while (h.length > 0 && h[0].at === at) {
      const e = this.pop()
      this.processed++
      e.run()
    }
  }

  /** Run events in order until the queue is empty or the next one is after `until`. */
  runUntil (until: number, stop?: () => boolean): void {
    const h = this.heap
    while (h.length > 0 && h[0].at <= until) {
      const e = this.pop()
      this.now = e.at
      this.processed++
      e.run()
      if (stop?.() === true) return
    }
    if (this.now < until && h.length === 0) this.now = until
  }

  private push (e: SimEvent): void {
    const h = this.heap
    h.push(e)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!less(e, h[p])) break
      h[i] = h[p]
      i = p
    }
    h[i] = e
  }

  private pop (): SimEvent {
    const h = this.heap
    const top = h[0]
    const last = h.pop() as SimEvent
    if (h.length > 0) {
      let i = 0
      const n = h.length
      for (;;) {
        const l = 2 * i + 1
        if (l >= n) break
        const r = l + 1
        const c = r < n && less(h[r], h[l]) ? r : l
        if (!less(h[c], last)) break
        h[i] = h[c]
        i = c
      }
      h[i] = last
    }
    return top
  }
}

function NOOP (): void {}

function less (a: SimEvent, b: SimEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}
