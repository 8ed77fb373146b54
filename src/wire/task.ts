/* eslint-disable */
// Generated from protocols/task.proto by scripts/gen-protos.mjs. Do not edit.
import { decodeMessage, encodeMessage, enumeration, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export enum FrameType {
  REQUEST = 'REQUEST',
  RESULT = 'RESULT',
  CANCEL = 'CANCEL',
  RESERVE = 'RESERVE',
  READY = 'READY',
  BIND = 'BIND',
  STARTED = 'STARTED'
}

enum __FrameTypeValues {
  REQUEST = 0,
  RESULT = 1,
  CANCEL = 2,
  RESERVE = 3,
  READY = 4,
  BIND = 5,
  STARTED = 6
}

export namespace FrameType {
  export const codec = (): Codec<FrameType> => {
    return enumeration<FrameType>(__FrameTypeValues)
  }
}

export enum ErrorCode {
  NONE = 'NONE',
  KIND_NOT_SERVED = 'KIND_NOT_SERVED',
  QUEUE_FULL = 'QUEUE_FULL',
  INPUT_TOO_LARGE = 'INPUT_TOO_LARGE',
  BAD_INPUT = 'BAD_INPUT',
  TIMED_OUT = 'TIMED_OUT',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
  SHUTTING_DOWN = 'SHUTTING_DOWN',
  MALFORMED = 'MALFORMED',
  OUTPUT_TOO_LARGE = 'OUTPUT_TOO_LARGE',
  BUSY = 'BUSY',
  INTERRUPTED = 'INTERRUPTED',
  FORBIDDEN = 'FORBIDDEN',
  RESULT_DISPUTED = 'RESULT_DISPUTED'
}

enum __ErrorCodeValues {
  NONE = 0,
  KIND_NOT_SERVED = 1,
  QUEUE_FULL = 2,
  INPUT_TOO_LARGE = 3,
  BAD_INPUT = 4,
  TIMED_OUT = 5,
  FAILED = 6,
  CANCELLED = 7,
  SHUTTING_DOWN = 8,
  MALFORMED = 9,
  OUTPUT_TOO_LARGE = 10,
  BUSY = 11,
  INTERRUPTED = 12,
  FORBIDDEN = 13,
  RESULT_DISPUTED = 14
}

export namespace ErrorCode {
  export const codec = (): Codec<ErrorCode> => {
    return enumeration<ErrorCode>(__ErrorCodeValues)
  }
}

export interface TaskRequest {
  taskId: string
  kind: string
  input: Uint8Array<ArrayBuffer>
  deadlineMs: number
  attempt: number
  maxWaitMs: number
  expectedRunMs: number
  ageMs: number
  priority: number
}

export namespace TaskRequest {
  let _codec: Codec<TaskRequest>

  export const codec = (): Codec<TaskRequest> => {
    if (_codec == null) {
      _codec = message<TaskRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.taskId != null && obj.taskId !== '')) {
          w.uint32(10)
          w.string(obj.taskId)
        }

        if ((obj.kind != null && obj.kind !== '')) {
          w.uint32(18)
          w.string(obj.kind)
        }

        if ((obj.input != null && obj.input.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.input)
        }

        if ((obj.deadlineMs != null && obj.deadlineMs !== 0)) {
          w.uint32(32)
          w.uint32(obj.deadlineMs)
        }

        if ((obj.attempt != null && obj.attempt !== 0)) {
          w.uint32(40)
          w.uint32(obj.attempt)
        }

        if ((obj.maxWaitMs != null && obj.maxWaitMs !== 0)) {
          w.uint32(48)
          w.uint32(obj.maxWaitMs)
        }

        if ((obj.expectedRunMs != null && obj.expectedRunMs !== 0)) {
          w.uint32(56)
          w.uint32(obj.expectedRunMs)
        }

        if ((obj.ageMs != null && obj.ageMs !== 0)) {
          w.uint32(64)
          w.uint32(obj.ageMs)
        }

        if ((obj.priority != null && obj.priority !== 0)) {
          w.uint32(72)
          w.uint32(obj.priority)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          taskId: '',
          kind: '',
          input: uint8ArrayAlloc(0),
          deadlineMs: 0,
          attempt: 0,
          maxWaitMs: 0,
          expectedRunMs: 0,
          ageMs: 0,
          priority: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.taskId = reader.string()
              break
            }
            case 2: {
              obj.kind = reader.string()
              break
            }
            case 3: {
              obj.input = reader.bytes()
              break
            }
            case 4: {
              obj.deadlineMs = reader.uint32()
              break
            }
            case 5: {
              obj.attempt = reader.uint32()
              break
            }
            case 6: {
              obj.maxWaitMs = reader.uint32()
              break
            }
            case 7: {
              obj.expectedRunMs = reader.uint32()
              break
            }
            case 8: {
              obj.ageMs = reader.uint32()
              break
            }
            case 9: {
              obj.priority = reader.uint32()
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
                field: `${prefix}.taskId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.kind`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.input`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.deadlineMs`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.attempt`,
                value: reader.uint32()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.maxWaitMs`,
                value: reader.uint32()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.expectedRunMs`,
                value: reader.uint32()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.ageMs`,
                value: reader.uint32()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.priority`,
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

  export interface TaskRequestTaskIdFieldEvent {
    field: '$.taskId'
    value: string
  }

  export interface TaskRequestKindFieldEvent {
    field: '$.kind'
    value: string
  }

  export interface TaskRequestInputFieldEvent {
    field: '$.input'
    value: Uint8Array<ArrayBuffer>
  }

  export interface TaskRequestDeadlineMsFieldEvent {
    field: '$.deadlineMs'
    value: number
  }

  export interface TaskRequestAttemptFieldEvent {
    field: '$.attempt'
    value: number
  }

  export interface TaskRequestMaxWaitMsFieldEvent {
    field: '$.maxWaitMs'
    value: number
  }

  export interface TaskRequestExpectedRunMsFieldEvent {
    field: '$.expectedRunMs'
    value: number
  }

  export interface TaskRequestAgeMsFieldEvent {
    field: '$.ageMs'
    value: number
  }

  export interface TaskRequestPriorityFieldEvent {
    field: '$.priority'
    value: number
  }

  export function encode (obj: Partial<TaskRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, TaskRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskRequest>): TaskRequest {
    return decodeMessage(buf, TaskRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskRequest>): Generator<TaskRequestTaskIdFieldEvent | TaskRequestKindFieldEvent | TaskRequestInputFieldEvent | TaskRequestDeadlineMsFieldEvent | TaskRequestAttemptFieldEvent | TaskRequestMaxWaitMsFieldEvent | TaskRequestExpectedRunMsFieldEvent | TaskRequestAgeMsFieldEvent | TaskRequestPriorityFieldEvent> {
    return streamMessage(buf, TaskRequest.codec(), opts)
  }
}

export interface TaskResult {
  taskId: string
  error: ErrorCode
  output: Uint8Array<ArrayBuffer>
  message: string
  queuedMs: number
  runMs: number
  deduped: boolean
  receipt: Uint8Array<ArrayBuffer>
  receiptAt: number
}

export namespace TaskResult {
  let _codec: Codec<TaskResult>

  export const codec = (): Codec<TaskResult> => {
    if (_codec == null) {
      _codec = message<TaskResult>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.taskId != null && obj.taskId !== '')) {
          w.uint32(10)
          w.string(obj.taskId)
        }

        if (obj.error != null && __ErrorCodeValues[obj.error] !== 0) {
          w.uint32(16)
          ErrorCode.codec().encode(obj.error, w)
        }

        if ((obj.output != null && obj.output.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.output)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(34)
          w.string(obj.message)
        }

        if ((obj.queuedMs != null && obj.queuedMs !== 0)) {
          w.uint32(40)
          w.uint32(obj.queuedMs)
        }

        if ((obj.runMs != null && obj.runMs !== 0)) {
          w.uint32(48)
          w.uint32(obj.runMs)
        }

        if ((obj.deduped != null && obj.deduped !== false)) {
          w.uint32(56)
          w.bool(obj.deduped)
        }

        if ((obj.receipt != null && obj.receipt.byteLength > 0)) {
          w.uint32(66)
          w.bytes(obj.receipt)
        }

        if ((obj.receiptAt != null && obj.receiptAt !== 0)) {
          w.uint32(72)
          w.uint32(obj.receiptAt)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          taskId: '',
          error: ErrorCode.NONE,
          output: uint8ArrayAlloc(0),
          message: '',
          queuedMs: 0,
          runMs: 0,
          deduped: false,
          receipt: uint8ArrayAlloc(0),
          receiptAt: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.taskId = reader.string()
              break
            }
            case 2: {
              obj.error = ErrorCode.codec().decode(reader)
              break
            }
            case 3: {
              obj.output = reader.bytes()
              break
            }
            case 4: {
              obj.message = reader.string()
              break
            }
            case 5: {
              obj.queuedMs = reader.uint32()
              break
            }
            case 6: {
              obj.runMs = reader.uint32()
              break
            }
            case 7: {
              obj.deduped = reader.bool()
              break
            }
            case 8: {
              obj.receipt = reader.bytes()
              break
            }
            case 9: {
              obj.receiptAt = reader.uint32()
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
                field: `${prefix}.taskId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.error`,
                value: ErrorCode.codec().decode(reader)
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.output`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.message`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.queuedMs`,
                value: reader.uint32()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.runMs`,
                value: reader.uint32()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.deduped`,
                value: reader.bool()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.receipt`,
                value: reader.bytes()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.receiptAt`,
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

  export interface TaskResultTaskIdFieldEvent {
    field: '$.taskId'
    value: string
  }

  export interface TaskResultErrorFieldEvent {
    field: '$.error'
    value: ErrorCode
  }

  export interface TaskResultOutputFieldEvent {
    field: '$.output'
    value: Uint8Array<ArrayBuffer>
  }

  export interface TaskResultMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export interface TaskResultQueuedMsFieldEvent {
    field: '$.queuedMs'
    value: number
  }

  export interface TaskResultRunMsFieldEvent {
    field: '$.runMs'
    value: number
  }

  export interface TaskResultDedupedFieldEvent {
    field: '$.deduped'
    value: boolean
  }

  export interface TaskResultReceiptFieldEvent {
    field: '$.receipt'
    value: Uint8Array<ArrayBuffer>
  }

  export interface TaskResultReceiptAtFieldEvent {
    field: '$.receiptAt'
    value: number
  }

  export function encode (obj: Partial<TaskResult>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, TaskResult.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskResult>): TaskResult {
    return decodeMessage(buf, TaskResult.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskResult>): Generator<TaskResultTaskIdFieldEvent | TaskResultErrorFieldEvent | TaskResultOutputFieldEvent | TaskResultMessageFieldEvent | TaskResultQueuedMsFieldEvent | TaskResultRunMsFieldEvent | TaskResultDedupedFieldEvent | TaskResultReceiptFieldEvent | TaskResultReceiptAtFieldEvent> {
    return streamMessage(buf, TaskResult.codec(), opts)
  }
}

export interface TaskFrame {
  type: FrameType
  id: number
  request?: TaskRequest
  result?: TaskResult
  kind: string
  taskId: string
  reservation: number
  priority: number
  stop: boolean
}

export namespace TaskFrame {
  let _codec: Codec<TaskFrame>

  export const codec = (): Codec<TaskFrame> => {
    if (_codec == null) {
      _codec = message<TaskFrame>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.type != null && __FrameTypeValues[obj.type] !== 0) {
          w.uint32(8)
          FrameType.codec().encode(obj.type, w)
        }

        if ((obj.id != null && obj.id !== 0)) {
          w.uint32(16)
          w.uint32(obj.id)
        }

        if (obj.request != null) {
          w.uint32(26)
          TaskRequest.codec().encode(obj.request, w)
        }

        if (obj.result != null) {
          w.uint32(34)
          TaskResult.codec().encode(obj.result, w)
        }

        if ((obj.kind != null && obj.kind !== '')) {
          w.uint32(42)
          w.string(obj.kind)
        }

        if ((obj.taskId != null && obj.taskId !== '')) {
          w.uint32(50)
          w.string(obj.taskId)
        }

        if ((obj.reservation != null && obj.reservation !== 0)) {
          w.uint32(56)
          w.uint32(obj.reservation)
        }

        if ((obj.priority != null && obj.priority !== 0)) {
          w.uint32(64)
          w.uint32(obj.priority)
        }

        if ((obj.stop != null && obj.stop !== false)) {
          w.uint32(72)
          w.bool(obj.stop)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          type: FrameType.REQUEST,
          id: 0,
          kind: '',
          taskId: '',
          reservation: 0,
          priority: 0,
          stop: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.type = FrameType.codec().decode(reader)
              break
            }
            case 2: {
              obj.id = reader.uint32()
              break
            }
            case 3: {
              obj.request = TaskRequest.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.request
              })
              break
            }
            case 4: {
              obj.result = TaskResult.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.result
              })
              break
            }
            case 5: {
              obj.kind = reader.string()
              break
            }
            case 6: {
              obj.taskId = reader.string()
              break
            }
            case 7: {
              obj.reservation = reader.uint32()
              break
            }
            case 8: {
              obj.priority = reader.uint32()
              break
            }
            case 9: {
              obj.stop = reader.bool()
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
                field: `${prefix}.type`,
                value: FrameType.codec().decode(reader)
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.id`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield * TaskRequest.codec().stream(reader, reader.uint32(), `${prefix}.request`, {
                limits: opts.limits?.request
              })

              break
            }
            case 4: {
              yield * TaskResult.codec().stream(reader, reader.uint32(), `${prefix}.result`, {
                limits: opts.limits?.result
              })

              break
            }
            case 5: {
              yield {
                field: `${prefix}.kind`,
                value: reader.string()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.taskId`,
                value: reader.string()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.reservation`,
                value: reader.uint32()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.priority`,
                value: reader.uint32()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.stop`,
                value: reader.bool()
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

  export interface TaskFrameTypeFieldEvent {
    field: '$.type'
    value: FrameType
  }

  export interface TaskFrameIdFieldEvent {
    field: '$.id'
    value: number
  }

  export interface TaskFrameRequestTaskIdFieldEvent {
    field: '$.request.taskId'
    value: string
  }

  export interface TaskFrameRequestKindFieldEvent {
    field: '$.request.kind'
    value: string
  }

  export interface TaskFrameRequestInputFieldEvent {
    field: '$.request.input'
    value: Uint8Array<ArrayBuffer>
  }

  export interface TaskFrameRequestDeadlineMsFieldEvent {
    field: '$.request.deadlineMs'
    value: number
  }

  export interface TaskFrameRequestAttemptFieldEvent {
    field: '$.request.attempt'
    value: number
  }

  export interface TaskFrameRequestMaxWaitMsFieldEvent {
    field: '$.request.maxWaitMs'
    value: number
  }

  export interface TaskFrameRequestExpectedRunMsFieldEvent {
    field: '$.request.expectedRunMs'
    value: number
  }

  export interface TaskFrameRequestAgeMsFieldEvent {
    field: '$.request.ageMs'
    value: number
  }

  export interface TaskFrameRequestPriorityFieldEvent {
    field: '$.request.priority'
    value: number
  }

  export interface TaskFrameResultTaskIdFieldEvent {
    field: '$.result.taskId'
    value: string
  }

  export interface TaskFrameResultErrorFieldEvent {
    field: '$.result.error'
    value: ErrorCode
  }

  export interface TaskFrameResultOutputFieldEvent {
    field: '$.result.output'
    value: Uint8Array<ArrayBuffer>
  }

  export interface TaskFrameResultMessageFieldEvent {
    field: '$.result.message'
    value: string
  }

  export interface TaskFrameResultQueuedMsFieldEvent {
    field: '$.result.queuedMs'
    value: number
  }

  export interface TaskFrameResultRunMsFieldEvent {
    field: '$.result.runMs'
    value: number
  }

  export interface TaskFrameResultDedupedFieldEvent {
    field: '$.result.deduped'
    value: boolean
  }

  export interface TaskFrameResultReceiptFieldEvent {
    field: '$.result.receipt'
    value: Uint8Array<ArrayBuffer>
  }

  export interface TaskFrameResultReceiptAtFieldEvent {
    field: '$.result.receiptAt'
    value: number
  }

  export interface TaskFrameKindFieldEvent {
    field: '$.kind'
    value: string
  }

  export interface TaskFrameTaskIdFieldEvent {
    field: '$.taskId'
    value: string
  }

  export interface TaskFrameReservationFieldEvent {
    field: '$.reservation'
    value: number
  }

  export interface TaskFramePriorityFieldEvent {
    field: '$.priority'
    value: number
  }

  export interface TaskFrameStopFieldEvent {
    field: '$.stop'
    value: boolean
  }

  export function encode (obj: Partial<TaskFrame>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, TaskFrame.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskFrame>): TaskFrame {
    return decodeMessage(buf, TaskFrame.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskFrame>): Generator<TaskFrameTypeFieldEvent | TaskFrameIdFieldEvent | TaskFrameRequestTaskIdFieldEvent | TaskFrameRequestKindFieldEvent | TaskFrameRequestInputFieldEvent | TaskFrameRequestDeadlineMsFieldEvent | TaskFrameRequestAttemptFieldEvent | TaskFrameRequestMaxWaitMsFieldEvent | TaskFrameRequestExpectedRunMsFieldEvent | TaskFrameRequestAgeMsFieldEvent | TaskFrameRequestPriorityFieldEvent | TaskFrameResultTaskIdFieldEvent | TaskFrameResultErrorFieldEvent | TaskFrameResultOutputFieldEvent | TaskFrameResultMessageFieldEvent | TaskFrameResultQueuedMsFieldEvent | TaskFrameResultRunMsFieldEvent | TaskFrameResultDedupedFieldEvent | TaskFrameResultReceiptFieldEvent | TaskFrameResultReceiptAtFieldEvent | TaskFrameKindFieldEvent | TaskFrameTaskIdFieldEvent | TaskFrameReservationFieldEvent | TaskFramePriorityFieldEvent | TaskFrameStopFieldEvent> {
    return streamMessage(buf, TaskFrame.codec(), opts)
  }
}
