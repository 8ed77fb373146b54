import { createHash } from 'node:crypto'
import { ErrorCode } from '../../wire/task.js'
import type { DispatchResult } from './dispatcher.js'
import type { JournalRecord, TaskRecord } from '../../store/task-journal.js'

/** A dispatch's result as the journal keeps it and `fedmesh tasks` lists it. */
export function toRecord (j: JournalRecord, r: DispatchResult, durationMs: number): TaskRecord {
  return new FinishedTask(j, r, durationMs)
}

/**
 * The output's bytes of a finished task: the first read of a record made here takes the bytes as
 * they arrived (the record lets go of them: it keeps no receive buffer alive); any other read
 * decodes its base64.
 */
export function outputBytes (r: TaskRecord): Uint8Array {
  return FinishedTask.takeBytes(r) ?? Buffer.from(r.output, 'base64')
}

/**
 * A TaskRecord that also holds its output's bytes until they are read, out of sight (a private
 * field: not in its keys, its JSON or its copies): the run document takes them instead of
 * decoding the base64 made a moment before (node.run, once per task).
 */
class FinishedTask implements TaskRecord {
  declare taskId: string
  declare kind: string
  declare status: 'ok' | 'error'
  declare peer: string
  declare attempts: number
  declare durationMs: number
  declare submittedAt: number
  declare errorCode?: string
  declare error?: string
  declare output: string
  #bytes: Uint8Array | undefined

  constructor (j: JournalRecord, r: DispatchResult, durationMs: number) {
    // The keys in the order the journal and the documents always had them.
    const ok = r.outcome.error === ErrorCode.NONE
    this.taskId = j.taskId
    this.kind = j.kind
    this.status = ok ? 'ok' : 'error'
    this.peer = r.peer
    this.attempts = r.attempts
    this.durationMs = durationMs
    this.submittedAt = j.submittedAt
    if (!ok) {
      this.errorCode = r.outcome.error
      this.error = r.outcome.message
    }
    this.output = toBase64(r.outcome.output)
    this.#bytes = ok ? r.outcome.output : undefined
  }

  static takeBytes (r: TaskRecord): Uint8Array | undefined {
    if (!(#bytes in r)) return undefined
    const bytes = r.#bytes
    r.#bytes = undefined
    return bytes
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
  // Compared where they are (a Buffer view of the input is an allocation per task).
  if (kind === 'echo') return input.byteLength === output.byteLength && Buffer.compare(input, output) === 0
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
