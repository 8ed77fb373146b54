import { generateKeyPair } from '@libp2p/crypto/keys'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it, vi } from 'vitest'
import { EVIDENCE_TOPIC, EvidenceService } from '../../../../src/services/evidence/evidence-service.js'
import { sha256, signReceipt, verifyClaim } from '../../../../src/services/tasks/receipt.js'
import { Evidence } from '../../../../src/wire/evidence.js'
import type { EvidenceReport } from '../../../../src/services/evidence/evidence-service.js'
import type { Claim } from '../../../../src/wire/evidence.js'
import type { GossipSub, Message } from '@libp2p/gossipsub'
import type { PeerId, PrivateKey } from '@libp2p/interface'

const enc = (s: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(s)
const input = enc('"shout"')

async function member (): Promise<{ key: PrivateKey, id: PeerId }> {
  const key = await generateKeyPair('Ed25519')
  return { key, id: peerIdFromPrivateKey(key) }
}

async function claim (m: { key: PrivateKey, id: PeerId }, output: string, taskId = 't1'): Promise<Claim> {
  return { signer: m.id.toString(), taskId, outputDigest: sha256(enc(output)) as Uint8Array<ArrayBuffer>, signature: await signReceipt(m.key, taskId, 'upper', input, enc(output)) as Uint8Array<ArrayBuffer> }
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
    expect(await verifyClaim({ ...c, signer: 'not a peer id' }, 'upper', digest)).toBe(false)
  })
})

describe('EvidenceService', () => {
  function setup (options: { canRun?: boolean, output?: string } = {}) {
    const validators = new Map<string, (source: PeerId, msg: Message) => Promise<TopicValidatorResult>>()
    const pubsub = { topicValidators: validators, subscribe: vi.fn(), unsubscribe: vi.fn(), publish: vi.fn(async () => ({ recipients: [] })) }
    const charged: Array<[string, string]> = []
    const reports: EvidenceReport[] = []
    let now = 0
    const service = new EvidenceService({ pubsub: pubsub as unknown as GossipSub, logger: defaultLogger() }, {
      clock: { now: () => now },
      canRun: () => options.canRun ?? true,
      runHere: async () => enc(options.output ?? '"SHOUT"'),
      charge: (peer, why) => { charged.push([peer, why]) },
      onReport: (r) => { reports.push(r) }
    })
    service.afterStart()
    const validate = validators.get(EVIDENCE_TOPIC)!
    const deliver = async (from: PeerId, e: Evidence): Promise<TopicValidatorResult> =>
      validate(from, { type: 'signed', from, topic: EVIDENCE_TOPIC, data: Evidence.encode(e), sequenceNumber: 1n, signature: new Uint8Array(), key: from.publicKey! } as unknown as Message)
    return { service, deliver, charged, reports, advance: (ms: number) => { now += ms } }
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

  it('no slander: claims its own run agrees with change nothing (refuted)', async () => {
    const [honest, sender] = await Promise.all([member(), member()])
    const { deliver, charged, reports } = setup()
    await deliver(sender.id, { kind: 'upper', input, claims: [await claim(honest, '"SHOUT"')] })
    await vi.waitFor(() => { expect(reports).toHaveLength(1) })
    expect(reports[0].verdict).toBe('refuted')
    expect(charged).toEqual([])
  })

  it('a kind it does not run as deterministic: unverifiable, nobody charged', async () => {
    const [liar, sender] = await Promise.all([member(), member()])
    const { deliver, charged, reports } = setup({ canRun: false })
    await deliver(sender.id, { kind: 'upper', input, claims: [await claim(liar, '"tipvu"')] })
    await vi.waitFor(() => { expect(reports).toHaveLength(1) })
    expect(reports[0].verdict).toBe('unverifiable')
    expect(charged).toEqual([])
  })

  it('a forged claim is rejected and costs its sender; the named signer loses nothing', async () => {
    const [victim, sender] = await Promise.all([member(), member()])
    const { deliver, charged, reports } = setup()
    const forged = { ...(await claim(sender, '"tipvu"')), signer: victim.id.toString() }
    expect(await deliver(sender.id, { kind: 'upper', input, claims: [forged] })).toBe(TopicValidatorResult.Reject)
    expect(charged).toEqual([[sender.id.toString(), 'invalid-message']])
    expect(reports).toEqual([])
  })

  it('examines one piece of evidence per sender per interval; malformed or oversized messages are rejected', async () => {
    const [liar, sender] = await Promise.all([member(), member()])
    const { deliver, advance } = setup()
    const e = { kind: 'upper', input, claims: [await claim(liar, '"tipvu"')] }
    expect(await deliver(sender.id, e)).toBe(TopicValidatorResult.Accept)
    expect(await deliver(sender.id, e)).toBe(TopicValidatorResult.Ignore)
    advance(10_000)
    expect(await deliver(sender.id, e)).toBe(TopicValidatorResult.Accept)
    expect(await deliver(sender.id, { kind: 'upper', input, claims: [] })).toBe(TopicValidatorResult.Reject)
    expect(await deliver(sender.id, { kind: 'Bad Kind', input, claims: e.claims })).toBe(TopicValidatorResult.Reject)
    expect(await deliver(sender.id, { kind: 'upper', input: new Uint8Array(70 * 1024), claims: e.claims })).toBe(TopicValidatorResult.Reject)
  })
})
