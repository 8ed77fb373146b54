import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { timestampToBigInt } from '../../src/core/hlc.js'
import { signEntry } from '../../src/services/cache/entry.js'
import { CacheEntry } from '../../src/wire/cache.js'
import { startDaemon, stopAll, waitFor } from '../helpers/daemon.js'
import { createRawPeer, multiaddr } from '../helpers/raw-peer.js'
import type { Daemon } from '../helpers/daemon.js'

interface PeerDoc { peerId: string, connected: boolean, capacity: unknown, reputation: number, reputationState?: string }

const TOPIC = '/fedmesh/cache/1'

afterAll(stopAll)

async function valueOn (d: Daemon, key: string): Promise<unknown> {
  const r = await d.api('GET', `/v1/cache/${encodeURIComponent(key)}`)
  return r.status === 200 ? r.body.value : undefined
}

describe('replicated cache across three daemons', () => {
  let a: Daemon, b: Daemon, c: Daemon
  beforeAll(async () => {
    a = await startDaemon({ name: 'a' })
    const addr = await a.address()
    ;[b, c] = await Promise.all([startDaemon({ name: 'b', args: ['--bootstrap', addr] }), startDaemon({ name: 'c', args: ['--bootstrap', addr] })])
    // Capacity ads travel one hop: C hears B once the DHT has introduced them and they connected
    // (a walk at 1, 4 and 11 s after start; a loaded CI machine may need the later ones).
    const t0 = Date.now()
    await waitFor(async () => (await c.json<PeerDoc[]>('peers')).filter(p => p.capacity != null).length === 2, 30_000, 'C to hear A and B')
    console.info(`[cache] C heard A and B ${Date.now() - t0} ms after B and C answered`)
  })

  it('a put on A is readable on C', async () => {
    const t0 = Date.now()
    await a.json('cache', 'put', 'greeting', 'hello') // throws with the CLI's stderr if it fails
    await waitFor(async () => await valueOn(c, 'greeting') === 'hello', 10_000, 'C to hold the entry')
    console.info(`[cache] put on A visible on C after ${Date.now() - t0} ms (CLI round trips included)`)
    const got = await c.json<{ value: unknown, origin: string }>('cache', 'get', 'greeting')
    expect(got).toMatchObject({ value: 'hello', origin: await a.peerId() })
  })

  it('the newer of two writes wins everywhere', async () => {
    await a.json('cache', 'put', 'colour', 'red')
    await new Promise(resolve => setTimeout(resolve, 20))
    const second = await b.json<{ version: string }>('cache', 'put', 'colour', 'blue')
    for (const d of [a, b, c]) {
      await waitFor(async () => await valueOn(d, 'colour') === 'blue', 10_000, 'every node to settle on the newer write')
      expect((await d.json<{ version: string }>('cache', 'get', 'colour')).version).toBe(second.version)
    }
  })

  it('a delete replicates as a tombstone', async () => {
    await a.json('cache', 'put', 'doomed', 'soon gone')
    await waitFor(async () => await valueOn(b, 'doomed') === 'soon gone', 10_000, 'B to hold the entry')
    await c.json('cache', 'del', 'doomed')
    for (const d of [a, b, c]) await waitFor(async () => await valueOn(d, 'doomed') === undefined, 10_000, 'the delete to reach every node')
    const missing = await a.cli('cache', 'get', 'doomed')
    expect(missing.code).toBe(4)
    expect(missing.stderr).toMatch(/not found: doomed/)
  })

  it('rejects forged, unsigned, re-signed and garbage entries from a stock libp2p peer, and bans it', async () => {
    const forger = await createRawPeer()
    const unsigned = await createRawPeer({ signaturePolicy: 'StrictNoSign' })
    try {
      const idA = peerIdFromString(await a.peerId())
      const addrA = multiaddr(await a.address())
      for (const p of [forger, unsigned]) {
        p.services.pubsub.subscribe(TOPIC)
        await p.dial(addrA)
      }
      await waitFor(() => forger.services.pubsub.getSubscribers(TOPIC).some(s => s.equals(idA)), 10_000, 'the forger to see A subscribed')

      const now = { wallMs: Date.now(), counter: 0 }
      // 1. Claims to be A, signature is garbage.
      const forged = CacheEntry.encode({ key: 'forged', value: new TextEncoder().encode('"evil"'), hlc: timestampToBigInt(now), origin: idA.toMultihash().bytes, ttlSeconds: 0, tombstone: false, signature: new Uint8Array(64).fill(7) })
      // 2. A real signature, but by another key than the origin's: signed by a third party, origin A.
      const other = await generateKeyPair('Ed25519')
      const resigned = await signEntry(other, peerIdFromPrivateKey(other), { key: 'resigned', value: new TextEncoder().encode('"evil"'), ts: now, ttlSeconds: 0, tombstone: false })
      const resignedAsA = CacheEntry.encode({ ...CacheEntry.decode(resigned.wire), origin: idA.toMultihash().bytes })
      // 3. A valid entry of a third party, published by the forger (not its origin).
      const relayed = resigned.wire
      // 4. Garbage.
      const garbage = new Uint8Array([0xff, 0x00, 0x13, 0x37, 0x42])

      for (const data of [forged, resignedAsA, relayed, garbage]) {
        await forger.services.pubsub.publish(TOPIC, data).catch(() => {})
      }
      await unsigned.services.pubsub.publish(TOPIC, forged).catch(() => {})

      const forgerId = forger.peerId.toString()
      const t0 = Date.now()
      await waitFor(async () => (await a.json<PeerDoc[]>('peers')).find(p => p.peerId === forgerId)?.reputationState === 'banned', 10_000, 'A to ban the forger')
      await waitFor(() => forger.getConnections(idA).length === 0, 5_000, 'A to disconnect the forger')
      console.info(`[cache] forger banned and disconnected ${Date.now() - t0} ms after its messages`)
      // A refuses it from now on: a new connection is torn down by A's connection gater.
      await forger.dial(addrA).catch(() => {})
      await waitFor(() => forger.getConnections(idA).length === 0, 5_000, 'A to refuse the banned forger')
      const banned = (await a.json<Array<PeerDoc & { bannedUntil?: string, reputationComponents?: Record<string, number> }>>('peers')).find(p => p.peerId === forgerId)
      expect(banned).toMatchObject({ connected: false, reputationState: 'banned' })
      expect(banned?.reputationComponents?.gossip ?? 0).toBeLessThan(-60)

      for (const d of [a, b, c]) {
        const keys = (await d.json<Array<{ key: string }>>('cache', 'ls')).map(e => e.key)
        expect(keys).not.toContain('forged')
        expect(keys).not.toContain('resigned')
      }
      const metrics = (await a.api('GET', '/metrics')).body as string
      expect(metrics).toMatch(/fedmesh_cache_gossip_total\{outcome="forged"\} [1-9]/)
      // Honest peers keep their standing.
      const peersOfA = await a.json<PeerDoc[]>('peers')
      for (const id of [await b.peerId(), await c.peerId()]) {
        expect(peersOfA.find(p => p.peerId === id)?.reputation ?? 0).toBeGreaterThanOrEqual(0)
      }

      // The ban is persisted: A restarted on its data dir still refuses the forger.
      expect(await a.stop()).toBe(0)
      a = await startDaemon({ name: 'a', dataDir: a.dataDir })
      const afterRestart = (await a.json<PeerDoc[]>('peers')).find(p => p.peerId === forgerId)
      expect(afterRestart?.reputationState).toBe('banned')
      await forger.dial(multiaddr(await a.address())).catch(() => {})
      await waitFor(() => forger.getConnections(idA).length === 0, 5_000, 'the restarted A to refuse the forger')
    } finally {
      await forger.stop()
      await unsigned.stop()
    }
  })
})
