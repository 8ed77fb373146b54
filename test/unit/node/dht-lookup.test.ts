import { noise } from '@chainsafe/libp2p-noise'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { memory } from '@libp2p/memory'
import { ping } from '@libp2p/ping'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { addConnectedDhtPeers, findPeerAddresses } from '../../../src/node/dht-lookup.js'
import type { DhtLookupNode } from '../../../src/node/dht-lookup.js'
import type { Libp2p } from '@libp2p/interface'
import type { SingleKadDHT } from '@libp2p/kad-dht'

/**
 * kad-dht learns peers from identify results that arrive after its topology is registered; a
 * connection identified before that (libp2p starts services side by side, bootstrap dials at once)
 * never enters the routing table, and every lookup then waits for a first peer until it times out.
 * addConnectedDhtPeers puts such peers in; here the race's outcome is made by hand (the peer is
 * taken out of the table after it connected).
 */

const PROTOCOL = '/fedmesh-test/kad/1.0.0'
type Node = Libp2p<{ dht: SingleKadDHT }>
const nodes: Node[] = []

/** A libp2p node on the memory transport; with the DHT (server mode) unless `dht` is false. */
async function node (name: string, dht = true): Promise<Node> {
  const n = await createLibp2p({
    addresses: { listen: [`/memory/dht-lookup-${name}-${Math.random().toString(36).slice(2)}`] },
    transports: [memory()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      ping: ping(),
      ...(dht ? { dht: kadDHT({ protocol: PROTOCOL, clientMode: false, peerInfoMapper: passthroughMapper }) } : {})
    }
  }) as unknown as Node
  nodes.push(n)
  return n
}

const lookupNode = (n: Node): DhtLookupNode => ({ dht: n.services.dht, protocol: PROTOCOL, getConnections: () => n.getConnections(), peerStore: n.peerStore })
const table = (n: Node): any => n.services.dht.routingTable

afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => n.stop())) })

describe('DHT lookups: connected DHT servers missing from the routing table', () => {
  it('are put back, and a lookup by id then gets its answer from them', async () => {
    const a = await node('a')
    const b = await node('b')
    const c = await node('c')
    // B is known to A only (A's peer store), as a restarted peer is.
    await b.dial(a.getMultiaddrs()[0])
    await c.dial(a.getMultiaddrs()[0])
    await expect.poll(async () => table(c).find(a.peerId), { timeout: 5_000 }).toBeDefined()
    // The race's outcome: C is connected to A, but its table does not hold A.
    await table(c).remove(a.peerId)
    expect(table(c).size).toBe(0)

    expect(await addConnectedDhtPeers(lookupNode(c))).toBe(1)
    await expect.poll(() => table(c).size, { timeout: 5_000 }).toBe(1)
    const found = await findPeerAddresses(lookupNode(c), b.peerId, AbortSignal.timeout(5_000))
    expect(found.map(String)).toEqual(b.getMultiaddrs().map(a => a.decapsulateCode(421).toString()))
    // Once the table holds every connected server (the lookup connected C to B too), nothing is added.
    await expect.poll(async () => addConnectedDhtPeers(lookupNode(c)), { timeout: 5_000 }).toBe(0)
  })

  it('skips peers that do not serve the DHT', async () => {
    const c = await node('c2')
    const other = await node('plain', false)
    await c.dial(other.getMultiaddrs()[0])
    await expect.poll(async () => (await c.peerStore.get(other.peerId)).protocols.length, { timeout: 5_000 }).toBeGreaterThan(0)
    expect(await addConnectedDhtPeers(lookupNode(c))).toBe(0)
  })
})
