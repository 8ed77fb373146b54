import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, describe, expect, it } from 'vitest'
import { Role } from '../../../src/core/federation/roles.js'
import { ReputationAction } from '../../../src/core/reputation/index.js'
import { certify, dial, memberNode, nodeTracker, testFederation } from '../../helpers/federation.js'
import type { FederationNode } from '../../../src/node/federation-node.js'
import type { EventType, NodeEvent } from '../../../src/node/events.js'

/** What a library user sees on `node.events`, from in-process members on @libp2p/memory. */

const { track, stopTracked } = nodeTracker()
afterEach(stopTracked)

/** Every event `node` emits from now on. */
function record (node: FederationNode): NodeEvent[] {
  const seen: NodeEvent[] = []
  node.events.addEventListener('event', (evt) => { seen.push(evt.detail) })
  return seen
}

const types = (events: NodeEvent[]): EventType[] => events.map(e => e.type)

describe('node events (library API)', () => {
  it('a member connecting, a refused impostor, the mode, a task on both ends and a revocation', async () => {
    const fed = await testFederation()
    const [a, b] = await Promise.all([track(memberNode(fed)), track(memberNode(fed))])
    const onA = record(a)
    const onB = record(b)
    const connected: Array<NodeEvent<'peer:connected'>> = []
    a.events.addEventListener('peer:connected', (evt) => { connected.push(evt.detail) })

    await dial(a, b)
    await expect.poll(() => connected.map(e => e.peer), { timeout: 5_000 }).toEqual([b.peerId.toString()])
    expect(connected[0]).toMatchObject({ direction: 'outbound', connection: 'direct', level: 'info' })
    expect(connected[0].address).toMatch(/^\/memory\//)
    await expect.poll(() => types(onA), { timeout: 5_000 }).toContain('mode:changed')
    expect(onA.find(e => e.type === 'mode:changed')).toMatchObject({ from: 'solo', to: 'federated' })

    // A task pinned to b: a sees its whole life, b that it served it and for whom.
    await expect.poll(() => a.route('echo').some(c => c.peerId === b.peerId.toString() && c.eligible), { timeout: 5_000 }).toBe(true)
    const run = await a.run({ kind: 'echo', input: new TextEncoder().encode('"hi"'), peer: b.peerId.toString() })
    expect(run.status).toBe('ok')
    const life = onA.filter(e => 'taskId' in e && e.taskId === run.taskId)
    expect(types(life)).toEqual(['task:submitted', 'task:started', 'task:routed', 'task:finished'])
    await expect.poll(() => onB.find(e => e.type === 'task:served' && e.taskId === run.taskId), { timeout: 5_000 })
      .toMatchObject({ origin: a.peerId.toString(), status: 'ok', level: 'info' })

    // Someone presenting a stolen certificate is refused.
    const stolen = await certify(fed, await generateKeyPair('Ed25519'))
    const thief = await track(memberNode(fed, { chain: [stolen] }))
    await dial(thief, a).catch(() => {})
    await expect.poll(() => onA.find(e => e.type === 'peer:refused'), { timeout: 5_000 }).toMatchObject({ peer: thief.peerId.toString(), level: 'warn' })

    // Revoking b: a says so, cuts it off, and b is disconnected.
    await a.federation.revoke(b.peerId.toString())
    await expect.poll(() => onA.find(e => e.type === 'member:revoked'), { timeout: 5_000 }).toMatchObject({ peer: b.peerId.toString() })
    await expect.poll(() => onA.find(e => e.type === 'peer:disconnected'), { timeout: 5_000 }).toMatchObject({ peer: b.peerId.toString() })
    // The ids are the order things happened in, and the node remembers them.
    expect(onA.map(e => e.id)).toEqual(onA.map((_, i) => onA[0].id + i))
    expect(a.events.recent().map(e => e.id)).toEqual(onA.map(e => e.id))
  })

  it('a cache write the node\'s roles refuse is an event, with the writer and the reason', async () => {
    const fed = await testFederation()
    const reader = await track(memberNode(fed, { roles: Role.submit | Role.serve }))
    const refusals: Array<NodeEvent<'cache:refused'>> = []
    reader.events.addEventListener('cache:refused', (evt) => { refusals.push(evt.detail) })
    await expect(reader.cachePut('k', 'v')).rejects.toThrow()
    expect(refusals).toHaveLength(1)
    expect(refusals[0]).toMatchObject({ key: 'k', writer: reader.peerId.toString(), path: 'local', reason: 'not-a-writer', level: 'warn' })
  })

  it('a peer banned for its reputation: banned, with its score and until when, then disconnected', async () => {
    const fed = await testFederation()
    const [a, b] = await Promise.all([track(memberNode(fed)), track(memberNode(fed))])
    const onA = record(a)
    await dial(a, b)
    await expect.poll(() => types(onA), { timeout: 5_000 }).toContain('peer:connected')
    const peer = b.peerId.toString()
    for (let i = 0; i < 20 && !a.libp2p.services.reputation.isBanned(peer); i++) a.libp2p.services.reputation.report(peer, ReputationAction.ForgedEntry)
    const banned = onA.find(e => e.type === 'peer:banned')
    expect(banned).toMatchObject({ peer, level: 'warn' })
    expect((banned as NodeEvent<'peer:banned'>).score).toBeLessThan(0)
    expect(Date.parse((banned as NodeEvent<'peer:banned'>).until ?? '')).toBeGreaterThan(Date.now())
    await expect.poll(() => onA.find(e => e.type === 'peer:disconnected'), { timeout: 5_000 }).toMatchObject({ peer })
  })
})
