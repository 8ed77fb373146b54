/**
 * The event queue of the discrete-event simulator: a binary min-heap on (time, sequence), so
 * events at the same virtual millisecond run in the order they were scheduled. That tie-break
 * is what makes a run deterministic: nothing depends on object identity or wall time.
 *
 * A cancelled event leaves the heap at once (each event knows its place): most timers are
 * cleared long before they are due (a task's deadline, an attempt's patience), and left in
 * place as no-ops they made the heap several times larger and kept their closures alive for
 * the rest of a run (at 10,000 peers, hundreds of thousands of them).
 */

export interface SimEvent {
  at: number
  seq: number
  run: () => void
  /** Position in the heap; -1 once run or cancelled. */
  pos: number
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
    const e: SimEvent = { at: Math.max(at, this.now), seq: this.seq++, run, pos: -1 }
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
    const h = this.heap
    for (const e of h) if (e.at < until) e.at = until
    h.sort((a, b) => (less(a, b) ? -1 : less(b, a) ? 1 : 0))
    for (let i = 0; i < h.length; i++) h[i].pos = i
    this.now = Math.max(this.now, until)
  }

  /** The event will not run (a no-op for one that ran or was cancelled already). */
  cancel (e: SimEvent): void {
    const i = e.pos
    if (i < 0) return
    e.pos = -1
    e.run = NOOP
    const h = this.heap
    const last = h.pop() as SimEvent
    if (i < h.length) this.place(last, i)
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
    this.heap.push(e)
    this.up(e, this.heap.length - 1)
  }

  private pop (): SimEvent {
    const h = this.heap
    const top = h[0]
    top.pos = -1
    const last = h.pop() as SimEvent
    if (h.length > 0) this.down(last, 0)
    return top
  }

  /** Put `e` into the hole at `i` (left by a removal) and restore the heap order around it. */
  private place (e: SimEvent, i: number): void {
    if (i > 0 && less(e, this.heap[(i - 1) >> 1])) this.up(e, i)
    else this.down(e, i)
  }

  private up (e: SimEvent, from: number): void {
    const h = this.heap
    let i = from
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!less(e, h[p])) break
      h[i] = h[p]
      h[i].pos = i
      i = p
    }
    h[i] = e
    e.pos = i
  }

  private down (e: SimEvent, from: number): void {
    const h = this.heap
    const n = h.length
    let i = from
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const c = r < n && less(h[r], h[l]) ? r : l
      if (!less(h[c], e)) break
      h[i] = h[c]
      h[i].pos = i
      i = c
    }
    h[i] = e
    e.pos = i
  }
}

function NOOP (): void {}

function less (a: SimEvent, b: SimEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}
