import { afterEach, describe, expect, it, vi } from 'vitest'
import { ErrorCode } from '../../../../src/wire/task.js'
import { BUILTIN_KINDS } from '../../../../src/services/tasks/kinds.js'
import { MAX_SLEEP_MS, builtinHandlers, echo, sha256, sleep } from '../../../../src/services/tasks/handlers.js'
import { Executor } from '../../../../src/services/tasks/executor.js'
import { TaskError } from '../../../../src/services/tasks/task-error.js'
import { bytes, manualClock, spec, text } from '../../../helpers/unit-tasks.js'
import type { HandlerContext } from '../../../../src/services/tasks/handlers.js'

function ctx (signal: AbortSignal = new AbortController().signal): HandlerContext {
  return { taskId: 't', kind: 'k', signal, maxOutputBytes: 1024 * 1024 }
}
const json = (v: unknown): Uint8Array => bytes(JSON.stringify(v))

async function codeOf (p: Promise<unknown>): Promise<ErrorCode | string> {
  try {
    await p
    return 'resolved'
  } catch (err) {
    return err instanceof TaskError ? err.code : `not a TaskError: ${String(err)}`
  }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('built-in handlers', () => {
  it('are exactly the built-in kinds', () => {
    expect([...builtinHandlers().keys()].sort()).toEqual([...BUILTIN_KINDS].sort())
  })

  it('echo returns its input byte for byte', async () => {
    const input = new Uint8Array([0, 255, 1, 2, 3])
    expect(await echo(input, ctx())).toEqual(input)
  })

  it('sha256 matches the known vectors', async () => {
    const hex = async (data: string): Promise<string> => JSON.parse(text(await sha256(json({ data }), ctx()))).hex
    expect(await hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(await hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    // UTF-8 of the string, not UTF-16.
    // Hashes the UTF-8 bytes (c3 a9), not Latin-1 (e9).
    expect(await hex('é')).toBe('4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c')
  })

  it.each([
    ['not JSON', bytes('{')],
    ['not UTF-8', new Uint8Array([0xff, 0xfe])],
    ['JSON null', json(null)],
    ['no data', json({})],
    ['data not a string', json({ data: 42 })]
  ])('sha256 refuses %s with BAD_INPUT', async (_name, input) => {
    expect(await codeOf(sha256(input, ctx()))).toBe(ErrorCode.BAD_INPUT)
  })

  it('sleep holds for ms and reports it', async () => {
    vi.useFakeTimers()
    let done = false
    const p = sleep(json({ ms: 250 }), ctx()).then(out => { done = true; return out })
    await vi.advanceTimersByTimeAsync(249)
    expect(done).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(JSON.parse(text(await p))).toEqual({ sleptMs: 250 })
  })

  it('sleep accepts 0 and the maximum', async () => {
    vi.useFakeTimers()
    const zero = sleep(json({ ms: 0 }), ctx())
    const max = sleep(json({ ms: MAX_SLEEP_MS }), ctx())
    await vi.advanceTimersByTimeAsync(MAX_SLEEP_MS)
    expect(JSON.parse(text(await zero)).sleptMs).toBe(0)
    expect(JSON.parse(text(await max)).sleptMs).toBe(MAX_SLEEP_MS)
  })

  it.each([
    ['negative', { ms: -1 }],
    ['over the maximum', { ms: MAX_SLEEP_MS + 1 }],
    ['a string', { ms: '5' }],
    ['missing', {}],
    ['null (what JSON makes of Infinity)', { ms: null }]
  ])('sleep refuses ms %s with BAD_INPUT', async (_name, doc) => {
    expect(await codeOf(sleep(json(doc), ctx()))).toBe(ErrorCode.BAD_INPUT)
  })

  it('sleep stops at once when its signal aborts, with the abort reason', async () => {
    const ac = new AbortController()
    const p = sleep(json({ ms: MAX_SLEEP_MS }), ctx(ac.signal))
    const reason = new Error('deadline')
    ac.abort(reason)
    await expect(p).rejects.toBe(reason)
  })

  it('through an executor: bad JSON is BAD_INPUT, a sleep past the deadline is TIMED_OUT', async () => {
    const executor = new Executor({ concurrency: 2, handlers: builtinHandlers(), clock: manualClock() })
    expect((await executor.submit(spec('a', { kind: 'sha256', input: bytes('nope') }))).error).toBe(ErrorCode.BAD_INPUT)
    expect((await executor.submit(spec('b', { kind: 'sleep', input: json({ ms: MAX_SLEEP_MS }), deadlineMs: 20 }))).error).toBe(ErrorCode.TIMED_OUT)
    const ok = await executor.submit(spec('c', { kind: 'sha256', input: json({ data: 'abc' }) }))
    expect(JSON.parse(text(ok.output)).hex).toMatch(/^ba7816bf/)
  })
})
