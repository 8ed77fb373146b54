/**
 * Last-writer-wins merge of cache entries, by version only. The receiver's wall clock never
 * takes part, so every peer that has seen the same writes holds the same winner, whatever order
 * they arrived in (the merge is commutative, associative and idempotent).
 */
import { DAY } from '../../util/time.js'
import { compareVersions } from './version.js'
import type { Version } from './version.js'

/** What the merge needs to know of an entry; the value, signature etc. ride along in T. */
export interface EntryMeta {
  readonly key: string
  readonly version: Version
  /** A delete: an entry like any other, so it beats older writes and loses to newer ones. */
  readonly tombstone: boolean
  /** Absolute expiry (ms since the epoch) from the writer's TTL; absent = no expiry. */
  readonly expiresAtMs?: number
}

/**
 * How long a tombstone is kept before it may be collected. It must outlive any partition we
 * expect to heal by anti-entropy: a peer that comes back still holding the deleted entry would
 * otherwise find no tombstone to lose against and resurrect the key everywhere. 7 days covers a
 * laptop closed over a long weekend plus margin; a peer away for longer than the grace period
 * must drop its cache and do a full resync instead of merging (see isCollectableTombstone).
 */
export const DEFAULT_TOMBSTONE_GRACE_MS = 7 * DAY

export interface MergeResult<T> {
  /** The entry to keep. */
  winner: T
  /** True when the winner is `incoming`, i.e. the stored entry must be replaced. */
  changed: boolean
}

/**
 * Merge `incoming` into `current` (undefined: the key is not stored). The higher version wins;
 * on equal versions `current` is kept, so re-delivering an entry changes nothing. A version
 * names exactly one write (its origin signed it), so equal versions mean the same entry.
 */
export function mergeEntry<T extends EntryMeta> (current: T | undefined, incoming: T): MergeResult<T> {
  if (current === undefined) return { winner: incoming, changed: true }
  if (current.key !== incoming.key) throw new RangeError(`cannot merge entries of different keys (${JSON.stringify(current.key)} and ${JSON.stringify(incoming.key)})`)
  return compareVersions(incoming.version, current.version) > 0
    ? { winner: incoming, changed: true }
    : { winner: current, changed: false }
}

/** True when the entry should be served: not a delete and not past its expiry. */
export function isLive (entry: EntryMeta, nowMs: number): boolean {
  return !entry.tombstone && (entry.expiresAtMs === undefined || nowMs < entry.expiresAtMs)
}

/**
 * True when a tombstone is older than the grace period and may be dropped from the store. Its
 * age is taken from its version (the delete's own time), so all peers agree on it.
 */
export function isCollectableTombstone (entry: EntryMeta, nowMs: number, graceMs: number = DEFAULT_TOMBSTONE_GRACE_MS): boolean {
  return entry.tombstone && nowMs - entry.version.ts.wallMs > graceMs
}
