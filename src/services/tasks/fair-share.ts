/**
 * Each remote submitter's share of an executor: at most `share` of its slots and of its queue
 * places (at least one of each), so one peer cannot hold every slot and queue place. The node's
 * own submissions (`local`) are not limited. Counts what each submitter holds now.
 */

export const LOCAL_ORIGIN = 'local'
/**
 * Three quarters of the slots and of the queue places per remote submitter: a burst from one
 * peer still uses most of an idle node, and a quarter stays for the owner and everyone else.
 */
export const DEFAULT_FAIR_SHARE = 0.75

interface Held { running: number, queued: number }

export class FairShare {
  private readonly held = new Map<string, Held>()

  /** `share` in (0, 1]; 1 = no limit. */
  constructor (private readonly share = DEFAULT_FAIR_SHARE) {
    if (!(share > 0 && share <= 1)) throw new RangeError('fair share must be in (0, 1]')
  }

  slotShare (concurrency: number): number {
    return Math.max(1, Math.floor(concurrency * this.share))
  }

  queueShare (queueLimit: number): number {
    return Math.max(1, Math.floor(queueLimit * this.share))
  }

  /** May `origin` take another queue place? */
  mayQueue (origin: string, queueLimit: number): boolean {
    return origin === LOCAL_ORIGIN || this.of(origin).queued < this.queueShare(queueLimit)
  }

  /** May `origin` start another task (take a slot)? */
  mayStart (origin: string, concurrency: number): boolean {
    return origin === LOCAL_ORIGIN || this.of(origin).running < this.slotShare(concurrency)
  }

  /** Slots `origin` could take now, of `free`. */
  freeFor (origin: string, free: number, concurrency: number): number {
    if (origin === LOCAL_ORIGIN) return free
    return Math.max(0, Math.min(free, this.slotShare(concurrency) - this.of(origin).running))
  }

  /** Queue places `origin` could take now, of `free`. */
  placesFor (origin: string, free: number, queueLimit: number): number {
    if (origin === LOCAL_ORIGIN) return free
    return Math.max(0, Math.min(free, this.queueShare(queueLimit) - this.of(origin).queued))
  }

  queued (origin: string): void { this.change(origin, 0, 1) }
  dequeued (origin: string): void { this.change(origin, 0, -1) }
  started (origin: string): void { this.change(origin, 1, -1) }
  finished (origin: string): void { this.change(origin, -1, 0) }

  /** Remote submitters holding anything here now. */
  origins (): string[] {
    return [...this.held.keys()]
  }

  private of (origin: string): Held {
    return this.held.get(origin) ?? { running: 0, queued: 0 }
  }

  private change (origin: string, running: number, queued: number): void {
    if (origin === LOCAL_ORIGIN) return
    const h = this.of(origin)
    const next = { running: h.running + running, queued: h.queued + queued }
    if (next.running <= 0 && next.queued <= 0) this.held.delete(origin)
    else this.held.set(origin, next)
  }
}
