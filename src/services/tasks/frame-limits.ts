import { MAX_SIGNATURE_BYTES } from './receipt.js'
import { FrameType } from '../../wire/task.js'
import type { TaskFrame } from '../../wire/task.js'

/** Everything a remote peer can size in a task frame is bounded (DESIGN.md "Security"). */
export interface FrameLimits {
  /** Largest frame on the wire, bytes: the largest input or output plus room for the envelope. */
  maxFrameBytes: number
  /** Largest task input or output, bytes. */
  maxPayloadBytes: number
}

export const TASK_ID_MAX_LENGTH = 128
export const KIND_MAX_LENGTH = 64
/** Longest RESULT message, UTF-8 bytes (servers truncate longer ones). */
export const MESSAGE_MAX_LENGTH = 4096
/** No task may claim a longer time budget than this, ms. */
export const MAX_DEADLINE_MS = 60 * 60 * 1000
export const MAX_ATTEMPTS_ON_WIRE = 1000
const KIND_PATTERN = /^[a-z][a-z0-9._-]{0,63}$/
const TASK_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/

export function frameLimitsFor (maxPayloadBytes: number): FrameLimits {
  return { maxPayloadBytes, maxFrameBytes: maxPayloadBytes + 8 * 1024 }
}

export function isValidKind (kind: string): boolean {
  return KIND_PATTERN.test(kind)
}

export function isValidTaskId (id: string): boolean {
  return TASK_ID_PATTERN.test(id)
}

/** Why a decoded frame is unacceptable, or undefined when it is fine. */
export function validateFrame (f: TaskFrame, limits: FrameLimits): string | undefined {
  switch (f.type) {
    case FrameType.REQUEST:
    case FrameType.BIND: {
      const r = f.request
      if (r == null) return `${f.type} without a request`
      if (!isValidTaskId(r.taskId)) return 'bad task id'
      if (!isValidKind(r.kind)) return 'bad kind'
      if (r.input.byteLength > limits.maxPayloadBytes) return 'input too large'
      if (r.deadlineMs === 0 || r.deadlineMs > MAX_DEADLINE_MS) return 'bad deadline'
      if (r.attempt > MAX_ATTEMPTS_ON_WIRE) return 'bad attempt'
      return undefined
    }
    case FrameType.RESULT: {
      const r = f.result
      if (r == null) return 'RESULT without a result'
      if (r.output.byteLength > limits.maxPayloadBytes) return 'output too large'
      if (Buffer.byteLength(r.message) > MESSAGE_MAX_LENGTH) return 'message too long'
      if (r.taskId.length > TASK_ID_MAX_LENGTH) return 'bad task id'
      if (r.receipt.byteLength > MAX_SIGNATURE_BYTES) return 'receipt too long'
      return undefined
    }
    case FrameType.RESERVE:
      if (!isValidTaskId(f.taskId)) return 'bad task id'
      if (!isValidKind(f.kind)) return 'bad kind'
      return undefined
    case FrameType.READY:
    case FrameType.STARTED:
    case FrameType.CANCEL:
      return undefined
    default:
      return 'unknown frame type'
  }
}

/** Cut a message to MESSAGE_MAX_LENGTH UTF-8 bytes without splitting a character. */
export function truncateMessage (message: string): string {
  if (Buffer.byteLength(message) <= MESSAGE_MAX_LENGTH) return message
  const bytes = Buffer.from(message).subarray(0, MESSAGE_MAX_LENGTH - 3)
  // Drop a trailing partial character, then mark the cut.
  return bytes.toString('utf8').replace(/\uFFFD$/, '') + '…'
}
