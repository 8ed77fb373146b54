import { createHash } from 'node:crypto'
import { ErrorCode } from '../../wire/task.js'
import type { DispatchResult } from './dispatcher.js'
import type { JournalRecord, TaskRecord } from '../../store/task-journal.js'

/** A dispatch's result as the journal keeps it and `fedmesh tasks` lists it. */
export function toRecord (j: JournalRecord, r: DispatchResult, durationMs: number): TaskRecord {
  const ok = r.outcome.error === ErrorCode.NONE
  return {
    taskId: j.taskId,
    kind: j.kind,
    status: ok ? 'ok' : 'error',
    peer: r.peer,
    attempts: r.attempts,
    durationMs,
    submittedAt: j.submittedAt,
    ...(ok ? {} : { errorCode: r.outcome.error, error: r.outcome.message }),
    output: toBase64(r.outcome.output)
  }
}

/** Base64 of bytes, read where they are. */
export function toBase64 (bytes: Uint8Array): string {
  return inPlace(bytes).toString('base64')
}

/** The bytes as a Buffer over the same memory (Buffer.from(Uint8Array) copies them). */
function inPlace (bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** Results of the built-in kinds that can be checked cheaply here; others are trusted. */
export function verifyBuiltin (kind: string, input: Uint8Array, output: Uint8Array): boolean {
  if (kind === 'echo') return inPlace(input).equals(output)
  if (kind === 'sha256') {
    try {
      const { data } = JSON.parse(Buffer.from(input).toString('utf8')) as { data: string }
      const { hex } = JSON.parse(Buffer.from(output).toString('utf8')) as { hex: string }
      return hex === createHash('sha256').update(data).digest('hex')
    } catch {
      return false
    }
  }
  return true
}
