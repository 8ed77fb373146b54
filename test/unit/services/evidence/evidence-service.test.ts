import { generateKeyPair } from '@libp2p/crypto/keys'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it, vi } from 'vitest'
import { ReputationAction, ReputationLedger } from '../../../../src/core/reputation/index.js'
import { EVIDENCE_TOPIC, EvidenceService } from '../../../../src/services/evidence/evidence-service.js'
import { sha256, signReceipt, verifyClaim } from '../../../../src/services/tasks/receipt.js'
import { Evidence } from '../../../../src/wire/evidence.js'
import type { EvidenceReport } from '../../../../src/services/evidence/evidence-service.js'
import type { Claim } from '../../../../src/wire/evidence.js'
import type { PeerState } from '../../../../src/core/reputation/index.js'
import type { GossipSub, Message } from '@libp2p/gossipsub'
import type { PeerId, PrivateKey } from '@libp2p/interface'

const enc = (s: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(s)
const input = enc('"shout"')

async function member (): Promise<{ key: PrivateKey, id: PeerId }> {
  const key = await generateKeyPair('Ed25519')
  return { key, id: peerIdFromPrivateKey(key) }
}

/** Proof number `n` (its own input) that `wrong` answered wrongly and `honest` right. */
async function proof (wrong: { key: PrivateKey, id: PeerId }, honest: { key: PrivateKey, id: PeerId }, n: number): Promise<Evidence> {
  const on = enc(`"input ${n}"`)
  return { kind: 'upper', input: on, claims: [await claim(wrong, '"tipvu"', `w${n}`, NOW_MS, on), await claim(honest, '"SHOUT"', `h${n}`, NOW_MS, on)] }
}

/** Tests run at t = 1,000 s. */
const NOW_MS = 1_000_000

async function claim (m: { key: PrivateKey, id: PeerId }, output: string, taskId = 't1', atMs = NOW_MS, on = input): Promise<Claim> {
  const r = await signReceipt(m.key, taskId, 'upper', on, enc(output), atMs)
  return { signer: m.id.toString(), taskId, outputDigest: sha256(enc(output)) as Uint8Array<ArrayBuffer>, signature: r.signature as Uint8Array<ArrayBuffer>, issuedAt: r.at }
}

describe('receipts', () => {
  it('verify under the signer\'s peer id for that kind, input and output only', async () => {
    const liar = await member()
    const other = await member()
    const c = await claim(liar, 'tipvu')
    const digest = sha256(input)
    expect(await verifyClaim(c, 'upper', digest)).toBe(true)
    expect(await verifyClaim(c, 'lower', digest)).toBe(false)
    expect(await verifyClaim(c, 'upper', sha256(enc('other')))).toBe(false)
    expect(await verifyClaim({ ...c, outputDigest: sha256(enc('SHOUT')) as Uint8Array<ArrayBuffer> }, 'upper', digest)).toBe(false)
    expect(await verifyClaim({ ...c, signer: other.id.toString() }, 'upper', digest)).toBe(false)
    expect(await verifyClaim({ ...c, signature: new Uint8Array(129) }, 'upper', digest)).toBe(false)
    expect(await verifyClaim({ ...c, issuedAt: c.issuedAt + 1 }, 'upper', digest)).toBe(false)
    expect(await verifyClaim({ ...c, signer: 'not a peer id' }, 'upper', digest)).toBe(false)
  })
})

describe('EvidenceService', () => {
  function setup (options: { canRun?: boolean, output?: string, selfId?: string, stateOf?: (peer: string) => PeerState, onCharge?: (peer: string, why: string) => void, run?: () => Promise<void>, allowance?: { burst: number, intervalMs: number } } = {}) {
    const validators = new Map<string, (source: PeerId, msg: Message) => Promise<TopicValidatorResult>>()
    const pubsub = { topicValidators: validators, subscribe: vi.fn(), unsubscribe: vi.fn(), publish: vi.fn(async () => ({ recipients: [] })) }
    const charged: Array<[string, string]> = []
    const reports: EvidenceReport[] = []
    let now = NOW_MS
    const runs: string[] = []
    const service = new EvidenceService({ pubsub: pubsub as unknown as GossipSub, logger: defaultLogger() }, {
      clock: { now: () => now },
      selfId: options.selfId ?? 'self',
      canRun: () => options.canRun ?? true,
      runHere: async (_kind, _input, from) => {
        runs.push(from)
        await options.run?.()
        return enc(options.output ?? '"SHOUT"')
      },
      charge: (peer, why) => { charged.push([peer, why]); options.onCharge?.(peer, why) },
      stateOf: options.stateOf,
      allowance: options.allowance,
      onReport: (r) => { reports.push(r) }
    })
    service.afterStart()
    const validate = validators.get(EVIDENCE_TOPIC)!
    const deliver = async (from: PeerId, e: Evidence): Promise<TopicValidatorResult> =>
      validate(from, { type: 'signed', from, topic: EVIDENCE_TOPIC, data: Evidence.encode(e), sequenceNumber: 1n, signature: new Uint8Array(), key: from.publicKey! } as unknown as Message)
    return { service, deliver, charged, reports, runs, advance: (ms: number) => { now += ms } }
  }

  it('charges only the signers its own run disproves; forwards the evidence', async () => {
    const [liar, honest, sender] = await Promise.all([member(), member(), member()])
    const { deliver, charged, reports } = setup()
    const verdict = await deliver(sender.id, { kind: 'upper', input, claims: [await claim(liar, '"tipvu"'), await claim(honest, '"SHOUT"', 't2')] })
    expect(verdict).toBe(TopicValidatorResult.Accept)
    await vi.waitFor(() => { expect(reports).toHaveLength(1) })
    expect(charged).toEqual([[liar.id.toString(), 'wrong-result']])
    expect(reports[0]).toMatchObject({ from: sender.id.toString(), verdict: 'applied', wrong: [liar.id.toString()] })
  })

  it('runs the input as a task from the sender (its allow list applies), once per input; a republished receipt is charged once', async () => {
    const [liar, honest, sender] = await Promise.all([member(), member(), member()])
    const { deliver, charged, reports, runs, advance } = setup()
    const e = { kind: 'upper', input, claims: [await claim(liar, '"tipvu"'), await claim(honest, '"SHOUT"', 't2')] }
    await deliver(sender.id, e)
    await vi.waitFor(() => { expect(reports).toHaveLength(1) })
    advance(10_000)
    expect(await deliver(sender.id, e)).toBe(TopicValidatorResult.Accept)
    await vi.waitFor(() => { expect(reports).toHaveLength(2) })
    expect(runs).toEqual([sender.id.toString()])
    expect(charged).toEqual([[liar.id.toString(), 'wrong-result']])
    expect(reports[1]).toMatchObject({ verdict: 'refuted', wrong: [] })
  })

  it('never charges this node for its own claim', async () => {
    const [liar, honest, sender] = await Promise.all([member(), member(), member()])
    const { deliver, charged, reports } = setup({ selfId: liar.id.toString() })
    await deliver(sender.id, { kind: 'upper', input, claims: [await claim(liar, '"tipvu"'), await claim(honest, '"SHOUT"', 't2')] })
    await vi.waitFor(() => { expect(reports).toHaveLength(1) })
    expect(charged).toEqual([])
  })

  it('no slander: an accuser who signs a false output against an honest receipt is the one charged', async () => {
    const [honest, sender] = await Promise.all([member(), member()])
    const { deliver, charged, reports } = setup({ output: '"SHOUT"' })
    await deliver(sender.id, { kind: 'upper', input, claims: [await claim(honest, '"SHOUT"'), await claim(sender, '"tipvu"', 't2')] })
    await vi.waitFor(() => { expect(reports).toHaveLength(1) })
    expect(charged).toEqual([[sender.id.toString(), 'wrong-result']])
  })

  it('one claim, or claims that all agree, prove nothing: rejected before any run', async () => {
    const [honest, other, sender] = await Promise.all([member(), member(), member()])
    const { deliver, runs } = setup()
    expect(await deliver(sender.id, { kind: 'upper', input, claims: [await claim(honest, '"tipvu"')] })).toBe(TopicValidatorResult.Reject)
    expect(await deliver(sender.id, { kind: 'upper', input, claims: [await claim(honest, '"tipvu"'), await claim(other, '"tipvu"', 't2')] })).toBe(TopicValidatorResult.Reject)
    expect(runs).toEqual([])
  })

  it('receipts older than an hour are not evidence any more (ignored, nobody charged)', async () => {
    const [liar, honest, sender] = await Promise.all([member(), member(), member()])
    const { deliver, charged, advance } = setup()
    const e = { kind: 'upper', input, claims: [await claim(liar, '"tipvu"'), await claim(honest, '"SHOUT"', 't2')] }
    advance(3_601_000)
    expect(await deliver(sender.id, e)).toBe(TopicValidatorResult.Ignore)
    expect(charged).toEqual([])
  })

  it('a kind it does not run as deterministic: unverifiable, nobody charged', async () => {
    const [liar, honest, sender] = await Promise.all([member(), member(), member()])
    const { deliver, charged, reports } = setup({ canRun: false })
    await deliver(sender.id, { kind: 'upper', input, claims: [await claim(liar, '"tipvu"'), await claim(honest, '"SHOUT"', 't2')] })
    await vi.waitFor(() => { expect(reports).toHaveLength(1) })
    expect(reports[0].verdict).toBe('unverifiable')
    expect(charged).toEqual([])
  })

  it('a forged claim is rejected and costs its sender; the named signer loses nothing', async () => {
    const [victim, honest, sender] = await Promise.all([member(), member(), member()])
    const { deliver, charged, reports } = setup()
    const forged = { ...(await claim(sender, '"tipvu"')), signer: victim.id.toString() }
    expect(await deliver(sender.id, { kind: 'upper', input, claims: [forged, await claim(honest, '"SHOUT"', 't2')] })).toBe(TopicValidatorResult.Reject)
    expect(charged).toEqual([[sender.id.toString(), 'invalid-message']])
    expect(reports).toEqual([])
  })

  it('examines three pieces of evidence per sender at once, then one per 10 s; malformed or oversized messages are rejected', async () => {
    const [liar, honest, sender] = await Promise.all([member(), member(), member()])
    const { deliver, advance } = setup()
    const e = { kind: 'upper', input, claims: [await claim(liar, '"tipvu"'), await claim(honest, '"SHOUT"', 't2')] }
    for (let i = 0; i < 3; i++) expect(await deliver(sender.id, e)).toBe(TopicValidatorResult.Accept)
    expect(await deliver(sender.id, e)).toBe(TopicValidatorResult.Ignore)
    advance(5_000)
    expect(await deliver(sender.id, e)).toBe(TopicValidatorResult.Ignore)
    advance(5_000)
    expect(await deliver(sender.id, e)).toBe(TopicValidatorResult.Accept)
    expect(await deliver(sender.id, e)).toBe(TopicValidatorResult.Ignore)
    expect(await deliver(sender.id, { kind: 'upper', input, claims: [] })).toBe(TopicValidatorResult.Reject)
    expect(await deliver(sender.id, { kind: 'Bad Kind', input, claims: e.claims })).toBe(TopicValidatorResult.Reject)
    expect(await deliver(sender.id, { kind: 'upper', input: new Uint8Array(70 * 1024), claims: e.claims })).toBe(TopicValidatorResult.Reject)
  })

  it('evidence that arrives during a run waits its turn (one run at a time), and is not run once a signer is banned here', async () => {
    const [liar, otherLiar, honest, a, b, c] = await Promise.all([member(), member(), member(), member(), member(), member()])
    let release = (): void => {}
    const gate = new Promise<void>(resolve => { release = resolve })
    // Here one charge bans (the ledger's rule is the next test's).
    const banned = new Set<string>()
    const { deliver, charged, reports, runs } = setup({ stateOf: (p) => banned.has(p) ? 'banned' : 'healthy', onCharge: (p) => { banned.add(p) }, run: async () => gate })
    // Three senders: the first's evidence runs; the other two arrive while it runs and wait.
    expect(await deliver(a.id, await proof(liar, honest, 0))).toBe(TopicValidatorResult.Accept)
    expect(await deliver(b.id, await proof(liar, honest, 1))).toBe(TopicValidatorResult.Accept)
    expect(await deliver(c.id, await proof(otherLiar, honest, 2))).toBe(TopicValidatorResult.Accept)
    await vi.waitFor(() => { expect(runs).toEqual([a.id.toString()]) })
    expect(reports).toEqual([])
    release()
    await vi.waitFor(() => { expect(reports).toHaveLength(3) })
    // The second names a signer the first run got banned: not run. The third is run.
    expect(runs).toEqual([a.id.toString(), c.id.toString()])
    expect(reports.map(r => r.verdict)).toEqual(['applied', 'unverifiable', 'applied'])
    expect(reports[1].detail).toContain(liar.id.toString())
    expect(charged).toEqual([[liar.id.toString(), 'wrong-result'], [otherLiar.id.toString(), 'wrong-result']])
  })

  it('a liar one proof got avoided is run against again, and the second proof bans it; once banned, it is not run', async () => {
    const [liar, honest, a, b, c] = await Promise.all([member(), member(), member(), member(), member()])
    const ledger = new ReputationLedger({ clock: { now: () => NOW_MS } })
    const { deliver, reports, runs } = setup({ stateOf: (p) => ledger.state(p), onCharge: (p) => { ledger.apply(p, ReputationAction.WrongResult) } })
    for (const [i, sender] of [a, b, c].entries()) {
      await deliver(sender.id, await proof(liar, honest, i))
      await vi.waitFor(() => { expect(reports).toHaveLength(i + 1) })
      if (i === 0) expect(ledger.state(liar.id.toString())).toBe('avoid')
    }
    expect(reports.map(r => r.verdict)).toEqual(['applied', 'applied', 'unverifiable'])
    expect(ledger.state(liar.id.toString())).toBe('banned')
    expect(runs).toEqual([a.id.toString(), b.id.toString()])
  })

  it('once stopped, evidence still waiting is not run', async () => {
    const [liar, honest, a, b] = await Promise.all([member(), member(), member(), member()])
    let release = (): void => {}
    const gate = new Promise<void>(resolve => { release = resolve })
    const { service, deliver, reports, runs } = setup({ run: async () => gate })
    await deliver(a.id, await proof(liar, honest, 0))
    await deliver(b.id, await proof(liar, honest, 1))
    await vi.waitFor(() => { expect(runs).toHaveLength(1) })
    service.beforeStop()
    release()
    // Every continuation of the release runs before the next turn of the event loop.
    await new Promise(resolve => setImmediate(resolve))
    expect(runs).toEqual([a.id.toString()])
    expect(reports).toEqual([])
  })

  it('at most 16 wait for a run: more is reported busy and not examined', async () => {
    const [liar, honest] = await Promise.all([member(), member()])
    const senders = await Promise.all(Array.from({ length: 18 }, async () => member()))
    let release = (): void => {}
    const gate = new Promise<void>(resolve => { release = resolve })
    const { deliver, reports, runs } = setup({ run: async () => gate })
    const e = { kind: 'upper', input, claims: [await claim(liar, '"tipvu"'), await claim(honest, '"SHOUT"', 't2')] }
    for (const s of senders) expect(await deliver(s.id, e)).toBe(TopicValidatorResult.Accept)
    await vi.waitFor(() => { expect(reports).toHaveLength(1) })
    expect(reports[0]).toMatchObject({ verdict: 'unverifiable', from: senders[17].id.toString() })
    expect(reports[0].detail).toContain('busy')
    release()
    await vi.waitFor(() => { expect(reports).toHaveLength(18) })
    // One run for the one input: the waiting ones read its output.
    expect(runs).toHaveLength(1)
  })

  it('a full line turns away the newest evidence of the sender with the most waiting, not another sender\'s proof', async () => {
    const [liar, honest, flooder, other] = await Promise.all([member(), member(), member(), member()])
    let release = (): void => {}
    const gate = new Promise<void>(resolve => { release = resolve })
    const { deliver, reports } = setup({ run: async () => gate, allowance: { burst: 100, intervalMs: 10_000 } })
    const e = { kind: 'upper', input, claims: [await claim(liar, '"tipvu"'), await claim(honest, '"SHOUT"', 't2')] }
    // One runs, sixteen wait: all the flooder's.
    for (let i = 0; i < 17; i++) await deliver(flooder.id, e)
    expect(reports).toEqual([])
    // Another sender's proof takes the flooder's newest place; the flooder's next finds no room.
    await deliver(other.id, e)
    await vi.waitFor(() => { expect(reports).toHaveLength(1) })
    await deliver(flooder.id, e)
    await vi.waitFor(() => { expect(reports).toHaveLength(2) })
    expect(reports.map(r => [r.from, r.verdict])).toEqual([[flooder.id.toString(), 'unverifiable'], [flooder.id.toString(), 'unverifiable']])
    release()
    await vi.waitFor(() => { expect(reports).toHaveLength(19) })
    expect(reports.filter(r => r.from === other.id.toString()).map(r => r.verdict)).toEqual(['refuted'])
  })
})
