/**
 * The CLI's exit codes (CONTRACT.md "Exit codes") and one error class per kind of failure, so
 * every command exits with the code that says what went wrong, and prints one sentence.
 */
export const EXIT = {
  /** Done. */
  OK: 0,
  /** The task failed, the daemon refused the request, or anything not listed below. */
  FAILED: 1,
  /** The command line is wrong: unknown command or option, bad value, missing argument. */
  USAGE: 2,
  /** No daemon answers at the data dir or `--api` address. */
  NO_DAEMON: 3,
  /** What was asked for does not exist: a task id, a cache key, a peer, a kind nobody serves. */
  NOT_FOUND: 4,
  /** Interrupted by Ctrl-C (128 + SIGINT), as shells report it. */
  INTERRUPTED: 130
} as const

/** A failure the user should read as one sentence; `exitCode` is what the CLI exits with. */
export class CliError extends Error {
  constructor (message: string, readonly exitCode: number = EXIT.FAILED) {
    super(message)
    this.name = 'CliError'
  }
}

/** The command line is wrong (exit 2). */
export class UsageError extends CliError {
  constructor (message: string) {
    super(message, EXIT.USAGE)
    this.name = 'UsageError'
  }
}

/** `value` of the argument `name` (KEY, KIND, ID), refused when empty: the request it builds would name no key, kind or task. */
export function nonEmpty (name: string, value: string): string {
  if (value === '') throw new UsageError(`${name} must not be empty`)
  return value
}

/** No daemon answers (exit 3). */
export class NoDaemonError extends CliError {
  constructor (message: string) {
    super(message, EXIT.NO_DAEMON)
    this.name = 'NoDaemonError'
  }
}

/** The task, key, peer or kind asked for does not exist (exit 4). */
export class NotFoundCliError extends CliError {
  constructor (message: string) {
    super(message, EXIT.NOT_FOUND)
    this.name = 'NotFoundCliError'
  }
}

/** A rejection handler: the daemon's 404 becomes the command's own one line (exit 4); anything else passes. */
export function notFoundAs (message: string): (err: unknown) => never {
  return (err) => {
    if (err instanceof ApiError && err.status === 404) throw new NotFoundCliError(message)
    throw err
  }
}

/** The daemon answered with an error status; 400 is the caller's input (2), 404 not found (4). */
export class ApiError extends CliError {
  constructor (readonly status: number, message: string, readonly doc: unknown) {
    super(status === 401 ? `the daemon refused the token (${message})` : message, exitCodeOfStatus(status))
    this.name = 'ApiError'
  }
}

export function exitCodeOfStatus (status: number): number {
  if (status === 400) return EXIT.USAGE
  if (status === 404) return EXIT.NOT_FOUND
  return EXIT.FAILED
}
