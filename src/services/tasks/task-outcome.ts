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
    output: Buffer.from(r.outcome.output).toString('base64')
  }
}

/** Results of the built-in kinds that can be checked cheaply here; others are trusted. */
export function verifyBuiltin (kind: string, input: Uint8Array, output: Uint8Array): boolean {
  if (kind === 'echo') return Buffer.compare(Buffer.from(input), Buffer.from(output)) === 0
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
