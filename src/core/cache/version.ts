/**
 * The version of a cache entry: the hybrid-logical-clock time of the write plus the peer that
 * wrote it. Versions are totally ordered, so every peer picks the same last writer without
 * consulting its own clock.
 */
import { compareTimestamps, isValidTimestamp, timestampToBigInt } from '../hlc.js'
import type { Timestamp } from '../hlc.js'

export interface Version {
  /** When the origin wrote the entry, on its hybrid logical clock. */
  readonly ts: Timestamp
  /** Peer id (string form) of the writer; it signs the entry, so it cannot be claimed by others. */
  readonly origin: string
}

/**
 * Total order: by timestamp, then by origin (plain string comparison), so two peers writing the
 * same key at the same HLC time still agree on one winner.
 */
export function compareVersions (a: Version, b: Version): -1 | 0 | 1 {
  const byTime = compareTimestamps(a.ts, b.ts)
  if (byTime !== 0) return byTime
  if (a.origin === b.origin) return 0
  return a.origin < b.origin ? -1 : 1
}

export function isValidVersion (v: unknown): v is Version {
  if (typeof v !== 'object' || v === null) return false
  const { ts, origin } = v as Record<string, unknown>
  return isValidTimestamp(ts) && typeof origin === 'string' && origin.length > 0
}

/**
 * Canonical bytes of a version: the uint64 timestamp big-endian, then the origin in UTF-8.
 * Peers hash these (with the key) for set reconciliation, so every peer must produce the same
 * bytes for the same version.
 */
export function versionToBytes (v: Version): Uint8Array {
  const origin = new TextEncoder().encode(v.origin)
  const out = new Uint8Array(8 + origin.length)
  new DataView(out.buffer).setBigUint64(0, timestampToBigInt(v.ts), false)
  out.set(origin, 8)
  return out
}
