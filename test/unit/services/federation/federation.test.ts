import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { DEFAULT_INVITE_ROLES } from '../../../../src/core/federation/roles.js'
import { Federation, cleanName } from '../../../../src/services/federation/federation.js'
import { FederationStore } from '../../../../src/store/federation-store.js'
import { FedStore } from '../../../../src/store/store.js'
import { HOUR } from '../../../../src/util/time.js'

async function founder (now = () => Date.now()): Promise<Federation> {
  const key = await generateKeyPair('Ed25519')
  const store = new FederationStore((await FedStore.memory()).sublevel('federation'))
  return await Federation.open({ store, self: { peerId: peerIdFromPrivateKey(key).toString(), privateKey: key, name: 'founder' }, clock: { now } })
}

async function peerId (): Promise<string> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
}

describe('Federation (an admin\'s side)', () => {
  it('an invite redeemed by several peers at once is granted once', async () => {
    const fed = await founder()
    const { secret } = await fed.createInvite(DEFAULT_INVITE_ROLES, HOUR)
    const askers = await Promise.all([peerId(), peerId(), peerId(), peerId()])
    const results = await Promise.allSettled(askers.map(async a => await fed.redeemInvite(secret, a, 'x')))
    expect(results.filter(r => r.status === 'fulfilled')).toHaveLength(1)
    expect(results.filter(r => r.status === 'rejected').map(r => String((r as PromiseRejectedResult).reason))).toEqual(Array(3).fill(expect.stringMatching(/used already/)))
  })

  it('cleans a joiner\'s name before signing (a control character would make every receiver refuse it)', async () => {
    const fed = await founder()
    const { secret } = await fed.createInvite(DEFAULT_INVITE_ROLES, HOUR)
    const joiner = await peerId()
    const [cert] = await fed.redeemInvite(secret, joiner, 'mallory\u0007\u202e')
    expect(cert.name).toBe('mallory')
    expect(cleanName('\u0000', joiner)).toBe(joiner.slice(-8))
  })

  it('renews a member only in the last third of its certificate, and not twice in a row', async () => {
    let now = Date.now()
    const fed = await founder(() => now)
    const { secret } = await fed.createInvite(DEFAULT_INVITE_ROLES, HOUR, 3 * HOUR)
    const member = await peerId()
    await fed.redeemInvite(secret, member, 'm')
    await expect(fed.renewFor(member)).rejects.toThrow(/last third/)
    now += 2.5 * HOUR
    const [renewed] = await fed.renewFor(member)
    expect(renewed.expiresAt).toBe(now + 3 * HOUR)
    now += 1_000
    await expect(fed.renewFor(member)).rejects.toThrow(/last third|a moment ago/)
  })
})
