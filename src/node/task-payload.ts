import { ErrorCode } from '../wire/task.js'
import { TaskError } from '../services/tasks/task-error.js'
import type { HandlerContext, TaskHandler } from '../services/tasks/handlers.js'

/**
 * Task input and output as the library, the control API and the CLI take them, one rule on both
 * sides of a task: a `Uint8Array` travels as raw bytes, any other value as its JSON text. A
 * result's `output` is the JSON the bytes hold, else their UTF-8 text, else (binary) null with
 * the bytes in `outputBase64`.
 */

const encoder = new TextEncoder()
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/** A task's input or a handler's output: raw bytes, or a JSON value. */
export type Payload = Uint8Array | unknown

export function encodePayload (value: Payload): Uint8Array {
  if (value instanceof Uint8Array) return value
  return encoder.encode(JSON.stringify(value ?? null))
}

/** The bytes as a result shows them: `{ output }` (JSON, or text; empty → null), or `{ output: null, outputBase64 }` when not UTF-8. */
export function decodePayload (bytes: Uint8Array): { output: unknown, outputBase64?: string } {
  let text: string
  try {
    text = strictUtf8.decode(bytes)
  } catch {
    return { output: null, outputBase64: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') }
  }
  if (text === '') return { output: null }
  try { return { output: JSON.parse(text) } } catch { return { output: text } }
}

/** A handler that takes bytes and returns bytes or a JSON value (what `node.handle` accepts). */
export type BytesHandler = (input: Uint8Array, ctx: HandlerContext) => Promise<Payload> | Payload

/** A handler of JSON in and JSON (or bytes) out (what `node.handleJson` accepts). */
export type JsonHandler<In = any, Out = unknown> = (input: In, ctx: HandlerContext) => Promise<Out> | Out

export function fromBytesHandler (handler: BytesHandler): TaskHandler {
  return async (input, ctx) => encodePayload(await handler(input, ctx))
}

export function fromJsonHandler<In, Out> (handler: JsonHandler<In, Out>): TaskHandler {
  return async (input, ctx) => {
    let parsed: In
    try {
      parsed = JSON.parse(strictUtf8.decode(input)) as In
    } catch {
      throw new TaskError(ErrorCode.BAD_INPUT, `${ctx.kind} takes JSON input`)
    }
    return encodePayload(await handler(parsed, ctx))
  }
}
