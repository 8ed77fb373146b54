import { ErrorCode } from '../../wire/task.js'

/** A task outcome other than success, with the wire's error code (task.proto `ErrorCode`). */
export class TaskError extends Error {
  constructor (readonly code: ErrorCode, message: string) {
    super(message)
    this.name = 'TaskError'
  }
}

/** Codes meaning the task never ran there: the router may try elsewhere at no risk. */
export const REFUSALS: ReadonlySet<ErrorCode> = new Set([
  ErrorCode.KIND_NOT_SERVED,
  ErrorCode.QUEUE_FULL,
  ErrorCode.BUSY,
  ErrorCode.SHUTTING_DOWN,
  // Not allowed here (roles, the kind's allow list): another peer may allow it.
  ErrorCode.FORBIDDEN,
  // A reservation that expired or was cancelled before a task was bound to it.
  ErrorCode.CANCELLED
])

/** Codes that are the input's fault: another peer would fail the same way, so no retry. */
export const INPUT_ERRORS: ReadonlySet<ErrorCode> = new Set([
  ErrorCode.BAD_INPUT,
  ErrorCode.INPUT_TOO_LARGE
])

export function codeOf (err: unknown): ErrorCode {
  if (err instanceof TaskError) return err.code
  if ((err as Error)?.name === 'AbortError' || (err as Error)?.name === 'TimeoutError') return ErrorCode.TIMED_OUT
  return ErrorCode.FAILED
}
