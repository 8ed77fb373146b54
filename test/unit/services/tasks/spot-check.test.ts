import { describe, expect, it } from 'vitest'
import { SpotChecker } from '../../../../src/services/tasks/spot-check.js'
import { ErrorCode } from '../../../../src/wire/task.js'
import type { DispatchRequest, DispatchResult } from '../../../../src/services/tasks/dispatcher.js'
import type { SpotCheckReport } from '../../../../src/services/tasks/spot-check.js'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

function answer (peer: string, output: string, error = ErrorCode.NONE): DispatchResult {
  return { outcome: { taskId: 't', error, output: enc(output), message: '', queuedMs: 0, runMs: 1, deduped: false }, peer, attempts: 1 }
}

/**
 * A checker over a fake mesh: `outputs` says what each node answers; a check goes to the first
 * node not avoided (in the map's order), as the dispatcher would to the best one left.
 */
function setup (outputs: Record<string, string>, fraction = 1) {
  const blamed: string[] = []
  const reports: SpotCheckReport[] = []
  const sent: Array<{ taskId: string, avoid: readonly string[] }> = []
  const checker = new SpotChecker({
    fraction,
    kinds: new Set(['upper']),
    selfId: 'self',
    random: () => 0.5,
    dispatch: async (req) => {
      sent.push({ taskId: req.taskId, avoid: req.avoid })
      const peer = Object.keys(outputs).find(p => !req.avoid.includes(p))
      return peer == null ? answer('self', '', ErrorCode.KIND_NOT_SERVED) : answer(peer, outputs[peer])
    },
    blame: (p) => { blamed.push(p) },
    onChecked: (r) => { reports.push(r) }
  })
  return { checker, blamed, reports, sent }
}

const req: DispatchRequest = { taskId: 't', kind: 'upper', input: enc('"a"'), timeoutMs: 10_000 }
const check = async (c: SpotChecker, first: DispatchResult): Promise<DispatchResult> => c.check(req, first, Date.now() + 10_000, () => Date.now())

describe('SpotChecker', () => {
  it('checks only answers from a peer, of a checked kind, not pinned, as often as the fraction says', () => {
    const { checker } = setup({ b: 'A' })
    expect(checker.wants(req, answer('b', 'A'))).toBe(true)
    expect(checker.wants({ ...req, kind: 'other' }, answer('b', 'A'))).toBe(false)
    expect(checker.wants({ ...req, peer: 'b' }, answer('b', 'A'))).toBe(false)
    expect(checker.wants(req, answer('self', 'A'))).toBe(false)
    expect(checker.wants(req, answer('b', '', ErrorCode.FAILED))).toBe(false)
    expect(setup({ b: 'A' }, 0.4).checker.wants(req, answer('b', 'A'))).toBe(false) // draws 0.5
  })

  it('agreeing runs: the first answer, nobody blamed; the check runs away from the first peer under a fresh id', async () => {
    const { checker, blamed, reports, sent } = setup({ c: 'x', b: 'A' })
    const r = await check(checker, answer('c', 'A'))
    expect(r).toMatchObject({ peer: 'c', attempts: 1 })
    expect(Buffer.from(r.outcome.output).toString()).toBe('A')
    expect(blamed).toEqual([])
    expect(reports).toEqual([{ taskId: 't', kind: 'upper', verdict: 'agreed', peers: ['c', 'b'] }])
    expect(sent).toHaveLength(1)
    expect(sent[0].avoid).toEqual(['c'])
    expect(sent[0].taskId).not.toBe('t')
  })

  it('a liar answers first: the check disagrees, a third run sides with the check, the liar is blamed and its output never returned', async () => {
    const { checker, blamed, reports } = setup({ b: 'A', c: 'A' })
    const r = await check(checker, answer('liar', 'x'))
    expect(r).toMatchObject({ peer: 'b', attempts: 3 })
    expect(Buffer.from(r.outcome.output).toString()).toBe('A')
    expect(blamed).toEqual(['liar'])
    expect(reports).toEqual([{ taskId: 't', kind: 'upper', verdict: 'wrong-result', peers: ['liar', 'b', 'c'], wrong: 'liar' }])
  })

  it('a liar checks an honest answer: the third run sides with the first, the checker is blamed', async () => {
    const { checker, blamed } = setup({ liar: 'x', c: 'A' })
    const r = await check(checker, answer('b', 'A'))
    expect(Buffer.from(r.outcome.output).toString()).toBe('A')
    expect(r.peer).toBe('b')
    expect(blamed).toEqual(['liar'])
  })

  it("this node's own run decides without a third", async () => {
    const { checker, blamed, sent } = setup({ self: 'A' })
    const r = await check(checker, answer('liar', 'x'))
    expect(r.peer).toBe('self')
    expect(blamed).toEqual(['liar'])
    expect(sent).toHaveLength(1)
  })

  it('no two runs agree, or no third node: RESULT_DISPUTED, no output, nobody blamed', async () => {
    const three = setup({ b: 'B', c: 'C' })
    const r = await check(three.checker, answer('a', 'A'))
    expect(r.outcome).toMatchObject({ error: ErrorCode.RESULT_DISPUTED })
    expect(r.outcome.output.byteLength).toBe(0)
    expect(r.outcome.message).toMatch(/disagree \(a, b, c\)/)
    expect(three.blamed).toEqual([])
    expect(three.reports[0]).toMatchObject({ verdict: 'disputed', detail: 'three different outputs' })
    const two = setup({ b: 'B' })
    expect((await check(two.checker, answer('a', 'A'))).outcome.error).toBe(ErrorCode.RESULT_DISPUTED)
    expect(two.reports[0]).toMatchObject({ verdict: 'disputed', detail: expect.stringMatching(/^no third node answered \(KIND_NOT_SERVED/) })
  })

  it('no other node answers the check: the first answer, unchecked', async () => {
    const { checker, reports, blamed } = setup({})
    const r = await check(checker, answer('b', 'A'))
    expect(Buffer.from(r.outcome.output).toString()).toBe('A')
    expect(reports[0]).toMatchObject({ verdict: 'unchecked', peers: ['b'] })
    expect(blamed).toEqual([])
  })
})
