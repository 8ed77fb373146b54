/** Helpers shared by the task unit tests: a hand-moved clock and handlers that finish on demand. */
import type { HandlerContext, TaskHandler } from '../../src/services/tasks/handlers.js'
import type { TaskSpec } from '../../src/services/tasks/executor.js'

export interface ManualClock {
  now: () => number
  advance: (ms: number) => void
}

export function manualClock (start = 1_700_000_000_000): ManualClock {
  let t = start
  return { now: () => t, advance: (ms) => { t += ms } }
}

export interface Call {
  input: Uint8Array
  ctx: HandlerContext
  resolve: (output?: Uint8Array) => void
  reject: (err: unknown) => void
}

/**
 * A handler whose every invocation waits until the test resolves or rejects it. `calls` lists
 * the invocations in the order they started. Resolving without an output echoes the input.
 * Invocations reject by themselves when their signal aborts, like a well-behaved handler.
 */
export function gatedHandler (): { handler: TaskHandler, calls: Call[], started: (taskId: string) => boolean } {
  const calls: Call[] = []
  const handler: TaskHandler = async (input, ctx) => new Promise<Uint8Array>((resolve, reject) => {
    ctx.signal.addEventListener('abort', () => { reject(ctx.signal.reason) }, { once: true })
    calls.push({ input, ctx, resolve: (output) => { resolve(output ?? input) }, reject })
  })
  return { handler, calls, started: (taskId) => calls.some(c => c.ctx.taskId === taskId) }
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
export const text = (b: Uint8Array): string => new TextDecoder().decode(b)

export function spec (taskId: string, over: Partial<TaskSpec> = {}): TaskSpec {
  return { taskId, kind: 'k', input: bytes(taskId), deadlineMs: 60_000, origin: 'local', ...over }
}

/** Let pending promise callbacks run. */
export async function settle (): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>(resolve => { setImmediate(resolve) })
}
