import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { decodePayload, encodePayload, fromBytesHandler, fromJsonHandler } from '../../../src/node/task-payload.js'
import { TaskError } from '../../../src/services/tasks/task-error.js'
import { ErrorCode } from '../../../src/wire/task.js'
import type { HandlerContext } from '../../../src/services/tasks/handlers.js'

const ctx: HandlerContext = { taskId: 't', kind: 'k', signal: new AbortController().signal, maxOutputBytes: 1024 }
const text = (b: Uint8Array): string => new TextDecoder().decode(b)

describe('task payloads: bytes as they are, anything else as JSON, on both sides', () => {
  it('encodes a Uint8Array raw and any other value as its JSON', () => {
    const raw = new Uint8Array([0, 255])
    expect(encodePayload(raw)).toBe(raw)
    expect(text(encodePayload({ a: 1 }))).toBe('{"a":1}')
    expect(text(encodePayload('x'))).toBe('"x"')
    expect(text(encodePayload(undefined))).toBe('null')
  })

  it('decodes JSON, else UTF-8 text, else base64 for bytes that are not UTF-8', () => {
    expect(decodePayload(encodePayload({ a: [1, 2] }))).toEqual({ output: { a: [1, 2] } })
    expect(decodePayload(new TextEncoder().encode('plain text'))).toEqual({ output: 'plain text' })
    expect(decodePayload(new Uint8Array(0))).toEqual({ output: null })
    expect(decodePayload(new Uint8Array([0xff, 0xfe, 0]))).toEqual({ output: null, outputBase64: '//4A' })
  })

  it('round-trips any JSON value and any bytes', () => {
    fc.assert(fc.property(fc.jsonValue(), v => {
      expect(decodePayload(encodePayload(v)).output).toEqual(JSON.parse(JSON.stringify(v)))
    }))
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), b => {
      const d = decodePayload(b)
      let utf8: string | undefined
      try { utf8 = new TextDecoder('utf-8', { fatal: true }).decode(b) } catch {}
      if (utf8 == null) {
        // Not text: the exact bytes, base64.
        expect(Buffer.compare(Buffer.from(d.outputBase64 ?? '', 'base64'), Buffer.from(b))).toBe(0)
      } else {
        expect(d.outputBase64).toBeUndefined()
        expect(d.output).toEqual(utf8 === '' ? null : jsonOrText(utf8))
      }
    }))
  })

  it('a bytes handler may return bytes or JSON; a JSON handler gets parsed input and refuses other input as BAD_INPUT', async () => {
    expect(text(await fromBytesHandler(async () => ({ ok: true }))(new Uint8Array(0), ctx))).toBe('{"ok":true}')
    expect(await fromBytesHandler(async (i) => i)(new Uint8Array([7]), ctx)).toEqual(new Uint8Array([7]))
    const sum = fromJsonHandler<{ a: number, b: number }, { sum: number }>(async ({ a, b }) => ({ sum: a + b }))
    expect(text(await sum(encodePayload({ a: 1, b: 2 }), ctx))).toBe('{"sum":3}')
    const err = await sum(new TextEncoder().encode('not json'), ctx).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TaskError)
    expect((err as TaskError).code).toBe(ErrorCode.BAD_INPUT)
  })
})

function jsonOrText (t: string): unknown {
  try { return JSON.parse(t) } catch { return t }
}
