import { noise } from '@chainsafe/libp2p-noise'
import { identify } from '@libp2p/identify'
import { memory } from '@libp2p/memory'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { ItemIndex, Reconciler } from '../../../../src/core/reconcile/index.js'
import { SyncChannel } from '../../../../src/services/cache-sync/channel.js'
import { CACHE_SYNC_PROTOCOL } from '../../../../src/services/cache-sync/index.js'
import { maxEntryBytes, maxMessageBytes } from '../../../../src/services/cache-sync/codec.js'
import { CacheEntry } from '../../../../src/wire/cache.js'
import { memoryNode, origin, seed, sign } from './nodes.js'
import type { FederationNode } from '../../../../src/node/federation-node.js'
import type { Libp2p } from '@libp2p/interface'

const running: Array<{ stop: () => void | Promise<void> }> = []
afterEach(async () => {
  await Promise.all(running.splice(0).map(async n => { await n.stop() }))
})

/** A stock libp2p peer on @libp2p/memory that speaks cache-sync by hand (no fedmesh services). */
async function rawPeer (): Promise<Libp2p> {
  const node = await createLibp2p({
    addresses: { listen: [`/memory/cache-sync-raw-${process.pid}-${Math.random().toString(36).slice(2)}`] },
    transports: [memory()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() }
  })
  running.push(node)
  return node
}

async function victim (): Promise<FederationNode> {
  const node = await memoryNode('victim')
  running.push({ stop: async () => { await node.stop(0) } })
  return node
}

async function openSync (from: Libp2p, to: FederationNode): Promise<SyncChannel> {
  const stream = await from.dialProtocol(multiaddr(to.libp2p.getMultiaddrs()[0].toString()), CACHE_SYNC_PROTOCOL)
  return new SyncChannel(stream, { maxEntryBytes: maxEntryBytes(), maxMessageBytes: maxMessageBytes() })
}

const NOW = Date.now()

describe('cache-sync against a misbehaving peer', () => {
  it('rejects a forged entry pushed in ENTRIES, keeps the honest one, and the forger loses reputation', async () => {
    const v = await victim()
    const m = await rawPeer()
    const writer = await origin()
    const honest = await sign(writer, { key: 'honest', wallMs: NOW - 5_000 })
    const genuine = await sign(writer, { key: 'forged', wallMs: NOW - 5_000, value: 'original' })
    // Same signature, different value: the signature no longer covers the entry.
    const forged = CacheEntry.encode({ ...CacheEntry.decode(genuine.wire), value: new TextEncoder().encode('tampered') })

    const channel = await openSync(m, v)
    const reconciler = new Reconciler(new ItemIndex())
    await channel.send({ type: 'reconcile', horizonMs: NOW - 7 * 86_400_000, message: reconciler.initiate() })
    await channel.send({ type: 'entries', entries: [forged, honest.wire] })
    // Play the rest honestly: answer each RECONCILE until DONE.
    for await (const frame of channel.frames()) {
      if (frame.type === 'reconcile') {
        const { reply } = reconciler.respond(frame.message)
        await channel.send(reply != null ? { type: 'reconcile', horizonMs: NOW, message: reply } : { type: 'done', horizonMs: NOW })
        if (reply == null) break
      } else if (frame.type === 'done') {
        await channel.send({ type: 'done', horizonMs: NOW })
        break
      }
    }
    await channel.close()

    const { store } = v.libp2p.services.cache
    await expect.poll(async () => Buffer.from((await store.lookup('honest'))?.entry.wire ?? []).toString('hex')).toBe(Buffer.from(honest.wire).toString('hex'))
    expect(await store.lookup('forged')).toBeUndefined()
    await expect.poll(() => v.reputationOf(m.peerId.toString()).score).toBeLessThan(0)
  })

  it('resets the stream on a malformed message and the sender loses reputation', async () => {
    const v = await victim()
    const m = await rawPeer()
    const stream = await m.dialProtocol(multiaddr(v.libp2p.getMultiaddrs()[0].toString()), CACHE_SYNC_PROTOCOL)
    // A length prefix of 3, then three bytes that are no SyncMessage (field 1 with a bad enum value).
    stream.send(new Uint8Array([3, 0x08, 0x7f, 0x00]))
    await expect.poll(() => stream.status, { timeout: 5_000 }).not.toBe('open')
    await expect.poll(() => v.reputationOf(m.peerId.toString()).score).toBeLessThan(0)
  })

  it('refuses a length prefix over the message limit before buffering it', async () => {
    const v = await victim()
    const m = await rawPeer()
    const stream = await m.dialProtocol(multiaddr(v.libp2p.getMultiaddrs()[0].toString()), CACHE_SYNC_PROTOCOL)
    // varint 64 MiB
    stream.send(new Uint8Array([0x80, 0x80, 0x80, 0x20]))
    await expect.poll(() => stream.status, { timeout: 5_000 }).not.toBe('open')
    await expect.poll(() => v.reputationOf(m.peerId.toString()).score).toBeLessThan(0)
  })

  it('answers GET from its store, and a miss elsewhere is served from peers (L3)', async () => {
    const a = await victim()
    const b = await victim()
    const writer = await origin()
    const e = await sign(writer, { key: 'only-on-a', wallMs: NOW - 1_000, value: 'hello' })
    await seed(a, [e])
    await b.libp2p.dial(multiaddr(a.libp2p.getMultiaddrs()[0].toString()))
    await expect.poll(() => b.libp2p.services.cacheSync.peers().length).toBe(1)
    // Before any session could copy it: ask B, which fetches from A.
    const answers: Uint8Array[] = []
    const accept = async (_from: unknown, wire: Uint8Array): Promise<boolean> => { answers.push(wire); return true }
    expect(await b.libp2p.services.cacheSync.fetch('only-on-a', accept, AbortSignal.timeout(5_000))).toBe(true)
    expect(answers).toEqual([e.wire])
    expect(await b.libp2p.services.cacheSync.fetch('nowhere', accept, AbortSignal.timeout(5_000))).toBe(false)
    // Through the cache: the entry is taken in (path fetch) and served.
    expect((await b.libp2p.services.cache.get('only-on-a'))?.wire).toEqual(e.wire)
  })
})
