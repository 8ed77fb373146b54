import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, describe, expect, it } from 'vitest'
import { Role } from '../../../src/core/federation/roles.js'
import { certify, dial, memberNode, nodeTracker, testFederation } from '../../helpers/federation.js'
import type { FederationNode } from '../../../src/node/federation-node.js'

const { track, stopTracked } = nodeTracker()
afterEach(stopTracked)

const memberIds = (n: FederationNode): string[] => n.libp2p.services.federation.memberPeers().map(String)

describe('the federation boundary (in-process nodes)', () => {
  it('members of one federation connect, prove membership both ways and exchange capacity', async () => {
    const fed = await testFederation()
    const [a, b] = await Promise.all([track(memberNode(fed)), track(memberNode(fed))])
    await dial(a, b)
    await expect.poll(() => memberIds(a), { timeout: 5_000 }).toContain(b.peerId.toString())
    await expect.poll(() => memberIds(b), { timeout: 5_000 }).toContain(a.peerId.toString())
    await expect.poll(async () => (await a.peers()).find(p => p.peerId === b.peerId.toString())?.capacity != null, { timeout: 5_000 }).toBe(true)
  })

  it('a certificate replayed by another peer id is refused', async () => {
    const fed = await testFederation()
    const a = await track(memberNode(fed))
    const victimKey = await generateKeyPair('Ed25519')
    const stolen = await certify(fed, victimKey)
    // The thief has the victim's certificate but not its key: Noise authenticates the thief.
    const thief = await track(memberNode(fed, { chain: [stolen] }))
    await dial(thief, a).catch(() => {})
    await expect.poll(() => a.libp2p.services.federation.refused().map(r => r.peer), { timeout: 5_000 }).toContain(thief.peerId.toString())
    expect(memberIds(a)).not.toContain(thief.peerId.toString())
    await expect.poll(() => a.libp2p.getConnections(thief.peerId).length, { timeout: 5_000 }).toBe(0)
    expect((await a.peers()).map(p => p.peerId)).not.toContain(thief.peerId.toString())
  })

  it('two federations on one network never take each other in, and their DHTs speak different protocols', async () => {
    const [f1, f2] = await Promise.all([testFederation('one'), testFederation('two')])
    const [a1, a2, b1] = await Promise.all([track(memberNode(f1, { dht: true })), track(memberNode(f1, { dht: true })), track(memberNode(f2, { dht: true }))])
    await dial(a1, a2)
    await dial(b1, a1).catch(() => {})
    await dial(a2, b1).catch(() => {})
    await expect.poll(() => memberIds(a1), { timeout: 5_000 }).toEqual([a2.peerId.toString()])
    await expect.poll(() => a1.libp2p.services.federation.refused().map(r => r.peer), { timeout: 5_000 }).toContain(b1.peerId.toString())
    await expect.poll(() => b1.libp2p.getConnections().length, { timeout: 5_000 }).toBe(0)
    const kad = (n: FederationNode): string[] => n.libp2p.getProtocols().filter(p => p.includes('/kad/'))
    expect(kad(a1)).toEqual([`/fedmesh/kad/${f1.identity.id}/1.0.0`])
    expect(kad(b1)).toEqual([`/fedmesh/kad/${f2.identity.id}/1.0.0`])
    // a1's routing table knows a2 only.
    const table = (a1.libp2p.services.dht as any).routingTable
    await expect.poll(() => table.size, { timeout: 5_000 }).toBe(1)
  })

  it('a member without serve is never routed to', async () => {
    const fed = await testFederation()
    const [a, submitter] = await Promise.all([track(memberNode(fed)), track(memberNode(fed, { roles: Role.submit }))])
    await dial(submitter, a)
    await expect.poll(async () => (await a.peers()).find(p => p.peerId === submitter.peerId.toString())?.capacity != null, { timeout: 5_000 }).toBe(true)
    const eligible = (n: FederationNode): string[] => n.route('echo').filter(c => c.eligible).map(c => c.peerId)
    expect(eligible(a)).not.toContain(submitter.peerId.toString())
    await expect.poll(() => eligible(submitter), { timeout: 5_000 }).toContain(a.peerId.toString())
  })
})
