import { multiaddr } from '@multiformats/multiaddr'
import * as varint from 'uint8-varint'
import { afterEach, describe, expect, it } from 'vitest'
import { createFederationNode } from '../../../../src/node/create-node.js'
import { AdLinks, CAPACITY_PROTOCOL } from '../../../../src/services/capacity/ad-links.js'
import { FedStore } from '../../../../src/store/store.js'
import { CapacityAd } from '../../../../src/wire/capacity.js'
import type { FederationNode } from '../../../../src/node/federation-node.js'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Connection, Stream } from '@libp2p/interface'

const nodes: FederationNode[] = []
afterEach(async () => {
  await Promise.all(nodes.splice(0).map(async n => { await n.stop(0) }))
})

let counter = 0
async function node (capacityIntervalMs?: number): Promise<FederationNode> {
  const n = await createFederationNode({
    open: true,
    store: await FedStore.memory(),
    transport: 'memory',
    listen: [`/memory/ad-links-${process.pid}-${counter++}`],
    mdns: false,
    dht: false,
    journal: false,
    profile: 'local',
    concurrency: 1,
    capacityIntervalMs
  })
  await n.start()
  nodes.push(n)
  return n
}

async function until (cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

/** Open a raw capacity stream from `from` to `to` and write `bytes` on it. */
async function sendRaw (from: FederationNode, to: FederationNode, bytes: Uint8Array): Promise<Stream> {
  const conn = await from.libp2p.dial(multiaddr(to.libp2p.getMultiaddrs()[0].toString()))
  const stream = await conn.newStream(CAPACITY_PROTOCOL)
  stream.send(bytes)
  return stream
}

describe('capacity ad links', () => {
  it('a peer that connects gets the current ad at once, not an interval later', async () => {
    const [a, b] = await Promise.all([node(60_000), node(60_000)])
    await a.libp2p.dial(multiaddr(b.libp2p.getMultiaddrs()[0].toString()))
    // The interval is a minute: only the ad sent on connect can arrive within 5 s.
    await until(() => a.libp2p.services.capacity.table.get(b.peerId.toString()) != null &&
      b.libp2p.services.capacity.table.get(a.peerId.toString()) != null, 5_000, 'both tables to hold the other')
  })

  it('an oversized length prefix resets the stream and costs the sender', async () => {
    const [a, b] = await Promise.all([node(60_000), node(60_000)])
    const stream = await sendRaw(a, b, varint.encode(1024 * 1024))
    await until(() => b.reputationOf(a.peerId.toString()).score < 0, 5_000, 'the sender to lose reputation')
    await until(() => stream.status !== 'open', 5_000, 'the stream to be reset')
  })

  it('an undecodable ad costs the sender and never reaches the table', async () => {
    const [a, b] = await Promise.all([node(60_000), node(60_000)])
    await a.libp2p.dial(multiaddr(b.libp2p.getMultiaddrs()[0].toString()))
    await until(() => b.libp2p.services.capacity.table.get(a.peerId.toString()) != null, 5_000, 'b to hold a\'s ad')
    const before = b.libp2p.services.capacity.table.get(a.peerId.toString())?.ad
    const garbage = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])
    await sendRaw(a, b, Uint8Array.from([...varint.encode(garbage.byteLength), ...garbage]))
    await until(() => b.reputationOf(a.peerId.toString()).score < 0, 5_000, 'the sender to lose reputation')
    expect(b.libp2p.services.capacity.table.get(a.peerId.toString())?.ad).toEqual(before)
  })

  it('valid ads beyond the burst allowance (200) and 20 a second are a flood: the stream is reset and the sender pays', async () => {
    const [a, b] = await Promise.all([node(60_000), node(60_000)])
    const frames: number[] = []
    for (let i = 1; i <= 300; i++) {
      const body = CapacityAd.encode({
        ...CapacityAd.decode(new Uint8Array(0)),
        seq: Date.now() * 1000 + 10_000 + i,
        name: 'flooder',
        cores: 2,
        concurrency: 2,
        queueLimit: 64,
        kinds: ['echo'],
        intervalMs: 1000
      })
      frames.push(...varint.encode(body.byteLength), ...body)
    }
    const stream = await sendRaw(a, b, Uint8Array.from(frames))
    await until(() => b.reputationOf(a.peerId.toString()).score < 0, 5_000, 'the flooder to lose reputation')
    await until(() => stream.status !== 'open', 5_000, 'the flood stream to be reset')
    // The first ads (within the burst allowance) were taken as valid.
    expect(b.libp2p.services.capacity.table.get(a.peerId.toString())?.ad.name).toBe('flooder')
  })
})

describe('capacity ad links: which connection carries ads', () => {
  /** A connection that records the streams asked of it and never opens one. */
  const conn = (name: string, limited: boolean): Connection & { asked: number } => {
    const c = {
      name,
      asked: 0,
      status: 'open',
      limits: limited ? { bytes: 1024n } : undefined,
      remotePeer: { toString: () => 'peer-1' },
      newStream: async () => { c.asked++; return await new Promise<Stream>(() => {}) }
    }
    return c as unknown as Connection & { asked: number }
  }

  it('takes a direct path first, then a relayed one, and an unconfirmed one only when nothing else is open', async () => {
    const unconfirmed = conn('webrtc, not confirmed', false)
    const relayed = conn('relayed', true)
    const direct = conn('direct', false)
    let open: Connection[] = [unconfirmed, relayed]
    const links = new AdLinks({
      connectionManager: { getConnections: () => open } as any,
      registrar: { handle: async () => {}, unhandle: async () => {} } as any,
      events: new EventTarget() as any,
      logger: defaultLogger()
    }, { maxAdBytes: 1024, onAd: () => {}, onInvalid: () => {}, onConnect: () => {}, isDirect: (c) => c === direct })
    await links.start()
    const peer = peerIdFromString('12D3KooWEzBpYNAvaKF74DVRxLu1TkGnRyLFN5Wz4GQiexLy46SU')
    links.send(new Uint8Array([1]), peer)
    expect([unconfirmed.asked, relayed.asked]).toEqual([0, 1])
    await links.stop()

    open = [unconfirmed, relayed, direct]
    await links.start()
    links.send(new Uint8Array([1]), peer)
    expect(direct.asked).toBe(1)
    await links.stop()

    open = [unconfirmed]
    await links.start()
    links.send(new Uint8Array([1]), peer)
    expect(unconfirmed.asked).toBe(1)
    await links.stop()
  })
})
