/**
 * Remote submitters' share of an executor: each one, and all of them together, at most `share`
 * of its slots and of its queue places (at least one of each), so no peer — nor a crowd of
 * peers — holds every slot and queue place: the rest is the owner's. The node's own submissions
 * (`local`) are not limited. Counts what each submitter holds now.
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
  /** What all remote submitters hold together. */
  private readonly remote: Held = { running: 0, queued: 0 }

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
    const share = this.queueShare(queueLimit)
    return origin === LOCAL_ORIGIN || (this.of(origin).queued < share && this.remote.queued < share)
  }

  /** May `origin` start another task (take a slot)? */
  mayStart (origin: string, concurrency: number): boolean {
    const share = this.slotShare(concurrency)
    return origin === LOCAL_ORIGIN || (this.of(origin).running < share && this.remote.running < share)
  }

  /** Slots `origin` could take now, of `free`. */
  freeFor (origin: string, free: number, concurrency: number): number {
    if (origin === LOCAL_ORIGIN) return free
    const share = this.slotShare(concurrency)
    return Math.max(0, Math.min(free, share - this.of(origin).running, share - this.remote.running))
  }

  /** Queue places `origin` could take now, of `free`. */
  placesFor (origin: string, free: number, queueLimit: number): number {
    if (origin === LOCAL_ORIGIN) return free
    const share = this.queueShare(queueLimit)
    return Math.max(0, Math.min(free, share - this.of(origin).queued, share - this.remote.queued))
  }

  queued (origin: string): void { this.change(origin, 0, 1) }
  dequeued (origin: string): void { this.change(origin, 0, -1) }
  started (origin: string): void { this.change(origin, 1, -1) }
  finished (origin: string): void { this.change(origin, -1, 0) }

  /** Tasks `origin` runs here now (the owner: 0, it is not counted). */
  runningOf (origin: string): number {
    return this.of(origin).running
  }

  /** Tasks all remote submitters run here now (what the host policy's slot cap counts). */
  remoteRunning (): number {
    return this.remote.running
  }

  /** Remote submitters holding anything here now. */
  origins (): string[] {
    return [...this.held.keys()]
  }

  private of (origin: string): Held {
    return this.held.get(origin) ?? { running: 0, queued: 0 }
  }

  private change (origin: string, running: number, queued: number): void {
    if (origin === LOCAL_ORIGIN) return
    this.remote.running += running
    this.remote.queued += queued
    const h = this.of(origin)
    const next = { running: h.running + running, queued: h.queued + queued }
    if (next.running <= 0 && next.queued <= 0) this.held.delete(origin)
    else this.held.set(origin, next)
  }
}
