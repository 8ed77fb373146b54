/** fast-check arbitraries and byte helpers shared by the task wire unit tests. */
import fc from 'fast-check'
import * as varint from 'uint8-varint'
import { ErrorCode, FrameType, TaskFrame, TaskRequest, TaskResult } from '../../src/wire/task.js'
import { MAX_ATTEMPTS_ON_WIRE, MAX_DEADLINE_MS, MESSAGE_MAX_LENGTH } from '../../src/services/tasks/frame-limits.js'

const uint32 = fc.integer({ min: 0, max: 0xffff_ffff })
/** Strings of valid code points (lone surrogates do not survive UTF-8, by design). */
const text = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: 'binary', maxLength })
export const arbTaskId = fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/)
export const arbKind = fc.stringMatching(/^[a-z][a-z0-9._-]{0,63}$/)
const payload = fc.uint8Array({ maxLength: 64 }).map(b => new Uint8Array(b) as Uint8Array<ArrayBuffer>)

/** What the decoder fills in for absent fields: added to generated values so that round trips
 * compare like with like, whatever fields the schema gains. */
const empty = new Uint8Array(0)

export const arbRequest: fc.Arbitrary<TaskRequest> = fc.record({
  taskId: arbTaskId,
  kind: arbKind,
  input: payload,
  deadlineMs: fc.integer({ min: 1, max: MAX_DEADLINE_MS }),
  attempt: fc.integer({ min: 0, max: MAX_ATTEMPTS_ON_WIRE }),
  maxWaitMs: uint32
}).map(r => ({ ...TaskRequest.decode(empty), ...r }))

export const arbResult: fc.Arbitrary<TaskResult> = fc.record({
  taskId: fc.string({ unit: 'binary-ascii', maxLength: 128 }),
  error: fc.constantFrom(...Object.values(ErrorCode).filter((v): v is ErrorCode => typeof v === 'string')),
  output: payload,
  message: text(MESSAGE_MAX_LENGTH / 4),
  queuedMs: uint32,
  runMs: uint32,
  deduped: fc.boolean()
}).map(r => ({ ...TaskResult.decode(empty), ...r }))

/** Frames `validateFrame` accepts, shaped as the decoder returns them (defaults filled in). */
export const arbValidFrame: fc.Arbitrary<TaskFrame> = fc.oneof(
  fc.record({ type: fc.constantFrom(FrameType.REQUEST, FrameType.BIND), id: uint32, request: arbRequest, kind: fc.constant(''), taskId: fc.constant('') }),
  fc.record({ type: fc.constant(FrameType.RESULT), id: uint32, result: arbResult, kind: fc.constant(''), taskId: fc.constant('') }),
  fc.record({ type: fc.constant(FrameType.RESERVE), id: uint32, kind: arbKind, taskId: arbTaskId }),
  fc.record({ type: fc.constantFrom(FrameType.READY, FrameType.CANCEL), id: uint32, kind: fc.constant(''), taskId: fc.constant('') })
).map(f => ({ ...TaskFrame.decode(empty), ...f }))

export function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.byteLength
  }
  return out
}

/** A varint length prefix followed by the body. */
export function lengthPrefixed (body: Uint8Array): Uint8Array {
  return concat(varint.encode(body.byteLength), body)
}
