import { describe, expect, it } from 'vitest'
import { outputBytes, toRecord } from '../../../../src/services/tasks/task-outcome.js'
import { ErrorCode } from '../../../../src/wire/task.js'
import type { DispatchResult } from '../../../../src/services/tasks/dispatcher.js'

const job = { taskId: 't1', kind: 'echo', input: '', timeoutMs: 1000, submittedAt: 5 }
const result = (error: ErrorCode, output: Uint8Array): DispatchResult => ({ outcome: { taskId: 't1', error, output, message: error === ErrorCode.NONE ? '' : 'it failed', queuedMs: 0, runMs: 1, deduped: false }, peer: 'p', attempts: 1 })

describe('toRecord', () => {
  it('is the plain record it always was: its keys, their order and its JSON', () => {
    const ok = toRecord(job, result(ErrorCode.NONE, new TextEncoder().encode('{"a":1}')), 7)
    expect(JSON.parse(JSON.stringify(ok))).toEqual({ taskId: 't1', kind: 'echo', status: 'ok', peer: 'p', attempts: 1, durationMs: 7, submittedAt: 5, output: 'eyJhIjoxfQ==' })
    expect(Object.keys(ok)).toEqual(['taskId', 'kind', 'status', 'peer', 'attempts', 'durationMs', 'submittedAt', 'output'])
    expect({ ...ok }).toEqual(ok)
    const failed = toRecord(job, result(ErrorCode.FAILED, new Uint8Array(0)), 7)
    expect(Object.keys(failed)).toEqual(['taskId', 'kind', 'status', 'peer', 'attempts', 'durationMs', 'submittedAt', 'errorCode', 'error', 'output'])
    expect(failed).toMatchObject({ status: 'error', errorCode: 'FAILED', error: 'it failed', output: '' })
  })

  it('hands its output bytes over once; later reads, and copies, decode the base64', () => {
    const bytes = new Uint8Array([0xff, 0x00, 0x41])
    const r = toRecord(job, result(ErrorCode.NONE, bytes), 1)
    expect(outputBytes(r)).toBe(bytes)
    const again = outputBytes(r)
    expect(again).not.toBe(bytes)
    expect([...again]).toEqual([0xff, 0x00, 0x41])
    const copy = toRecord(job, result(ErrorCode.NONE, bytes), 1)
    expect([...outputBytes({ ...copy })]).toEqual([0xff, 0x00, 0x41])
  })
})
