/**
 * SyncMessage (protocols/cache.proto) ⇄ the frames a session works with. Decoding checks
 * everything a peer can size or shape before anything else sees it: the message size, the type
 * and the fields that type may carry, entry counts and sizes, key and bound lengths, and the
 * reconciliation ranges (validateMessage). A decode either returns a well-formed frame or throws
 * InvalidSyncMessageError, whatever the bytes.
 */
import { MAX_RANGES_PER_MESSAGE, validateMessage } from '../../core/reconcile/index.js'
import { RangeMode, SyncMessage, SyncType } from '../../wire/cache.js'
import { DEFAULT_MAX_VALUE_BYTES, MAX_KEY_BYTES } from '../cache/entry.js'
import { InvalidSyncMessageError } from './errors.js'
import type { Message, Range } from '../../core/reconcile/index.js'
import type { SyncRange } from '../../wire/cache.js'

/** Largest encoded SyncMessage a peer may send (the length prefix is checked against it first). */
export const MAX_SYNC_MESSAGE_BYTES = 4 * 1024 * 1024

/** Entries in one ENTRIES message at most (also the .proto limit). */
export const MAX_ENTRIES_PER_MESSAGE = 1_024

/** Bytes of a range bound at most: a bound is a prefix of a key. */
export const MAX_BOUND_BYTES = MAX_KEY_BYTES

/** Framing an encoded entry may add to its value and key (what verifyEntry also allows). */
const ENTRY_OVERHEAD_BYTES = MAX_KEY_BYTES + 512

/** The largest encoded entry for a cache whose values are at most maxValueBytes. */
export function maxEntryBytes (maxValueBytes: number = DEFAULT_MAX_VALUE_BYTES): number {
  return maxValueBytes + ENTRY_OVERHEAD_BYTES
}

/** The message size limit for a cache whose values are at most maxValueBytes: one entry always fits. */
export function maxMessageBytes (maxValueBytes: number = DEFAULT_MAX_VALUE_BYTES): number {
  return Math.max(MAX_SYNC_MESSAGE_BYTES, maxEntryBytes(maxValueBytes) + 64)
}

/** One message of a session or a fetch, checked. */
export type SyncFrame =
  /** Reconciliation ranges, and the sender's tombstone horizon (ms since the epoch). */
  | { type: 'reconcile', horizonMs: number, message: Message }
  /** Encoded CacheEntry messages, as their origins signed them. */
  | { type: 'entries', entries: Uint8Array[] }
  | { type: 'get', key: string }
  /** The answer to GET: the entry held for the key (live, tombstone or expired), if any. */
  | { type: 'found', entry?: Uint8Array }
  | { type: 'done', horizonMs: number }

export interface DecodeLimits {
  /** Largest encoded entry accepted. Default maxEntryBytes() (256 KiB values). */
  maxEntryBytes?: number
  /** Largest message accepted. Default maxMessageBytes(). */
  maxMessageBytes?: number
}

const EMPTY = new Uint8Array(0)

export function encodeFrame (frame: SyncFrame): Uint8Array {
  switch (frame.type) {
    case 'reconcile':
      return SyncMessage.encode({ type: SyncType.RECONCILE, horizonMs: frame.horizonMs, ranges: frame.message.ranges.map(toWireRange) })
    case 'entries':
      return SyncMessage.encode({ type: SyncType.ENTRIES, entries: frame.entries as Array<Uint8Array<ArrayBuffer>> })
    case 'get':
      return SyncMessage.encode({ type: SyncType.GET, key: frame.key })
    case 'found':
      return SyncMessage.encode({ type: SyncType.FOUND, entries: frame.entry == null ? [] : [frame.entry as Uint8Array<ArrayBuffer>] })
    case 'done':
      return SyncMessage.encode({ type: SyncType.DONE, horizonMs: frame.horizonMs })
  }
}

/**
 * Decode and check one message.
 *
 * @throws InvalidSyncMessageError (and nothing else) when the bytes are not a valid message
 */
export function decodeFrame (bytes: Uint8Array, limits: DecodeLimits = {}): SyncFrame {
  const maxMessage = limits.maxMessageBytes ?? maxMessageBytes()
  if (bytes.byteLength > maxMessage) throw new InvalidSyncMessageError(`${bytes.byteLength} bytes (at most ${maxMessage})`)
  let msg: SyncMessage
  try {
    msg = SyncMessage.decode(bytes)
  } catch (err) {
    throw new InvalidSyncMessageError(`undecodable: ${(err as Error).message}`)
  }
  const has = {
    ranges: msg.ranges.length > 0,
    entries: msg.entries.length > 0,
    key: msg.key !== '',
    horizon: msg.horizonMs !== 0
  }
  const only = (allowed: Array<keyof typeof has>): void => {
    for (const field of Object.keys(has) as Array<keyof typeof has>) {
      if (has[field] && !allowed.includes(field)) throw new InvalidSyncMessageError(`${msg.type} carries ${field}`)
    }
  }
  switch (msg.type) {
    case SyncType.RECONCILE:
      only(['ranges', 'horizon'])
      return { type: 'reconcile', horizonMs: checkHorizon(msg.horizonMs), message: toMessage(msg.ranges) }
    case SyncType.ENTRIES:
      only(['entries'])
      return { type: 'entries', entries: checkEntries(msg.entries, MAX_ENTRIES_PER_MESSAGE, limits) }
    case SyncType.GET:
      only(['key'])
      return { type: 'get', key: checkKey(msg.key) }
    case SyncType.FOUND: {
      only(['entries'])
      const [entry] = checkEntries(msg.entries, 1, limits)
      return entry == null ? { type: 'found' } : { type: 'found', entry }
    }
    case SyncType.DONE:
      only(['horizon'])
      return { type: 'done', horizonMs: checkHorizon(msg.horizonMs) }
    default:
      throw new InvalidSyncMessageError('unknown message type')
  }
}

function checkHorizon (ms: number): number {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new InvalidSyncMessageError('horizon_ms is not a time')
  return ms
}

function checkKey (key: string): string {
  if (key.length === 0 || Buffer.byteLength(key) > MAX_KEY_BYTES || !key.isWellFormed()) {
    throw new InvalidSyncMessageError(`GET key must be 1 to ${MAX_KEY_BYTES} bytes of well-formed text`)
  }
  return key
}

/** Copies each entry: a view would keep the whole message buffer alive as long as the entry. */
function checkEntries (entries: Uint8Array[], max: number, limits: DecodeLimits): Uint8Array[] {
  if (entries.length > max) throw new InvalidSyncMessageError(`${entries.length} entries (at most ${max})`)
  const maxBytes = limits.maxEntryBytes ?? maxEntryBytes()
  return entries.map((e, i) => {
    if (e.byteLength === 0 || e.byteLength > maxBytes) throw new InvalidSyncMessageError(`entry ${i} is ${e.byteLength} bytes (1 to ${maxBytes})`)
    return e.slice()
  })
}

function toMessage (ranges: SyncRange[]): Message {
  if (ranges.length > MAX_RANGES_PER_MESSAGE) throw new InvalidSyncMessageError(`${ranges.length} ranges (at most ${MAX_RANGES_PER_MESSAGE})`)
  const out = ranges.map((r, i): Range => {
    if (r.upper !== undefined && Buffer.byteLength(r.upper) > MAX_BOUND_BYTES) throw new InvalidSyncMessageError(`range ${i} has a bound over ${MAX_BOUND_BYTES} bytes`)
    const unexpected = (field: string): never => { throw new InvalidSyncMessageError(`range ${i} (${r.mode}) carries ${field}`) }
    switch (r.mode) {
      case RangeMode.SKIP:
        if (r.fingerprint.byteLength > 0) unexpected('a fingerprint')
        if (r.count !== 0) unexpected('a count')
        if (r.data.byteLength > 0) unexpected('data')
        return { mode: 'skip', upper: r.upper }
      case RangeMode.FINGERPRINT:
        if (r.data.byteLength > 0) unexpected('data')
        return { mode: 'fingerprint', upper: r.upper, fingerprint: r.fingerprint.slice(), count: r.count }
      case RangeMode.ITEMS:
        if (r.fingerprint.byteLength > 0) unexpected('a fingerprint')
        if (r.count !== 0) unexpected('a count')
        return { mode: 'items', upper: r.upper, hashes: r.data.byteLength > 0 ? r.data.slice() : EMPTY }
      case RangeMode.NEED:
        if (r.fingerprint.byteLength > 0) unexpected('a fingerprint')
        if (r.count !== 0) unexpected('a count')
        return { mode: 'need', upper: r.upper, bitfield: r.data.byteLength > 0 ? r.data.slice() : EMPTY }
      default:
        throw new InvalidSyncMessageError(`range ${i} has an unknown mode`)
    }
  })
  const message: Message = { ranges: out }
  try {
    validateMessage(message)
  } catch (err) {
    throw new InvalidSyncMessageError((err as Error).message)
  }
  return message
}

function toWireRange (range: Range): SyncRange {
  const base = { upper: range.upper, fingerprint: EMPTY as Uint8Array<ArrayBuffer>, count: 0, data: EMPTY as Uint8Array<ArrayBuffer> }
  switch (range.mode) {
    case 'skip': return { ...base, mode: RangeMode.SKIP }
    case 'fingerprint': return { ...base, mode: RangeMode.FINGERPRINT, fingerprint: range.fingerprint as Uint8Array<ArrayBuffer>, count: range.count }
    case 'items': return { ...base, mode: RangeMode.ITEMS, data: range.hashes as Uint8Array<ArrayBuffer> }
    case 'need': return { ...base, mode: RangeMode.NEED, data: range.bitfield as Uint8Array<ArrayBuffer> }
  }
}
