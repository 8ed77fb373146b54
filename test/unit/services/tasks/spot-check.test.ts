import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { sha256, signReceipt, verifyClaim } from '../../../../src/services/tasks/receipt.js'
import type { Evidence } from '../../../../src/wire/evidence.js'
import { SpotChecker } from '../../../../src/services/tasks/spot-check.js'
import { ErrorCode } from '../../../../src/wire/task.js'
import type { DispatchRequest, DispatchResult } from '../../../../src/services/tasks/dispatcher.js'
import type { SpotCheckInit, SpotCheckReport } from '../../../../src/services/tasks/spot-check.js'

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

/** A checker with one run's own `dispatch` (and listeners): checks every answer of `upper`, blames nobody unless told. */
function checkerWith (init: Pick<SpotCheckInit, 'dispatch'> & Partial<SpotCheckInit>): SpotChecker {
  return new SpotChecker({ fraction: 1, kinds: new Set(['upper']), selfId: 'self', random: () => 0, blame: () => {}, ...init })
}

const req: DispatchRequest = { taskId: 't', kind: 'upper', input: enc('"a"'), timeoutMs: 10_000 }
const check = async (c: SpotChecker, first: DispatchResult): Promise<DispatchResult> => c.check(req, first, Date.now() + 10_000, () => Date.now())

describe('SpotChecker', () => {
  it('checks only answers from a peer, of a checked kind, not pinned, as often as the fraction says (signed answers)', async () => {
    const key = await generateKeyPair('Ed25519')
    const b = peerIdFromPrivateKey(key).toString()
    const r = await signReceipt(key, req.taskId, 'upper', req.input, enc('A'), Date.now())
    const signedA = (peer = b, error = ErrorCode.NONE): DispatchResult => {
      const base = answer(peer, error === ErrorCode.NONE ? 'A' : '', error)
      return { ...base, outcome: { ...base.outcome, receipt: r.signature, receiptAt: r.at } }
    }
    const { checker } = setup({ [b]: 'A' })
    expect(await checker.wants(req, signedA())).toBe(true)
    expect(await checker.wants({ ...req, kind: 'other' }, signedA())).toBe(false)
    expect(await checker.wants({ ...req, peer: b }, signedA())).toBe(false)
    expect(await checker.wants(req, signedA('self'))).toBe(false)
    expect(await checker.wants(req, signedA(b, ErrorCode.FAILED))).toBe(false)
    expect(await setup({ [b]: 'A' }, 0.4).checker.wants(req, signedA())).toBe(false) // draws 0.5
  })

  it('an answer without a receipt that verifies is checked whatever the draw (it could not be proven wrong to others); fraction 0 checks nothing', async () => {
    const [key, other] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')])
    const b = peerIdFromPrivateKey(key).toString()
    const { checker } = setup({ [b]: 'A' }, 0.4) // draws 0.5: a signed answer is not checked
    const withReceipt = async (signer: typeof key, output: string, taskId = req.taskId): Promise<DispatchResult> => {
      const rc = await signReceipt(signer, taskId, 'upper', req.input, enc(output), Date.now())
      const base = answer(b, 'A')
      return { ...base, outcome: { ...base.outcome, receipt: rc.signature, receiptAt: rc.at } }
    }
    expect(await checker.wants(req, await withReceipt(key, 'A'))).toBe(false)
    expect(await checker.wants(req, answer(b, 'A'))).toBe(true) // no receipt
    expect(await checker.wants(req, await withReceipt(other, 'A'))).toBe(true) // another key's
    expect(await checker.wants(req, await withReceipt(key, 'B'))).toBe(true) // for another output
    expect(await checker.wants(req, await withReceipt(key, 'A', 'another-task'))).toBe(true) // for another task
    expect(await setup({ [b]: 'A' }, 0).checker.wants(req, answer(b, 'A'))).toBe(false)
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

  it('shares the proof only with receipts that verify under the ids this node sent', async () => {
    const keys = await Promise.all([1, 2, 3].map(async () => generateKeyPair('Ed25519')))
    const [liar, b, c] = keys.map(k => peerIdFromPrivateKey(k).toString())
    const outputs: Record<string, string> = { [b]: 'A', [c]: 'A' }
    const evidence: Evidence[] = []
    // Servers sign the task id they were sent; the liar's receipt is garbage in the second case.
    const signed = async (peer: string, taskId: string, output: string, garbage = false): Promise<DispatchResult> => {
      const r = await signReceipt(keys[[liar, b, c].indexOf(peer)], taskId, 'upper', req.input, enc(output), Date.now())
      const base = answer(peer, output)
      return { ...base, outcome: { ...base.outcome, taskId: 'echoed-wrong-id', receipt: garbage ? new Uint8Array(64) : r.signature, receiptAt: r.at } }
    }
    for (const garbage of [false, true]) {
      evidence.length = 0
      const checker = checkerWith({
        dispatch: async (r) => { const peer = [b, c].find(p => !r.avoid.includes(p)) as string; return signed(peer, r.taskId, outputs[peer]) },
        onEvidence: (e) => { evidence.push(e) }
      })
      const result = await checker.check(req, await signed(liar, req.taskId, 'x', garbage), Date.now() + 10_000, () => Date.now())
      expect(Buffer.from(result.outcome.output).toString()).toBe('A')
      await new Promise(resolve => setTimeout(resolve, 50))
      if (garbage) {
        expect(evidence).toEqual([])
        continue
      }
      expect(evidence).toHaveLength(1)
      expect(evidence[0].claims.map(cl => cl.signer)).toEqual([liar, b, c])
      for (const cl of evidence[0].claims) expect(await verifyClaim(cl, 'upper', sha256(req.input))).toBe(true)
    }
  })

  it('a task cancelled while its check runs: the first answer, unchecked (cancelled)', async () => {
    const ac = new AbortController()
    const reports: SpotCheckReport[] = []
    const checker = checkerWith({
      dispatch: async () => { ac.abort(); return answer('b', '', ErrorCode.CANCELLED) },
      onChecked: (r) => { reports.push(r) }
    })
    const r = await checker.check({ ...req, signal: ac.signal }, answer('a', 'A'), Date.now() + 10_000, () => Date.now())
    expect(Buffer.from(r.outcome.output).toString()).toBe('A')
    expect(reports).toMatchObject([{ verdict: 'unchecked', detail: 'the task was cancelled' }])
  })

  it('gives the check its own budget (5 s, or 4 × the first run and 2 s more), not the task\'s whole deadline', async () => {
    const budgets: number[] = []
    const checker = checkerWith({
      dispatch: async (r) => { budgets.push(r.timeoutMs); return answer('b', 'A') }
    })
    const quick = answer('a', 'A')
    const slow = { ...quick, outcome: { ...quick.outcome, runMs: 10_000 } }
    await checker.check(req, quick, 1_000_000, () => 0)
    await checker.check(req, slow, 1_000_000, () => 0)
    await checker.check(req, quick, 3_000, () => 0)
    expect(budgets).toEqual([5_000, 42_000, 3_000])
  })
})
