import { createHash } from 'node:crypto'
import { ErrorCode } from '../../wire/task.js'
import { TaskError } from './task-error.js'

/** What a handler gets besides its input. */
export interface HandlerContext {
  taskId: string
  kind: string
  /** Aborted at the task's deadline or when it is cancelled. */
  signal: AbortSignal
  /** Most bytes the output may have. */
  maxOutputBytes: number
}

/** Runs one task kind. Input and output are bytes (JSON for the built-in kinds). */
export type TaskHandler = (input: Uint8Array, ctx: HandlerContext) => Promise<Uint8Array>

/** `sleep` holds a slot at most this long (CONTRACT.md). */
export const MAX_SLEEP_MS = 60_000

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** Parse JSON input; anything else is the caller's mistake (BAD_INPUT), never a crash. */
export function jsonInput (input: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(input))
  } catch {
    throw new TaskError(ErrorCode.BAD_INPUT, 'input is not valid JSON')
  }
}

export function jsonOutput (value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value))
}

/** `echo`: output = input. */
export const echo: TaskHandler = async (input) => input

/** `sha256`: `{ data: string }` → `{ hex }`. */
export const sha256: TaskHandler = async (input) => {
  const doc = jsonInput(input) as { data?: unknown }
  if (typeof doc?.data !== 'string') throw new TaskError(ErrorCode.BAD_INPUT, 'sha256 needs { "data": string }')
  return jsonOutput({ hex: createHash('sha256').update(doc.data).digest('hex') })
}

/** `sleep`: `{ ms }` (≤ 60000) holds one slot that long → `{ sleptMs }`. */
export const sleep: TaskHandler = async (input, ctx) => {
  const doc = jsonInput(input) as { ms?: unknown }
  const ms = doc?.ms
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_SLEEP_MS) {
    throw new TaskError(ErrorCode.BAD_INPUT, `sleep needs { "ms": number } with 0 ≤ ms ≤ ${MAX_SLEEP_MS}`)
  }
  const start = Date.now()
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    ctx.signal.addEventListener('abort', () => {
      clearTimeout(timer)
      reject(ctx.signal.reason)
    }, { once: true })
  })
  return jsonOutput({ sleptMs: Date.now() - start })
}

/**
 * Quick handlers with no effect but their output: run twice, nothing anyone can observe changes.
 * Their start record is written but not waited for (protocols/task.md "Dedupe"). Not `sleep`: it
 * stands for a long run, which a second run would repeat whole, and next to it the sync is
 * nothing. Marked on the handler itself, so a kind the owner overrides is not pure.
 */
const pureHandlers = new WeakSet<TaskHandler>([echo, sha256])

export function isPure (handler: TaskHandler): boolean {
  return pureHandlers.has(handler)
}

export function builtinHandlers (): Map<string, TaskHandler> {
  return new Map([['echo', echo], ['sha256', sha256], ['sleep', sleep]])
}
