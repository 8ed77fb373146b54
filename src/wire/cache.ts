/* eslint-disable */
// Generated from protocols/cache.proto by scripts/gen-protos.mjs. Do not edit.
import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface CacheEntry {
  key: string
  value: Uint8Array<ArrayBuffer>
  hlc: bigint
  origin: Uint8Array<ArrayBuffer>
  ttlSeconds: number
  tombstone: boolean
  signature: Uint8Array<ArrayBuffer>
}

export namespace CacheEntry {
  let _codec: Codec<CacheEntry>

  export const codec = (): Codec<CacheEntry> => {
    if (_codec == null) {
      _codec = message<CacheEntry>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.key != null && obj.key !== '')) {
          w.uint32(10)
          w.string(obj.key)
        }

        if ((obj.value != null && obj.value.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.value)
        }

        if ((obj.hlc != null && obj.hlc !== 0n)) {
          w.uint32(24)
          w.uint64(obj.hlc)
        }

        if ((obj.origin != null && obj.origin.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.origin)
        }

        if ((obj.ttlSeconds != null && obj.ttlSeconds !== 0)) {
          w.uint32(40)
          w.uint32(obj.ttlSeconds)
        }

        if ((obj.tombstone != null && obj.tombstone !== false)) {
          w.uint32(48)
          w.bool(obj.tombstone)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(58)
          w.bytes(obj.signature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          key: '',
          value: uint8ArrayAlloc(0),
          hlc: 0n,
          origin: uint8ArrayAlloc(0),
          ttlSeconds: 0,
          tombstone: false,
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.key = reader.string()
              break
            }
            case 2: {
              obj.value = reader.bytes()
              break
            }
            case 3: {
              obj.hlc = reader.uint64()
              break
            }
            case 4: {
              obj.origin = reader.bytes()
              break
            }
            case 5: {
              obj.ttlSeconds = reader.uint32()
              break
            }
            case 6: {
              obj.tombstone = reader.bool()
              break
            }
            case 7: {
              obj.signature = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.key`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.value`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.hlc`,
                value: reader.uint64()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.origin`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.ttlSeconds`,
                value: reader.uint32()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.tombstone`,
                value: reader.bool()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface CacheEntryKeyFieldEvent {
    field: '$.key'
    value: string
  }

  export interface CacheEntryValueFieldEvent {
    field: '$.value'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CacheEntryHlcFieldEvent {
    field: '$.hlc'
    value: bigint
  }

  export interface CacheEntryOriginFieldEvent {
    field: '$.origin'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CacheEntryTtlSecondsFieldEvent {
    field: '$.ttlSeconds'
    value: number
  }

  export interface CacheEntryTombstoneFieldEvent {
    field: '$.tombstone'
    value: boolean
  }

  export interface CacheEntrySignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<CacheEntry>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, CacheEntry.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CacheEntry>): CacheEntry {
    return decodeMessage(buf, CacheEntry.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CacheEntry>): Generator<CacheEntryKeyFieldEvent | CacheEntryValueFieldEvent | CacheEntryHlcFieldEvent | CacheEntryOriginFieldEvent | CacheEntryTtlSecondsFieldEvent | CacheEntryTombstoneFieldEvent | CacheEntrySignatureFieldEvent> {
    return streamMessage(buf, CacheEntry.codec(), opts)
  }
}

export enum RangeMode {
  SKIP = 'SKIP',
  FINGERPRINT = 'FINGERPRINT',
  ITEMS = 'ITEMS',
  NEED = 'NEED'
}

enum __RangeModeValues {
  SKIP = 0,
  FINGERPRINT = 1,
  ITEMS = 2,
  NEED = 3
}

export namespace RangeMode {
  export const codec = (): Codec<RangeMode> => {
    return enumeration<RangeMode>(__RangeModeValues)
  }
}

export interface SyncRange {
  mode: RangeMode
  upper?: string
  fingerprint: Uint8Array<ArrayBuffer>
  count: number
  data: Uint8Array<ArrayBuffer>
}

export namespace SyncRange {
  let _codec: Codec<SyncRange>

  export const codec = (): Codec<SyncRange> => {
    if (_codec == null) {
      _codec = message<SyncRange>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.mode != null && __RangeModeValues[obj.mode] !== 0) {
          w.uint32(8)
          RangeMode.codec().encode(obj.mode, w)
        }

        if (obj.upper != null) {
          w.uint32(18)
          w.string(obj.upper)
        }

        if ((obj.fingerprint != null && obj.fingerprint.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.fingerprint)
        }

        if ((obj.count != null && obj.count !== 0)) {
          w.uint32(32)
          w.uint32(obj.count)
        }

        if ((obj.data != null && obj.data.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.data)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          mode: RangeMode.SKIP,
          fingerprint: uint8ArrayAlloc(0),
          count: 0,
          data: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.mode = RangeMode.codec().decode(reader)
              break
            }
            case 2: {
              obj.upper = reader.string()
              break
            }
            case 3: {
              obj.fingerprint = reader.bytes()
              break
            }
            case 4: {
              obj.count = reader.uint32()
              break
            }
            case 5: {
              obj.data = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.mode`,
                value: RangeMode.codec().decode(reader)
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.upper`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.fingerprint`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.count`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.data`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface SyncRangeModeFieldEvent {
    field: '$.mode'
    value: RangeMode
  }

  export interface SyncRangeUpperFieldEvent {
    field: '$.upper'
    value: string
  }

  export interface SyncRangeFingerprintFieldEvent {
    field: '$.fingerprint'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SyncRangeCountFieldEvent {
    field: '$.count'
    value: number
  }

  export interface SyncRangeDataFieldEvent {
    field: '$.data'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<SyncRange>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SyncRange.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncRange>): SyncRange {
    return decodeMessage(buf, SyncRange.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncRange>): Generator<SyncRangeModeFieldEvent | SyncRangeUpperFieldEvent | SyncRangeFingerprintFieldEvent | SyncRangeCountFieldEvent | SyncRangeDataFieldEvent> {
    return streamMessage(buf, SyncRange.codec(), opts)
  }
}

export enum SyncType {
  RECONCILE = 'RECONCILE',
  ENTRIES = 'ENTRIES',
  GET = 'GET',
  FOUND = 'FOUND',
  DONE = 'DONE'
}

enum __SyncTypeValues {
  RECONCILE = 0,
  ENTRIES = 1,
  GET = 2,
  FOUND = 3,
  DONE = 4
}

export namespace SyncType {
  export const codec = (): Codec<SyncType> => {
    return enumeration<SyncType>(__SyncTypeValues)
  }
}

export interface SyncMessage {
  type: SyncType
  ranges: SyncRange[]
  entries: Uint8Array<ArrayBuffer>[]
  key: string
  horizonMs: number
}

export namespace SyncMessage {
  let _codec: Codec<SyncMessage>

  export const codec = (): Codec<SyncMessage> => {
    if (_codec == null) {
      _codec = message<SyncMessage>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.type != null && __SyncTypeValues[obj.type] !== 0) {
          w.uint32(8)
          SyncType.codec().encode(obj.type, w)
        }

        if (obj.ranges != null && obj.ranges.length > 0) {
          for (const value of obj.ranges) {
            w.uint32(18)
            SyncRange.codec().encode(value, w)
          }
        }

        if (obj.entries != null && obj.entries.length > 0) {
          for (const value of obj.entries) {
            w.uint32(26)
            w.bytes(value)
          }
        }

        if ((obj.key != null && obj.key !== '')) {
          w.uint32(34)
          w.string(obj.key)
        }

        if ((obj.horizonMs != null && obj.horizonMs !== 0)) {
          w.uint32(40)
          w.uint64Number(obj.horizonMs)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          type: SyncType.RECONCILE,
          ranges: [],
          entries: [],
          key: '',
          horizonMs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.type = SyncType.codec().decode(reader)
              break
            }
            case 2: {
              if (opts.limits?.ranges != null && obj.ranges.length === opts.limits.ranges) {
                throw new MaxLengthError('Decode error - repeated field "ranges" had too many elements')
              }

              if (obj.ranges.length === 4096) {
                throw new MaxLengthError('Decode error - repeated field "ranges" had too many elements')
              }

              obj.ranges.push(SyncRange.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.ranges$
              }))
              break
            }
            case 3: {
              if (opts.limits?.entries != null && obj.entries.length === opts.limits.entries) {
                throw new MaxLengthError('Decode error - repeated field "entries" had too many elements')
              }

              if (obj.entries.length === 1024) {
                throw new MaxLengthError('Decode error - repeated field "entries" had too many elements')
              }

              obj.entries.push(reader.bytes())
              break
            }
            case 4: {
              obj.key = reader.string()
              break
            }
            case 5: {
              obj.horizonMs = reader.uint64Number()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          ranges: 4096,
          entries: 1024
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.type`,
                value: SyncType.codec().decode(reader)
              }
              break
            }
            case 2: {
              if (opts.limits?.ranges != null && obj.ranges === opts.limits.ranges) {
                throw new MaxLengthError('Streaming decode error - repeated field "ranges" had too many elements')
              }

              if (obj.ranges === 4096) {
                throw new MaxLengthError('Streaming decode error - repeated field "ranges" had too many elements')
              }

              for (const evt of SyncRange.codec().stream(reader, reader.uint32(), `${prefix}.ranges[]`, {
                limits: opts.limits?.ranges$
              })) {
                yield {
                  ...evt,
                  index: obj.ranges
                }
              }

              obj.ranges++

              break
            }
            case 3: {
              if (opts.limits?.entries != null && obj.entries === opts.limits.entries) {
                throw new MaxLengthError('Streaming decode error - repeated field "entries" had too many elements')
              }

              if (obj.entries === 1024) {
                throw new MaxLengthError('Streaming decode error - repeated field "entries" had too many elements')
              }

              yield {
                field: `${prefix}.entries[]`,
                index: obj.entries,
                value: reader.bytes()
              }

              obj.entries++

              break
            }
            case 4: {
              yield {
                field: `${prefix}.key`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.horizonMs`,
                value: reader.uint64Number()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface SyncMessageTypeFieldEvent {
    field: '$.type'
    value: SyncType
  }

  export interface SyncMessageRangesModeFieldEvent {
    field: '$.ranges[].mode'
    value: RangeMode
    index: number
  }

  export interface SyncMessageRangesUpperFieldEvent {
    field: '$.ranges[].upper'
    value: string
    index: number
  }

  export interface SyncMessageRangesFingerprintFieldEvent {
    field: '$.ranges[].fingerprint'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface SyncMessageRangesCountFieldEvent {
    field: '$.ranges[].count'
    value: number
    index: number
  }

  export interface SyncMessageRangesDataFieldEvent {
    field: '$.ranges[].data'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface SyncMessageEntriesFieldEvent {
    field: '$.entries[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface SyncMessageKeyFieldEvent {
    field: '$.key'
    value: string
  }

  export interface SyncMessageHorizonMsFieldEvent {
    field: '$.horizonMs'
    value: number
  }

  export function encode (obj: Partial<SyncMessage>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SyncMessage.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncMessage>): SyncMessage {
    return decodeMessage(buf, SyncMessage.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncMessage>): Generator<SyncMessageTypeFieldEvent | SyncMessageRangesModeFieldEvent | SyncMessageRangesUpperFieldEvent | SyncMessageRangesFingerprintFieldEvent | SyncMessageRangesCountFieldEvent | SyncMessageRangesDataFieldEvent | SyncMessageEntriesFieldEvent | SyncMessageKeyFieldEvent | SyncMessageHorizonMsFieldEvent> {
    return streamMessage(buf, SyncMessage.codec(), opts)
  }
}
