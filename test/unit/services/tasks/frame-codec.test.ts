import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { FrameType, TaskFrame } from '../../../../src/wire/task.js'
import { MAX_ATTEMPTS_ON_WIRE, MAX_DEADLINE_MS, MESSAGE_MAX_LENGTH, frameLimitsFor, isValidKind, isValidTaskId, validateFrame } from '../../../../src/services/tasks/frame-limits.js'
import { arbRequest, arbResult, arbValidFrame } from '../../../helpers/unit-frames.js'
import { MAX_SIGNATURE_BYTES } from '../../../../src/services/tasks/receipt.js'
import type { TaskRequest, TaskResult } from '../../../../src/wire/task.js'

const limits = frameLimitsFor(1024)

/** A frame with every field the decoder would fill in, whatever the schema holds. */
const frame = (f: Partial<TaskFrame>): TaskFrame => ({ ...TaskFrame.decode(new Uint8Array(0)), ...f })

/** Decode like the channel does: any throw must be an Error (the channel wraps it). */
function decodeOrError (bytes: Uint8Array): TaskFrame | Error {
  try {
    return TaskFrame.decode(bytes)
  } catch (err) {
    if (!(err instanceof Error)) throw new Error(`decode threw a non-Error: ${String(err)}`)
    return err
  }
}

describe('TaskFrame codec and validateFrame', () => {
  it('decoding arbitrary bytes returns a frame or throws an Error, and validateFrame never throws', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), bytes => {
      const frame = decodeOrError(bytes)
      if (frame instanceof Error) return
      const problem = validateFrame(frame, limits)
      expect(problem === undefined || typeof problem === 'string').toBe(true)
    }), { numRuns: 10_000 })
  })

  it('the same holds for valid frames with bytes flipped, cut or inserted (deeper into the decoder)', () => {
    const mutation = fc.record({ at: fc.nat(), op: fc.constantFrom('flip', 'cut', 'insert'), byte: fc.integer({ min: 0, max: 255 }) })
    fc.assert(fc.property(arbValidFrame, fc.array(mutation, { minLength: 1, maxLength: 4 }), (frame, mutations) => {
      let bytes: Uint8Array = TaskFrame.encode(frame)
      for (const m of mutations) {
        const at = bytes.byteLength === 0 ? 0 : m.at % bytes.byteLength
        if (m.op === 'flip' && bytes.byteLength > 0) { bytes = bytes.slice(); bytes[at] ^= m.byte | 1 }
        if (m.op === 'cut') bytes = bytes.subarray(0, at)
        if (m.op === 'insert') bytes = new Uint8Array([...bytes.subarray(0, at), m.byte, ...bytes.subarray(at)])
      }
      const decoded = decodeOrError(bytes)
      if (!(decoded instanceof Error)) {
        const problem = validateFrame(decoded, limits)
        expect(problem === undefined || typeof problem === 'string').toBe(true)
      }
    }), { numRuns: 3_000 })
  })

  it('valid frames round-trip and pass validation', () => {
    fc.assert(fc.property(arbValidFrame, frame => {
      const decoded = TaskFrame.decode(TaskFrame.encode(frame))
      expect(decoded).toEqual(frame)
      expect(validateFrame(decoded, limits)).toBeUndefined()
    }), { numRuns: 10_000 })
  })

  describe('validateFrame rejects', () => {
    const req = (over: Partial<TaskRequest>): TaskFrame => frame({ type: FrameType.REQUEST, id: 1, request: { ...fc.sample(arbRequest, { numRuns: 1, seed: 1 })[0], ...over } })
    const res = (over: Partial<TaskResult>): TaskFrame => frame({ type: FrameType.RESULT, id: 1, result: { ...fc.sample(arbResult, { numRuns: 1, seed: 1 })[0], ...over } })
    const rows: Array<[string, TaskFrame, RegExp]> = [
      ['REQUEST without a request', frame({ type: FrameType.REQUEST, id: 1, kind: '', taskId: '' }), /without a request/],
      ['BIND without a request', frame({ type: FrameType.BIND, id: 1, kind: '', taskId: '' }), /without a request/],
      ['an empty task id', req({ taskId: '' }), /task id/],
      ['a task id with a space', req({ taskId: 'a b' }), /task id/],
      ['a task id of 129 characters', req({ taskId: 'a'.repeat(129) }), /task id/],
      ['an upper-case kind', req({ kind: 'Echo' }), /kind/],
      ['a kind of 65 characters', req({ kind: 'a'.repeat(65) }), /kind/],
      ['input over the payload limit', req({ input: new Uint8Array(1025) }), /input too large/],
      ['a zero deadline', req({ deadlineMs: 0 }), /deadline/],
      ['a deadline over the maximum', req({ deadlineMs: MAX_DEADLINE_MS + 1 }), /deadline/],
      ['too many attempts', req({ attempt: MAX_ATTEMPTS_ON_WIRE + 1 }), /attempt/],
      ['RESULT without a result', frame({ type: FrameType.RESULT, id: 1, kind: '', taskId: '' }), /without a result/],
      ['output over the payload limit', res({ output: new Uint8Array(1025) }), /output too large/],
      ['a message over the limit', res({ message: 'x'.repeat(MESSAGE_MAX_LENGTH + 1) }), /message too long/],
      ['a result task id over the limit', res({ taskId: 'x'.repeat(129) }), /task id/],
      ['RESERVE with a bad task id', frame({ type: FrameType.RESERVE, id: 1, kind: 'echo', taskId: '' }), /task id/],
      ['RESERVE with a bad kind', frame({ type: FrameType.RESERVE, id: 1, kind: '', taskId: 't' }), /kind/],
      ['an unknown frame type', frame({ type: 'WHAT' as FrameType, id: 1, kind: '', taskId: '' }), /unknown/]
    ]
    it.each(rows)('%s', (_name, frame, reason) => {
      expect(validateFrame(frame, limits)).toMatch(reason)
    })

    it('and accepts the limits themselves', () => {
      expect(validateFrame(req({ input: new Uint8Array(1024), deadlineMs: MAX_DEADLINE_MS, attempt: MAX_ATTEMPTS_ON_WIRE, taskId: 'a'.repeat(128), kind: 'a'.repeat(64) }), limits)).toBeUndefined()
      expect(validateFrame(res({ output: new Uint8Array(1024), message: 'x'.repeat(MESSAGE_MAX_LENGTH) }), limits)).toBeUndefined()
    })
  })

  it('task id and kind patterns', () => {
    expect(['a', 'A-z_0.9:x', 'x'.repeat(128)].every(isValidTaskId)).toBe(true)
    expect(['', 'a/b', 'ä', 'x'.repeat(129), 'a\n'].some(isValidTaskId)).toBe(false)
    expect(['echo', 'a', 'img.resize-2_x'].every(isValidKind)).toBe(true)
    expect(['', '1echo', 'Echo', '-x', 'a b', 'a'.repeat(65)].some(isValidKind)).toBe(false)
  })

  it('frame limits leave room for the envelope around the largest payload', () => {
    expect(frameLimitsFor(1000)).toEqual({ maxPayloadBytes: 1000, maxFrameBytes: 1000 + 8 * 1024 })
    const big = TaskFrame.encode(largestResult('x'))
    expect(validateFrame(TaskFrame.decode(big), limits)).toBeUndefined()
    expect(big.byteLength).toBeLessThanOrEqual(limits.maxFrameBytes)
  })

  // Regression test for a fixed bug (frame-limits.ts: MESSAGE_MAX_LENGTH, line 14, checked on `message.length` at line 51; frameLimitsFor, line 22): MESSAGE_MAX_LENGTH bounds `message.length`, i.e.
  // UTF-16 code units, while frameLimitsFor() budgets the envelope in bytes (8 KiB). A RESULT
  // that validateFrame accepts (4,096 three-byte characters = 12 KiB of message, plus a full
  // payload) is larger than maxFrameBytes, so the receiving channel rejects its length prefix as
  // malformed and resets the stream. Bound the message in UTF-8 bytes (or size the envelope for
  // 4 × MESSAGE_MAX_LENGTH).
  it('every RESULT validateFrame accepts fits in maxFrameBytes, whatever its characters', () => {
    for (const char of ['x', 'é', '€', '😀']) {
      const big = TaskFrame.encode(largestResult(char))
      if (validateFrame(TaskFrame.decode(big), limits) === undefined) {
        expect(big.byteLength, `message of ${char}`).toBeLessThanOrEqual(limits.maxFrameBytes)
      }
    }
  })
})

/** A RESULT at every limit validateFrame allows, its message made of `char`. */
function largestResult (char: string): TaskFrame {
  return frame({
    type: FrameType.RESULT,
    id: 0xffff_ffff,
    result: { taskId: 'x'.repeat(128), error: 'FAILED' as TaskResult['error'], output: new Uint8Array(limits.maxPayloadBytes), message: char.repeat(MESSAGE_MAX_LENGTH / char.length), queuedMs: 0xffff_ffff, runMs: 0xffff_ffff, deduped: true, receipt: new Uint8Array(MAX_SIGNATURE_BYTES), receiptAt: 0xffff_ffff }
  })
}
