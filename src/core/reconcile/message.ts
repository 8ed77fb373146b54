/**
 * Messages of range-based set reconciliation (protocol /fedmesh/cache-sync/1.0.0), as plain
 * objects; the wire codec lives with the service.
 *
 * A message is a list of ranges covering the key space in order: range i spans
 * [upper of range i-1, upper of range i), the first starting at ''. `upper` is absent only on a
 * last range that runs to the end of the key space; after the last listed range, the rest of
 * the key space is implicitly 'skip'. Bounds are the shortest prefixes that separate two keys
 * (see boundBetween), so they are usually a few bytes.
 *
 * Bytes were the design goal; a range is one of:
 * - skip: nothing to do here (equal, or settled).
 * - fingerprint: XOR of the sender's item hashes in the range, and their count. The receiver
 *   answers with skip (equal), items (it holds few), or a finer split into sub-ranges.
 * - items: the sender holds few items here and sends their hashes only (16 bytes each, in key
 *   order; no keys). The receiver now knows everything about the range: it pushes the entries
 *   the sender lacks and answers with a need bitfield for the sender's items it lacks.
 * - need: answers an items range with the same bounds: bit i set = "send me the i-th item of
 *   your list". Hashes are never echoed back.
 */
import { ITEM_HASH_BYTES } from './item.js'
import { InvalidReconcileMessageError } from './errors.js'

export interface SkipRange {
  readonly mode: 'skip'
  readonly upper?: string
}

export interface FingerprintRange {
  readonly mode: 'fingerprint'
  readonly upper?: string
  /** XOR of the sender's item hashes in the range, ITEM_HASH_BYTES bytes. */
  readonly fingerprint: Uint8Array
  /** How many items the sender holds in the range. */
  readonly count: number
}

export interface ItemsRange {
  readonly mode: 'items'
  readonly upper?: string
  /** The sender's item hashes in the range, concatenated in key order (16 bytes each). */
  readonly hashes: Uint8Array
}

export interface NeedRange {
  readonly mode: 'need'
  readonly upper?: string
  /**
   * One bit per item of the items range we answer (bit i is bit i % 8 of byte i / 8): set =
   * the receiver must send us that entry. Exactly ceil(items / 8) bytes.
   */
  readonly bitfield: Uint8Array
}

export type Range = SkipRange | FingerprintRange | ItemsRange | NeedRange
export type RangeMode = Range['mode']

export interface Message {
  readonly ranges: readonly Range[]
}

/**
 * Ranges a peer may send in one message, whatever its own settings; the wire codec should
 * also cap the encoded message size (an items range can carry up to that many hashes).
 */
export const MAX_RANGES_PER_MESSAGE = 4_096

/** Bytes of framing per range in the estimate: range tag + length, mode. */
const RANGE_OVERHEAD_BYTES = 3

/**
 * Estimated encoded size of a message, protobuf-like: per range a small framing overhead, the
 * bound (length-prefixed UTF-8), and the payload (16-byte fingerprint + varint count, or
 * length-prefixed hashes / bitfield). Good to a few percent; for tests and benchmarks.
 */
export function messageSize (msg: Message): number {
  let bytes = 0
  for (const range of msg.ranges) {
    bytes += RANGE_OVERHEAD_BYTES
    if (range.upper !== undefined) bytes += lengthPrefixed(utf8Length(range.upper))
    switch (range.mode) {
      case 'skip': break
      case 'fingerprint': bytes += lengthPrefixed(range.fingerprint.length) + 1 + varintLength(range.count); break
      case 'items': bytes += lengthPrefixed(range.hashes.length); break
      case 'need': bytes += lengthPrefixed(range.bitfield.length); break
    }
  }
  return bytes
}

/** A field tag, a varint length and the bytes. */
function lengthPrefixed (n: number): number {
  return 1 + varintLength(n) + n
}

function varintLength (n: number): number {
  let bytes = 1
  while (n >= 0x80) { n = Math.floor(n / 0x80); bytes++ }
  return bytes
}

function utf8Length (s: string): number {
  let bytes = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) bytes += 1
    else if (c < 0x800) bytes += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) { bytes += 4; i++ } else bytes += 3
  }
  return bytes
}

/**
 * Check a message from a peer before acting on it: known modes, bounds strictly increasing,
 * an open upper only on the last range, payload sizes consistent.
 *
 * @throws InvalidReconcileMessageError
 */
export function validateMessage (msg: Message, maxRanges: number = MAX_RANGES_PER_MESSAGE): void {
  if (typeof msg !== 'object' || msg === null || !Array.isArray(msg.ranges)) throw new InvalidReconcileMessageError('no range list')
  const { ranges } = msg
  if (ranges.length > maxRanges) throw new InvalidReconcileMessageError(`${ranges.length} ranges (at most ${maxRanges})`)
  let lower = ''
  for (let i = 0; i < ranges.length; i++) {
    const range = ranges[i]
    const { upper } = range
    if (upper === undefined) {
      if (i !== ranges.length - 1) throw new InvalidReconcileMessageError(`range ${i} is open-ended but not last`)
    } else if (typeof upper !== 'string' || !upper.isWellFormed() || upper <= lower) {
      throw new InvalidReconcileMessageError(`range ${i} does not end after it starts`)
    } else {
      lower = upper
    }
    switch (range.mode) {
      case 'skip': break
      case 'fingerprint':
        if (!(range.fingerprint instanceof Uint8Array) || range.fingerprint.length !== ITEM_HASH_BYTES) throw new InvalidReconcileMessageError(`range ${i} has a fingerprint that is not ${ITEM_HASH_BYTES} bytes`)
        if (!Number.isSafeInteger(range.count) || range.count < 0) throw new InvalidReconcileMessageError(`range ${i} has an invalid count`)
        break
      case 'items':
        if (!(range.hashes instanceof Uint8Array) || range.hashes.length % ITEM_HASH_BYTES !== 0) throw new InvalidReconcileMessageError(`range ${i} has hashes that are not a multiple of ${ITEM_HASH_BYTES} bytes`)
        break
      case 'need':
        if (!(range.bitfield instanceof Uint8Array)) throw new InvalidReconcileMessageError(`range ${i} has no bitfield`)
        break
      default:
        throw new InvalidReconcileMessageError(`range ${i} has an unknown mode`)
    }
  }
}
