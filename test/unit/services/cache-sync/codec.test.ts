import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ITEM_HASH_BYTES } from '../../../../src/core/reconcile/index.js'
import { MAX_ENTRIES_PER_MESSAGE, decodeFrame, encodeFrame, maxMessageBytes } from '../../../../src/services/cache-sync/codec.js'
import { InvalidSyncMessageError } from '../../../../src/services/cache-sync/errors.js'
import { RangeMode, SyncMessage, SyncType } from '../../../../src/wire/cache.js'
import type { SyncFrame } from '../../../../src/services/cache-sync/codec.js'
import type { Range } from '../../../../src/core/reconcile/index.js'

const RUNS = 10_000

const text = (max: number): fc.Arbitrary<string> =>
  fc.string({ unit: 'binary', minLength: 1, maxLength: max }).filter(s => s.isWellFormed() && Buffer.byteLength(s) <= 256)

const horizon = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })
const entry = fc.uint8Array({ minLength: 1, maxLength: 64 })

const range = (upper: string | undefined): fc.Arbitrary<Range> => fc.oneof(
  fc.constant<Range>({ mode: 'skip', upper }),
  fc.record({ fingerprint: fc.uint8Array({ minLength: ITEM_HASH_BYTES, maxLength: ITEM_HASH_BYTES }), count: fc.nat({ max: 2 ** 32 - 1 }) })
    .map(({ fingerprint, count }): Range => ({ mode: 'fingerprint', upper, fingerprint, count })),
  fc.integer({ min: 0, max: 6 }).chain(n => fc.uint8Array({ minLength: n * ITEM_HASH_BYTES, maxLength: n * ITEM_HASH_BYTES }))
    .map((hashes): Range => ({ mode: 'items', upper, hashes })),
  fc.uint8Array({ maxLength: 4 }).map((bitfield): Range => ({ mode: 'need', upper, bitfield }))
)

/** Ranges with strictly increasing bounds, the last one sometimes open-ended. */
const ranges: fc.Arbitrary<Range[]> = fc.tuple(fc.uniqueArray(text(8), { maxLength: 8 }), fc.boolean())
  .chain(([bounds, open]) => {
    const uppers: Array<string | undefined> = [...bounds].sort()
    if (open) uppers.push(undefined)
    return uppers.length === 0 ? fc.constant([]) : fc.tuple(...uppers.map(range))
  })

const frame: fc.Arbitrary<SyncFrame> = fc.oneof(
  fc.record({ horizonMs: horizon, ranges }).map(({ horizonMs, ranges }): SyncFrame => ({ type: 'reconcile', horizonMs, message: { ranges } })),
  fc.array(entry, { minLength: 1, maxLength: 20 }).map((entries): SyncFrame => ({ type: 'entries', entries })),
  text(64).map((key): SyncFrame => ({ type: 'get', key })),
  fc.option(entry, { nil: undefined }).map((e): SyncFrame => e == null ? { type: 'found' } : { type: 'found', entry: e }),
  horizon.map((horizonMs): SyncFrame => ({ type: 'done', horizonMs }))
)

/** Decode; anything other than a frame or InvalidSyncMessageError fails the property. */
function decodeOrReject (bytes: Uint8Array): SyncFrame | undefined {
  try {
    return decodeFrame(bytes)
  } catch (err) {
    if (err instanceof InvalidSyncMessageError) return undefined
    throw err
  }
}

describe('cache-sync codec', () => {
  it('round-trips every well-formed frame', () => {
    fc.assert(fc.property(frame, (f) => {
      expect(decodeFrame(encodeFrame(f))).toEqual(f)
    }), { numRuns: RUNS })
  })

  it('never throws anything but InvalidSyncMessageError on arbitrary bytes, and what it accepts re-encodes to itself', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      const f = decodeOrReject(bytes)
      if (f != null) expect(decodeFrame(encodeFrame(f))).toEqual(f)
    }), { numRuns: RUNS })
  })

  it('never throws anything but InvalidSyncMessageError on corrupted valid frames', () => {
    fc.assert(fc.property(frame, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat(), (f, flips, cut) => {
      const bytes = encodeFrame(f).slice()
      for (const [at, value] of flips) if (bytes.length > 0) bytes[at % bytes.length] = value
      decodeOrReject(bytes)
      decodeOrReject(bytes.subarray(0, bytes.length === 0 ? 0 : cut % bytes.length))
    }), { numRuns: RUNS })
  })

  it.each<[string, Partial<SyncMessage>]>([
    ['a message type with fields of another', { type: SyncType.GET, key: 'k', horizonMs: 5 }],
    ['ENTRIES with an empty entry', { type: SyncType.ENTRIES, entries: [new Uint8Array(0)] }],
    ['FOUND with two entries', { type: SyncType.FOUND, entries: [new Uint8Array([1]), new Uint8Array([2])] }],
    ['GET without a key', { type: SyncType.GET }],
    ['GET with a key over 256 bytes', { type: SyncType.GET, key: 'x'.repeat(257) }],
    ['RECONCILE with bounds out of order', { type: SyncType.RECONCILE, ranges: [{ mode: RangeMode.SKIP, upper: 'b', fingerprint: new Uint8Array(0), count: 0, data: new Uint8Array(0) }, { mode: RangeMode.SKIP, upper: 'a', fingerprint: new Uint8Array(0), count: 0, data: new Uint8Array(0) }] }],
    ['RECONCILE with an open range before the last', { type: SyncType.RECONCILE, ranges: [{ mode: RangeMode.SKIP, fingerprint: new Uint8Array(0), count: 0, data: new Uint8Array(0) }, { mode: RangeMode.SKIP, upper: 'a', fingerprint: new Uint8Array(0), count: 0, data: new Uint8Array(0) }] }],
    ['a fingerprint of the wrong size', { type: SyncType.RECONCILE, ranges: [{ mode: RangeMode.FINGERPRINT, fingerprint: new Uint8Array(15), count: 1, data: new Uint8Array(0) }] }],
    ['items not a multiple of 16 bytes', { type: SyncType.RECONCILE, ranges: [{ mode: RangeMode.ITEMS, fingerprint: new Uint8Array(0), count: 0, data: new Uint8Array(17) }] }],
    ['a bound over 256 bytes', { type: SyncType.RECONCILE, ranges: [{ mode: RangeMode.SKIP, upper: 'y'.repeat(257), fingerprint: new Uint8Array(0), count: 0, data: new Uint8Array(0) }] }]
  ])('rejects %s', (_name, msg) => {
    expect(() => decodeFrame(SyncMessage.encode(msg))).toThrow(InvalidSyncMessageError)
  })

  it('rejects a horizon beyond 2^53 (not a time a JS number holds exactly)', () => {
    // type = DONE, horizon_ms = 2^60 as a varint
    const bytes = new Uint8Array([0x08, 0x04, 0x28, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10])
    expect(() => decodeFrame(bytes)).toThrow(InvalidSyncMessageError)
  })

  it('rejects a message over the size limit before decoding it', () => {
    expect(() => decodeFrame(new Uint8Array(maxMessageBytes() + 1))).toThrow(/at most/)
  })

  it('rejects more entries than one message may carry', () => {
    const entries = Array.from({ length: MAX_ENTRIES_PER_MESSAGE + 1 }, () => new Uint8Array([1]))
    expect(() => decodeFrame(SyncMessage.encode({ type: SyncType.ENTRIES, entries }))).toThrow(InvalidSyncMessageError)
  })
})
