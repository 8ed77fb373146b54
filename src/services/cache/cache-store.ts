import { LRUCache } from 'lru-cache'
import { DEFAULT_TOMBSTONE_GRACE_MS, isCollectableTombstone, isLive, mergeEntry } from '../../core/cache/merge.js'
import { compareVersions } from '../../core/cache/version.js'
import { compareTimestamps } from '../../core/hlc.js'
import { ItemIndex, itemHash } from '../../core/reconcile/index.js'
import { fromStoredBytes } from './entry.js'
import type { StoredEntry } from './entry.js'
import type { Timestamp } from '../../core/hlc.js'
import type { Sublevel } from '../../store/store.js'
import type { Clock } from '../../util/time.js'

export interface CacheStoreInit {
  /** L2: the LevelDB sublevel holding every entry's signed bytes. */
  db: Sublevel
  /**
   * Where the keys of unshared entries are listed (the `meta` sublevel, under `cache-unshared/`),
   * so they stay unshared across a restart. Default: in memory only.
   */
  meta?: Sublevel
  clock: Clock
  /** L1 size in bytes. Default 32 MiB. */
  l1Bytes?: number
  /** Tombstones are kept this long before they are collected, ms. Default 7 days. */
  tombstoneGraceMs?: number
  /** An entry was removed (collected, or dropped by a full resync): writers' usage goes down. */
  onRemoved?: (entry: StoredEntry) => void
}

export const DEFAULT_L1_BYTES = 32 * 1024 * 1024

export type Level = 'l1' | 'l2'

/**
 * What merging an entry did: `applied` (it is now what the node holds for its key), `stale` (the
 * node holds the same or a newer version), `beyond-horizon` (older than the tombstone horizon
 * for a key the node does not hold: it may be a delete already forgotten).
 */
export type MergeOutcome = 'applied' | 'stale' | 'beyond-horizon'

/** A local write did not end up as what the node holds for its key: it must not be acknowledged. */
export class LocalWriteLostError extends Error {
  constructor (key: string) {
    super(`the write of ${JSON.stringify(key)} did not supersede the version held (a bug: local versions are stamped above everything held)`)
    this.name = 'LocalWriteLostError'
  }
}

const UNSHARED_PREFIX = 'cache-unshared/'
/** Just above every key with the prefix ('0' follows '/'). */
const UNSHARED_END = 'cache-unshared0'

/**
 * The two local levels of the cache and the reconciliation index over them. L1 is an LRU in
 * memory bounded in bytes; L2 is LevelDB, the source of truth. Every write goes through
 * `apply`, which merges by version (last writer wins, ties by origin) so replicas converge
 * whatever order entries arrive in.
 *
 * An entry written while the node knew no peer's clock is **unshared**: served here, but kept
 * out of the reconciliation index and out of `lookupShared`/`getMany`, so no peer gets it until
 * the node has settled it (services/cache/settle.ts). Nobody else having it is what makes
 * re-dating it safe.
 */
export class CacheStore {
  readonly index = new ItemIndex()
  private readonly l1: LRUCache<string, StoredEntry>
  private readonly db: Sublevel
  private readonly clock: Clock
  readonly tombstoneGraceMs: number
  /** The newest version time among the entries loaded at start (the clock resumes above it). */
  highest: Timestamp | undefined
  /** The newest version time among the shared entries loaded at start. */
  highestShared: Timestamp | undefined
  /** Keys whose held entry is unshared. */
  private readonly unshared = new Set<string>()
  private readonly meta: Sublevel | undefined
  /** Writes to L2 ended so far (a read of L2 that one overtook does not fill L1). */
  private writes = 0
  /** Keys with an apply in progress: merges of one key are serialised. */
  private readonly locks = new Map<string, Promise<unknown>>()

  constructor (private readonly init: CacheStoreInit) {
    this.db = init.db
    this.meta = init.meta
    this.clock = init.clock
    this.tombstoneGraceMs = init.tombstoneGraceMs ?? DEFAULT_TOMBSTONE_GRACE_MS
    this.l1 = new LRUCache({
      maxSize: init.l1Bytes ?? DEFAULT_L1_BYTES,
      sizeCalculation: (e) => Math.max(1, e.wire.byteLength + e.key.length * 2 + 64)
    })
  }

  /** Build the index from L2 (at start). */
  async load (): Promise<number> {
    if (this.meta != null) {
      for await (const key of this.meta.keys({ gte: UNSHARED_PREFIX, lt: UNSHARED_END })) this.unshared.add(key.slice(UNSHARED_PREFIX.length))
    }
    const items = []
    for await (const [key, bytes] of this.db.iterator()) {
      try {
        const e = fromStoredBytes(bytes)
        if (this.highest == null || compareTimestamps(e.version.ts, this.highest) > 0) this.highest = e.version.ts
        if (this.unshared.has(key)) continue
        items.push({ key, hash: hashOf(e) })
        if (this.highestShared == null || compareTimestamps(e.version.ts, this.highestShared) > 0) this.highestShared = e.version.ts
      } catch {}
    }
    for (const item of items) this.index.upsert(item.key, item.hash)
    return items.length + this.unshared.size
  }

  /** How many entries are unshared. */
  get unsharedCount (): number {
    return this.unshared.size
  }

  /** The unshared entries. */
  async unsharedEntries (): Promise<StoredEntry[]> {
    return this.getMany([...this.unshared], { includeUnshared: true })
  }

  /** The entry held for a key, unless it is unshared: what peers may be given. */
  async lookupShared (key: string): Promise<{ entry: StoredEntry, level: Level } | undefined> {
    return this.unshared.has(key) ? undefined : this.lookup(key)
  }

  /**
   * Share exactly `expected` (same signed bytes) as it is: it enters the index. False when the
   * key holds something else by now.
   */
  async share (expected: StoredEntry): Promise<boolean> {
    return this.serialise(expected.key, async () => {
      const current = (await this.lookup(expected.key))?.entry
      if (current == null || !this.unshared.has(expected.key) || Buffer.compare(Buffer.from(current.wire), Buffer.from(expected.wire)) !== 0) return false
      await this.put(current, true)
      return true
    })
  }

  /** Tombstones older than this may have been collected (ms since epoch). */
  horizonMs (): number {
    return this.clock.now() - this.tombstoneGraceMs
  }

  /** The entry (live, tombstone or expired) and where it was found. */
  async lookup (key: string): Promise<{ entry: StoredEntry, level: Level } | undefined> {
    const hit = this.l1.get(key)
    if (hit != null) return { entry: hit, level: 'l1' }
    const writes = this.writes
    const bytes = await this.db.get(key)
    if (bytes == null) return undefined
    const entry = fromStoredBytes(bytes)
    // A write that ended while this read was in flight may have replaced or removed what it read:
    // only a read no write overtook fills L1 (L1 must never hold what L2 no longer does).
    if (writes === this.writes) this.l1.set(key, entry)
    return { entry, level: 'l2' }
  }

  /**
   * Forget everything L1 holds: after the database was reopened (storage recovery), a write the
   * disk failed may be gone from L2, and L1 must not answer it.
   */
  clearMemory (): void {
    this.l1.clear()
  }

  /** Run a write of `key` to L2: reads in flight do not fill L1, and a failed write leaves it out of L1. */
  private async writing (key: string, write: () => Promise<void>): Promise<void> {
    try {
      await write()
    } catch (err) {
      // What L2 holds now is unknown (a disk error may or may not have kept it): read it again.
      this.l1.delete(key)
      throw err
    } finally {
      this.writes++
    }
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
    return (await this.merge(incoming)).outcome === 'applied'
  }

  /** Merge an entry in and say what it did (see MergeOutcome), and which entry it replaced. */
  async merge (incoming: StoredEntry): Promise<{ outcome: MergeOutcome, replaced?: StoredEntry }> {
    return this.serialise(incoming.key, async () => this.mergeHeld(incoming))
  }

  /**
   * A local write: `make` builds the entry (stamps and signs it) while the key is locked, so no
   * other merge of the key runs between reading what is held and storing the write. Throws
   * LocalWriteLostError rather than acknowledge a write that did not become what is held.
   */
  async writeLocal (key: string, make: (held: StoredEntry | undefined) => Promise<{ entry: StoredEntry, shared: boolean }>): Promise<{ entry: StoredEntry, shared: boolean, replaced?: StoredEntry }> {
    return this.serialise(key, async () => {
      const held = (await this.lookup(key))?.entry
      const { entry, shared } = await make(held)
      if (entry.key !== key || (held != null && compareVersions(entry.version, held.version) <= 0)) throw new LocalWriteLostError(key)
      await this.put(entry, shared)
      return { entry, shared, replaced: held }
    })
  }

  /**
   * Replace exactly `expected`, an unshared entry, with `next` (shared), whatever their versions:
   * only re-dating does this, for a version nobody else holds. False when the key holds
   * something else by now.
   */
  async redate (expected: StoredEntry, next: StoredEntry): Promise<boolean> {
    return this.serialise(expected.key, async () => {
      const current = (await this.lookup(expected.key))?.entry
      if (current == null || !this.unshared.has(expected.key) || Buffer.compare(Buffer.from(current.wire), Buffer.from(expected.wire)) !== 0) return false
      await this.put(next, true)
      return true
    })
  }

  private async mergeHeld (incoming: StoredEntry): Promise<{ outcome: MergeOutcome, replaced?: StoredEntry }> {
    const current = (await this.lookup(incoming.key))?.entry
    if (current == null && incoming.version.ts.wallMs < this.horizonMs()) return { outcome: 'beyond-horizon' }
    // One origin signing two different values under one version must not split replicas:
    // the larger signed encoding wins everywhere (items hash the bytes, so sync sees it too).
    const tie = current != null && compareVersions(current.version, incoming.version) === 0
    if (tie) {
      if (Buffer.compare(Buffer.from(incoming.wire), Buffer.from(current.wire)) <= 0) return { outcome: 'stale' }
    }
    const { winner, changed } = tie ? { winner: incoming, changed: true } : mergeEntry(current, incoming)
    if (!changed) return { outcome: 'stale' }
    await this.put(winner)
    return { outcome: 'applied', replaced: current }
  }

  /**
   * Store an entry and its unshared marker in one batch: a crash between two writes would leave
   * an entry written alone on disk without its marker (offered to peers after the restart,
   * unsettled) or a shared one still marked (held back). Memory follows only once it is written.
   */
  private async put (entry: StoredEntry, shared = true): Promise<void> {
    const marker = this.markerChange(entry.key, !shared)
    const meta = this.meta
    await this.writing(entry.key, async () => {
      if (meta == null || marker == null) return this.db.put(entry.key, entry.wire)
      await this.db.db.batch([
        { type: 'put', sublevel: this.db, key: entry.key, value: entry.wire },
        marker === 'put'
          ? { type: 'put', sublevel: meta, key: UNSHARED_PREFIX + entry.key, value: new Uint8Array(0) }
          : { type: 'del', sublevel: meta, key: UNSHARED_PREFIX + entry.key }
      ])
    })
    this.l1.set(entry.key, entry)
    if (shared) {
      this.index.upsert(entry.key, hashOf(entry))
      this.unshared.delete(entry.key)
    } else {
      this.index.delete(entry.key)
      this.unshared.add(entry.key)
    }
  }

  /** The write the unshared marker of `key` needs to become `unshared` (none when it already is). */
  private markerChange (key: string, unshared: boolean): 'put' | 'del' | undefined {
    if (this.unshared.has(key) === unshared) return undefined
    return unshared ? 'put' : 'del'
  }

  /** Every entry, in key order (for `ls` and anti-entropy). */
  async * entries (): AsyncGenerator<StoredEntry> {
    for await (const bytes of this.db.values()) {
      try { yield fromStoredBytes(bytes) } catch {}
    }
  }

  /** The entries of these keys, unshared ones left out unless asked for (anti-entropy pushes what this returns). */
  async getMany (keys: string[], options: { includeUnshared?: boolean } = {}): Promise<StoredEntry[]> {
    const out: StoredEntry[] = []
    for (const key of keys) {
      if (options.includeUnshared !== true && this.unshared.has(key)) continue
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
        const meta = this.meta
        await this.writing(e.key, async () => {
          if (meta == null || this.markerChange(e.key, false) == null) return this.db.del(e.key)
          await this.db.db.batch([
            { type: 'del', sublevel: this.db, key: e.key },
            { type: 'del', sublevel: meta, key: UNSHARED_PREFIX + e.key }
          ])
        })
        this.l1.delete(e.key)
        this.index.delete(e.key)
        this.unshared.delete(e.key)
        return true
      })
      if (done) {
        removed++
        this.init.onRemoved?.(e)
      }
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
