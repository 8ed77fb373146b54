/* eslint-disable */
// Generated from protocols/capacity.proto by scripts/gen-protos.mjs. Do not edit.
import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface Coordinate {
  vec: number[]
  height: number
  error: number
  adjustment: number
}

export namespace Coordinate {
  let _codec: Codec<Coordinate>

  export const codec = (): Codec<Coordinate> => {
    if (_codec == null) {
      _codec = message<Coordinate>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.vec != null && obj.vec.length > 0) {
          for (const value of obj.vec) {
            w.uint32(9)
            w.double(value)
          }
        }

        if ((obj.height != null && obj.height !== 0)) {
          w.uint32(17)
          w.double(obj.height)
        }

        if ((obj.error != null && obj.error !== 0)) {
          w.uint32(25)
          w.double(obj.error)
        }

        if ((obj.adjustment != null && obj.adjustment !== 0)) {
          w.uint32(33)
          w.double(obj.adjustment)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          vec: [],
          height: 0,
          error: 0,
          adjustment: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.vec != null && obj.vec.length === opts.limits.vec) {
                throw new MaxLengthError('Decode error - repeated field "vec" had too many elements')
              }

              if (obj.vec.length === 16) {
                throw new MaxLengthError('Decode error - repeated field "vec" had too many elements')
              }

              obj.vec.push(reader.double())
              break
            }
            case 2: {
              obj.height = reader.double()
              break
            }
            case 3: {
              obj.error = reader.double()
              break
            }
            case 4: {
              obj.adjustment = reader.double()
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
          vec: 16
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.vec != null && obj.vec === opts.limits.vec) {
                throw new MaxLengthError('Streaming decode error - repeated field "vec" had too many elements')
              }

              if (obj.vec === 16) {
                throw new MaxLengthError('Streaming decode error - repeated field "vec" had too many elements')
              }

              yield {
                field: `${prefix}.vec[]`,
                index: obj.vec,
                value: reader.double()
              }

              obj.vec++

              break
            }
            case 2: {
              yield {
                field: `${prefix}.height`,
                value: reader.double()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.error`,
                value: reader.double()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.adjustment`,
                value: reader.double()
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

  export interface CoordinateVecFieldEvent {
    field: '$.vec[]'
    index: number
    value: number
  }

  export interface CoordinateHeightFieldEvent {
    field: '$.height'
    value: number
  }

  export interface CoordinateErrorFieldEvent {
    field: '$.error'
    value: number
  }

  export interface CoordinateAdjustmentFieldEvent {
    field: '$.adjustment'
    value: number
  }

  export function encode (obj: Partial<Coordinate>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Coordinate.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Coordinate>): Coordinate {
    return decodeMessage(buf, Coordinate.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Coordinate>): Generator<CoordinateVecFieldEvent | CoordinateHeightFieldEvent | CoordinateErrorFieldEvent | CoordinateAdjustmentFieldEvent> {
    return streamMessage(buf, Coordinate.codec(), opts)
  }
}

export interface KindStat {
  kind: string
  meanRunMs: number
}

export namespace KindStat {
  let _codec: Codec<KindStat>

  export const codec = (): Codec<KindStat> => {
    if (_codec == null) {
      _codec = message<KindStat>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.kind != null && obj.kind !== '')) {
          w.uint32(10)
          w.string(obj.kind)
        }

        if ((obj.meanRunMs != null && obj.meanRunMs !== 0)) {
          w.uint32(16)
          w.uint32(obj.meanRunMs)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          kind: '',
          meanRunMs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.kind = reader.string()
              break
            }
            case 2: {
              obj.meanRunMs = reader.uint32()
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
                field: `${prefix}.kind`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.meanRunMs`,
                value: reader.uint32()
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

  export interface KindStatKindFieldEvent {
    field: '$.kind'
    value: string
  }

  export interface KindStatMeanRunMsFieldEvent {
    field: '$.meanRunMs'
    value: number
  }

  export function encode (obj: Partial<KindStat>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, KindStat.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<KindStat>): KindStat {
    return decodeMessage(buf, KindStat.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<KindStat>): Generator<KindStatKindFieldEvent | KindStatMeanRunMsFieldEvent> {
    return streamMessage(buf, KindStat.codec(), opts)
  }
}

export interface CapacityAd {
  seq: number
  name: string
  cores: number
  freeMemoryMb: number
  load: number
  queueDepth: number
  running: number
  concurrency: number
  queueLimit: number
  kinds: string[]
  coordinate?: Coordinate
  stats: KindStat[]
  intervalMs: number
  addrs: Uint8Array<ArrayBuffer>[]
  wallMs: number
  servingReason: string
  paused: boolean
  firstFreeMs: number
}

export namespace CapacityAd {
  let _codec: Codec<CapacityAd>

  export const codec = (): Codec<CapacityAd> => {
    if (_codec == null) {
      _codec = message<CapacityAd>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.seq != null && obj.seq !== 0)) {
          w.uint32(8)
          w.uint64Number(obj.seq)
        }

        if ((obj.name != null && obj.name !== '')) {
          w.uint32(18)
          w.string(obj.name)
        }

        if ((obj.cores != null && obj.cores !== 0)) {
          w.uint32(24)
          w.uint32(obj.cores)
        }

        if ((obj.freeMemoryMb != null && obj.freeMemoryMb !== 0)) {
          w.uint32(32)
          w.uint32(obj.freeMemoryMb)
        }

        if ((obj.load != null && obj.load !== 0)) {
          w.uint32(45)
          w.float(obj.load)
        }

        if ((obj.queueDepth != null && obj.queueDepth !== 0)) {
          w.uint32(48)
          w.uint32(obj.queueDepth)
        }

        if ((obj.running != null && obj.running !== 0)) {
          w.uint32(56)
          w.uint32(obj.running)
        }

        if ((obj.concurrency != null && obj.concurrency !== 0)) {
          w.uint32(64)
          w.uint32(obj.concurrency)
        }

        if ((obj.queueLimit != null && obj.queueLimit !== 0)) {
          w.uint32(72)
          w.uint32(obj.queueLimit)
        }

        if (obj.kinds != null && obj.kinds.length > 0) {
          for (const value of obj.kinds) {
            w.uint32(82)
            w.string(value)
          }
        }

        if (obj.coordinate != null) {
          w.uint32(90)
          Coordinate.codec().encode(obj.coordinate, w)
        }

        if (obj.stats != null && obj.stats.length > 0) {
          for (const value of obj.stats) {
            w.uint32(98)
            KindStat.codec().encode(value, w)
          }
        }

        if ((obj.intervalMs != null && obj.intervalMs !== 0)) {
          w.uint32(104)
          w.uint32(obj.intervalMs)
        }

        if (obj.addrs != null && obj.addrs.length > 0) {
          for (const value of obj.addrs) {
            w.uint32(114)
            w.bytes(value)
          }
        }

        if ((obj.wallMs != null && obj.wallMs !== 0)) {
          w.uint32(120)
          w.uint64Number(obj.wallMs)
        }

        if ((obj.servingReason != null && obj.servingReason !== '')) {
          w.uint32(130)
          w.string(obj.servingReason)
        }

        if ((obj.paused != null && obj.paused !== false)) {
          w.uint32(136)
          w.bool(obj.paused)
        }

        if ((obj.firstFreeMs != null && obj.firstFreeMs !== 0)) {
          w.uint32(144)
          w.uint32(obj.firstFreeMs)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          seq: 0,
          name: '',
          cores: 0,
          freeMemoryMb: 0,
          load: 0,
          queueDepth: 0,
          running: 0,
          concurrency: 0,
          queueLimit: 0,
          kinds: [],
          stats: [],
          intervalMs: 0,
          addrs: [],
          wallMs: 0,
          servingReason: '',
          paused: false,
          firstFreeMs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.seq = reader.uint64Number()
              break
            }
            case 2: {
              obj.name = reader.string()
              break
            }
            case 3: {
              obj.cores = reader.uint32()
              break
            }
            case 4: {
              obj.freeMemoryMb = reader.uint32()
              break
            }
            case 5: {
              obj.load = reader.float()
              break
            }
            case 6: {
              obj.queueDepth = reader.uint32()
              break
            }
            case 7: {
              obj.running = reader.uint32()
              break
            }
            case 8: {
              obj.concurrency = reader.uint32()
              break
            }
            case 9: {
              obj.queueLimit = reader.uint32()
              break
            }
            case 10: {
              if (opts.limits?.kinds != null && obj.kinds.length === opts.limits.kinds) {
                throw new MaxLengthError('Decode error - repeated field "kinds" had too many elements')
              }

              if (obj.kinds.length === 64) {
                throw new MaxLengthError('Decode error - repeated field "kinds" had too many elements')
              }

              obj.kinds.push(reader.string())
              break
            }
            case 11: {
              obj.coordinate = Coordinate.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.coordinate
              })
              break
            }
            case 12: {
              if (opts.limits?.stats != null && obj.stats.length === opts.limits.stats) {
                throw new MaxLengthError('Decode error - repeated field "stats" had too many elements')
              }

              if (obj.stats.length === 64) {
                throw new MaxLengthError('Decode error - repeated field "stats" had too many elements')
              }

              obj.stats.push(KindStat.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.stats$
              }))
              break
            }
            case 13: {
              obj.intervalMs = reader.uint32()
              break
            }
            case 14: {
              if (opts.limits?.addrs != null && obj.addrs.length === opts.limits.addrs) {
                throw new MaxLengthError('Decode error - repeated field "addrs" had too many elements')
              }

              if (obj.addrs.length === 8) {
                throw new MaxLengthError('Decode error - repeated field "addrs" had too many elements')
              }

              obj.addrs.push(reader.bytes())
              break
            }
            case 15: {
              obj.wallMs = reader.uint64Number()
              break
            }
            case 16: {
              obj.servingReason = reader.string()
              break
            }
            case 17: {
              obj.paused = reader.bool()
              break
            }
            case 18: {
              obj.firstFreeMs = reader.uint32()
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
          kinds: 64,
          stats: 64,
          addrs: 8
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.seq`,
                value: reader.uint64Number()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.name`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.cores`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.freeMemoryMb`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.load`,
                value: reader.float()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.queueDepth`,
                value: reader.uint32()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.running`,
                value: reader.uint32()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.concurrency`,
                value: reader.uint32()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.queueLimit`,
                value: reader.uint32()
              }
              break
            }
            case 10: {
              if (opts.limits?.kinds != null && obj.kinds === opts.limits.kinds) {
                throw new MaxLengthError('Streaming decode error - repeated field "kinds" had too many elements')
              }

              if (obj.kinds === 64) {
                throw new MaxLengthError('Streaming decode error - repeated field "kinds" had too many elements')
              }

              yield {
                field: `${prefix}.kinds[]`,
                index: obj.kinds,
                value: reader.string()
              }

              obj.kinds++

              break
            }
            case 11: {
              yield * Coordinate.codec().stream(reader, reader.uint32(), `${prefix}.coordinate`, {
                limits: opts.limits?.coordinate
              })

              break
            }
            case 12: {
              if (opts.limits?.stats != null && obj.stats === opts.limits.stats) {
                throw new MaxLengthError('Streaming decode error - repeated field "stats" had too many elements')
              }

              if (obj.stats === 64) {
                throw new MaxLengthError('Streaming decode error - repeated field "stats" had too many elements')
              }

              for (const evt of KindStat.codec().stream(reader, reader.uint32(), `${prefix}.stats[]`, {
                limits: opts.limits?.stats$
              })) {
                yield {
                  ...evt,
                  index: obj.stats
                }
              }

              obj.stats++

              break
            }
            case 13: {
              yield {
                field: `${prefix}.intervalMs`,
                value: reader.uint32()
              }
              break
            }
            case 14: {
              if (opts.limits?.addrs != null && obj.addrs === opts.limits.addrs) {
                throw new MaxLengthError('Streaming decode error - repeated field "addrs" had too many elements')
              }

              if (obj.addrs === 8) {
                throw new MaxLengthError('Streaming decode error - repeated field "addrs" had too many elements')
              }

              yield {
                field: `${prefix}.addrs[]`,
                index: obj.addrs,
                value: reader.bytes()
              }

              obj.addrs++

              break
            }
            case 15: {
              yield {
                field: `${prefix}.wallMs`,
                value: reader.uint64Number()
              }
              break
            }
            case 16: {
              yield {
                field: `${prefix}.servingReason`,
                value: reader.string()
              }
              break
            }
            case 17: {
              yield {
                field: `${prefix}.paused`,
                value: reader.bool()
              }
              break
            }
            case 18: {
              yield {
                field: `${prefix}.firstFreeMs`,
                value: reader.uint32()
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

  export interface CapacityAdSeqFieldEvent {
    field: '$.seq'
    value: number
  }

  export interface CapacityAdNameFieldEvent {
    field: '$.name'
    value: string
  }

  export interface CapacityAdCoresFieldEvent {
    field: '$.cores'
    value: number
  }

  export interface CapacityAdFreeMemoryMbFieldEvent {
    field: '$.freeMemoryMb'
    value: number
  }

  export interface CapacityAdLoadFieldEvent {
    field: '$.load'
    value: number
  }

  export interface CapacityAdQueueDepthFieldEvent {
    field: '$.queueDepth'
    value: number
  }

  export interface CapacityAdRunningFieldEvent {
    field: '$.running'
    value: number
  }

  export interface CapacityAdConcurrencyFieldEvent {
    field: '$.concurrency'
    value: number
  }

  export interface CapacityAdQueueLimitFieldEvent {
    field: '$.queueLimit'
    value: number
  }

  export interface CapacityAdKindsFieldEvent {
    field: '$.kinds[]'
    index: number
    value: string
  }

  export interface CapacityAdCoordinateVecFieldEvent {
    field: '$.coordinate.vec[]'
    index: number
    value: number
  }

  export interface CapacityAdCoordinateHeightFieldEvent {
    field: '$.coordinate.height'
    value: number
  }

  export interface CapacityAdCoordinateErrorFieldEvent {
    field: '$.coordinate.error'
    value: number
  }

  export interface CapacityAdCoordinateAdjustmentFieldEvent {
    field: '$.coordinate.adjustment'
    value: number
  }

  export interface CapacityAdStatsKindFieldEvent {
    field: '$.stats[].kind'
    value: string
    index: number
  }

  export interface CapacityAdStatsMeanRunMsFieldEvent {
    field: '$.stats[].meanRunMs'
    value: number
    index: number
  }

  export interface CapacityAdIntervalMsFieldEvent {
    field: '$.intervalMs'
    value: number
  }

  export interface CapacityAdAddrsFieldEvent {
    field: '$.addrs[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface CapacityAdWallMsFieldEvent {
    field: '$.wallMs'
    value: number
  }

  export interface CapacityAdServingReasonFieldEvent {
    field: '$.servingReason'
    value: string
  }

  export interface CapacityAdPausedFieldEvent {
    field: '$.paused'
    value: boolean
  }

  export interface CapacityAdFirstFreeMsFieldEvent {
    field: '$.firstFreeMs'
    value: number
  }

  export function encode (obj: Partial<CapacityAd>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, CapacityAd.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CapacityAd>): CapacityAd {
    return decodeMessage(buf, CapacityAd.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CapacityAd>): Generator<CapacityAdSeqFieldEvent | CapacityAdNameFieldEvent | CapacityAdCoresFieldEvent | CapacityAdFreeMemoryMbFieldEvent | CapacityAdLoadFieldEvent | CapacityAdQueueDepthFieldEvent | CapacityAdRunningFieldEvent | CapacityAdConcurrencyFieldEvent | CapacityAdQueueLimitFieldEvent | CapacityAdKindsFieldEvent | CapacityAdCoordinateVecFieldEvent | CapacityAdCoordinateHeightFieldEvent | CapacityAdCoordinateErrorFieldEvent | CapacityAdCoordinateAdjustmentFieldEvent | CapacityAdStatsKindFieldEvent | CapacityAdStatsMeanRunMsFieldEvent | CapacityAdIntervalMsFieldEvent | CapacityAdAddrsFieldEvent | CapacityAdWallMsFieldEvent | CapacityAdServingReasonFieldEvent | CapacityAdPausedFieldEvent | CapacityAdFirstFreeMsFieldEvent> {
    return streamMessage(buf, CapacityAd.codec(), opts)
  }
}
