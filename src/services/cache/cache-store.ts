import { LRUCache } from 'lru-cache'
import { DEFAULT_TOMBSTONE_GRACE_MS, isCollectableTombstone, isLive, mergeEntry } from '../../core/cache/merge.js'
import { compareVersions } from '../../core/cache/version.js'
import { ItemIndex, itemHash } from '../../core/reconcile/index.js'
import { fromStoredBytes } from './entry.js'
import type { StoredEntry } from './entry.js'
import type { Sublevel } from '../../store/store.js'
import type { Clock } from '../../util/time.js'

export interface CacheStoreInit {
  /** L2: the LevelDB sublevel holding every entry's signed bytes. */
  db: Sublevel
  clock: Clock
  /** L1 size in bytes. Default 32 MiB. */
  l1Bytes?: number
  /** Tombstones are kept this long before they are collected, ms. Default 7 days. */
  tombstoneGraceMs?: number
}

export const DEFAULT_L1_BYTES = 32 * 1024 * 1024

export type Level = 'l1' | 'l2'

/**
 * The two local levels of the cache and the reconciliation index over them. L1 is an LRU in
 * memory bounded in bytes; L2 is LevelDB, the source of truth. Every write goes through
 * `apply`, which merges by version (last writer wins, ties by origin) so replicas converge
 * whatever order entries arrive in.
 */
export class CacheStore {
  readonly index = new ItemIndex()
  private readonly l1: LRUCache<string, StoredEntry>
  private readonly db: Sublevel
  private readonly clock: Clock
  readonly tombstoneGraceMs: number
  /** Keys with an apply in progress: merges of one key are serialised. */
  private readonly locks = new Map<string, Promise<unknown>>()

  constructor (init: CacheStoreInit) {
    this.db = init.db
    this.clock = init.clock
    this.tombstoneGraceMs = init.tombstoneGraceMs ?? DEFAULT_TOMBSTONE_GRACE_MS
    this.l1 = new LRUCache({
      maxSize: init.l1Bytes ?? DEFAULT_L1_BYTES,
      sizeCalculation: (e) => Math.max(1, e.wire.byteLength + e.key.length * 2 + 64)
    })
  }

  /** Build the index from L2 (at start). */
  async load (): Promise<number> {
    const items = []
    for await (const [key, bytes] of this.db.iterator()) {
      try {
        const e = fromStoredBytes(bytes)
        items.push({ key, hash: hashOf(e) })
      } catch {}
    }
    for (const item of items) this.index.upsert(item.key, item.hash)
    return items.length
  }

  /** Tombstones older than this may have been collected (ms since epoch). */
  horizonMs (): number {
    return this.clock.now() - this.tombstoneGraceMs
  }

  /** The entry (live, tombstone or expired) and where it was found. */
  async lookup (key: string): Promise<{ entry: StoredEntry, level: Level } | undefined> {
    const hit = this.l1.get(key)
    if (hit != null) return { entry: hit, level: 'l1' }
    const bytes = await this.db.get(key)
    if (bytes == null) return undefined
    const entry = fromStoredBytes(bytes)
    this.l1.set(key, entry)
    return { entry, level: 'l2' }
  }

  /** A live (not deleted, not expired) entry. */
  isLive (entry: StoredEntry): boolean {
    return isLive(entry, this.clock.now())
  }

  /**
   * Merge an entry in. Returns true when it changed what this node holds. Entries older than
   * the tombstone horizon for keys not held are refused: they may be deletes already forgotten.
   */
  async apply (incoming: StoredEntry): Promise<boolean> {
    return this.serialise(incoming.key, async () => {
      const current = (await this.lookup(incoming.key))?.entry
      if (current == null && incoming.version.ts.wallMs < this.horizonMs()) return false
      // One origin signing two different values under one version must not split replicas:
      // the larger signed encoding wins everywhere (items hash the bytes, so sync sees it too).
      const tie = current != null && compareVersions(current.version, incoming.version) === 0
      if (tie) {
        if (Buffer.compare(Buffer.from(incoming.wire), Buffer.from(current.wire)) <= 0) return false
      }
      const { winner, changed } = tie ? { winner: incoming, changed: true } : mergeEntry(current, incoming)
      if (!changed) return false
      await this.db.put(winner.key, winner.wire)
      this.l1.set(winner.key, winner)
      this.index.upsert(winner.key, hashOf(winner))
      return true
    })
  }

  /** Every entry, in key order (for `ls` and anti-entropy). */
  async * entries (): AsyncGenerator<StoredEntry> {
    for await (const bytes of this.db.values()) {
      try { yield fromStoredBytes(bytes) } catch {}
    }
  }

  async getMany (keys: string[]): Promise<StoredEntry[]> {
    const out: StoredEntry[] = []
    for (const key of keys) {
      const found = await this.lookup(key)
      if (found != null) out.push(found.entry)
    }
    return out
  }

  /** Collect expired entries and tombstones past the grace period. Returns how many went. */
  async collect (): Promise<number> {
    const now = this.clock.now()
    const gone: StoredEntry[] = []
    for await (const e of this.entries()) {
      // An expired entry acts as a tombstone for the grace period: collected earlier, an older
      // write still held elsewhere would bring the key back.
      const expired = !e.tombstone && e.expiresAtMs != null && e.expiresAtMs + this.tombstoneGraceMs <= now
      if (expired || isCollectableTombstone(e, now, this.tombstoneGraceMs)) gone.push(e)
    }
    return this.remove(gone)
  }

  /**
   * Remove every entry older than horizonMs (ms since the epoch, by its version). The full resync
   * of anti-entropy calls it after a long absence: such entries may be deletes already forgotten
   * by peers. Returns how many went.
   */
  async dropOlderThan (horizonMs: number): Promise<number> {
    const gone: StoredEntry[] = []
    for await (const e of this.entries()) if (e.version.ts.wallMs < horizonMs) gone.push(e)
    return this.remove(gone)
  }

  /**
   * Delete scanned entries from every level and the index; returns how many went. Each key is
   * deleted under its lock and only if it still holds the scanned version: a write that arrived
   * during the scan is kept.
   */
  private async remove (scanned: StoredEntry[]): Promise<number> {
    let removed = 0
    for (const e of scanned) {
      const done = await this.serialise(e.key, async () => {
        const current = (await this.lookup(e.key))?.entry
        if (current == null || compareVersions(current.version, e.version) !== 0) return false
        await this.db.del(e.key)
        this.l1.delete(e.key)
        this.index.delete(e.key)
        return true
      })
      if (done) removed++
    }
    return removed
  }

  private async serialise<T> (key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve()
    const next = prev.then(fn, fn)
    this.locks.set(key, next)
    try {
      return await next
    } finally {
      if (this.locks.get(key) === next) this.locks.delete(key)
    }
  }
}

/** Reconciliation item: the key and its exact signed bytes (two entries differ if anything differs). */
function hashOf (e: StoredEntry): Uint8Array {
  return itemHash(e.key, e.wire)
}
