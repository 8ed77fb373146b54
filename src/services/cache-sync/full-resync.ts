/**
 * The bound that keeps deletes deleted across long absences. Peers collect a tombstone once it
 * is older than the grace period (7 days by default). A node that has not completed a sync for
 * longer than that may still hold an entry whose key was deleted elsewhere, and whose tombstone
 * every peer has since forgotten: merged as it is, it would come back to life everywhere. So,
 * before its next session, such a node drops its own entries older than its horizon (now minus
 * the grace period) — they are exactly the ones that may have been deleted meanwhile — and lets
 * the session bring back everything newer. Entries older than the horizon are not accepted from
 * peers for keys not held, so what was dropped stays dropped (see protocols/cache-sync.md).
 */
import type { Sublevel } from '../../store/store.js'
import type { Clock } from '../../util/time.js'
import type { Logger } from '@libp2p/interface'

/** Key in the `meta` sublevel: ms since the epoch when this node last completed a sync session. */
export const LAST_SYNC_KEY = 'cache-sync-last-at'

export interface FullResyncInit {
  meta: Sublevel
  clock: Clock
  /** The cache's tombstone grace period, ms. */
  graceMs: () => number
  /** The cache's horizon now (ms since the epoch). */
  horizonMs: () => number
  /** Remove every stored entry older than the horizon; resolves to how many went. */
  dropOlderThan: (horizonMs: number) => Promise<number>
  log: Logger
}

export class FullResync {
  private lastSyncAtMs = 0
  /** Entries older than the horizon were dropped since the last completed sync. */
  private dropped = false
  private pending: Promise<void> | undefined

  constructor (private readonly init: FullResyncInit) {}

  /** When this node last completed a sync, ms since the epoch. */
  get lastSyncAt (): number {
    return this.lastSyncAtMs
  }

  /**
   * Read lastSyncAt. A store without it has never synced: it counts as synced now, since a
   * fresh store holds nothing to resurrect (and one that has been running solo keeps its own
   * writes until it next meets a peer after the grace period).
   */
  async load (): Promise<void> {
    const stored = await this.init.meta.get(LAST_SYNC_KEY)
    const parsed = stored == null ? NaN : Number(new TextDecoder().decode(stored))
    if (Number.isSafeInteger(parsed) && parsed > 0) {
      this.lastSyncAtMs = parsed
    } else {
      await this.completed()
    }
  }

  /** True from a drop until the next completed session: the sessions in between are the full resync. */
  get resyncing (): boolean {
    return this.dropped
  }

  /** True when the next session must be a full resync. */
  isStale (): boolean {
    return this.init.clock.now() - this.lastSyncAtMs > this.init.graceMs()
  }

  /** Call before every session: drops old entries once when stale. Concurrent callers share one drop. */
  async beforeSession (): Promise<void> {
    if (this.dropped || !this.isStale()) return
    this.pending ??= (async () => {
      try {
        const horizon = this.init.horizonMs()
        const n = await this.init.dropOlderThan(horizon)
        this.dropped = true
        this.init.log('no sync completed for %d ms (grace %d ms): full resync, dropped %d entries older than the horizon', this.init.clock.now() - this.lastSyncAtMs, this.init.graceMs(), n)
      } finally {
        this.pending = undefined
      }
    })()
    await this.pending
  }

  /** A session completed: persist the time. */
  async completed (): Promise<void> {
    this.lastSyncAtMs = this.init.clock.now()
    this.dropped = false
    await this.init.meta.put(LAST_SYNC_KEY, new TextEncoder().encode(String(this.lastSyncAtMs)))
  }
}
