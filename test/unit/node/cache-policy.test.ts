import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import { Role } from '../../../src/core/federation/roles.js'
import { cachePolicy, ownerOf } from '../../../src/node/cache-policy.js'
import { signEntry } from '../../../src/services/cache/entry.js'
import { WriterUsage } from '../../../src/services/cache/writer-usage.js'
import { CACHE_TOPIC } from '../../../src/node/config.js'
import { dial, memberNode, testFederation } from '../../helpers/federation.js'
import type { FederationNode } from '../../../src/node/federation-node.js'
import type { FederationService } from '../../../src/services/federation/federation-service.js'
import type { PrivateKey } from '@libp2p/interface'

async function entry (key: PrivateKey, k: string, value: string, wallMs = Date.now()): ReturnType<typeof signEntry> {
  return await signEntry(key, peerIdFromPrivateKey(key), { key: k, value: new TextEncoder().encode(value), ts: { wallMs, counter: 0 }, ttlSeconds: 0, tombstone: false })
}

describe('cache policy', () => {
  it('needs cache-write, respects owned prefixes, and keeps each writer within its quota', async () => {
    const [w, r] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')])
    const writer = peerIdFromPrivateKey(w).toString()
    const fed = { allows: (peer: string, role: number) => role === Role.cacheWrite && peer === writer } as unknown as FederationService
    const usage = new WriterUsage({ entries: 2, bytes: 1_000 })
    const policy = cachePolicy(() => fed, usage)
    const gossip = { path: 'gossip' as const }
    expect(policy(await entry(r, 'k', 'v'), gossip)).toMatchObject({ reason: 'not-a-writer', penalize: true })
    expect(policy(await entry(r, 'k', 'v'), { path: 'sync' })).toMatchObject({ reason: 'not-a-writer', penalize: false })
    expect(policy(await entry(w, `@${peerIdFromPrivateKey(r).toString()}/x`, 'v'), gossip)).toMatchObject({ reason: 'not-key-owner' })
    expect(policy(await entry(w, `@${writer}/x`, 'v'), gossip)).toBeUndefined()
    usage.applied(await entry(w, 'a', 'v'))
    usage.applied(await entry(w, 'b', 'v'))
    expect(policy(await entry(w, 'c', 'v'), gossip)).toMatchObject({ reason: 'writer-quota', penalize: false })
    // Rewriting a key it holds does not count twice; a removal makes room.
    expect(policy(await entry(w, 'a', 'w'), gossip)).toBeUndefined()
    expect(policy(await entry(w, 'a', 'x'.repeat(2_000)), gossip)).toMatchObject({ reason: 'writer-quota' })
    usage.removed('b')
    expect(policy(await entry(w, 'c', 'v'), gossip)).toBeUndefined()
    expect(usage.of(writer)).toEqual({ entries: 1, bytes: 2 })
  })

  it('reads the owner of writer-scoped keys', () => {
    expect(ownerOf('@12D3KooWabc/thing')).toBe('12D3KooWabc')
    expect(ownerOf('shared/thing')).toBeUndefined()
  })
})

describe('cache authorization between in-process members', () => {
  const started: FederationNode[] = []
  afterEach(async () => { await Promise.all(started.splice(0).map(async n => { await n.stop() })) })

  it('a member without cache-write has its entries refused everywhere, reported per peer, and it cannot write locally', async () => {
    const fed = await testFederation()
    const readerKey = await generateKeyPair('Ed25519')
    const [a, reader] = await Promise.all([memberNode(fed), memberNode(fed, { key: readerKey, roles: Role.submit | Role.serve })])
    started.push(a, reader)
    await dial(reader, a)
    await expect.poll(() => a.libp2p.services.pubsub.getSubscribers(CACHE_TOPIC).map(String), { timeout: 5_000 }).toContain(reader.peerId.toString())
    await expect(reader.cachePut('k', 'v')).rejects.toThrow(/no cache-write role/)
    // A modified node sends anyway: its own signed entry straight into gossip.
    const forced = await entry(readerKey, 'k', 'sneaky')
    await expect.poll(async () => {
      await reader.libp2p.services.pubsub.publish(CACHE_TOPIC, forced.wire).catch(() => {})
      return a.libp2p.services.cache.refusals(reader.peerId)
    }, { timeout: 5_000 }).toMatchObject({ 'not-a-writer': expect.any(Number) })
    expect(await a.cacheGet('k')).toBeUndefined()
    expect((await a.peers()).find(p => p.peerId === reader.peerId.toString())?.cacheRefusals).toMatchObject({ 'not-a-writer': expect.any(Number) })
  })
})
