import type { Connection, PeerId, PeerStore } from '@libp2p/interface'
import type { SingleKadDHT } from '@libp2p/kad-dht'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * The part of kad-dht's routing table used here. Its public type only has `size`; `find` and
 * `queueRoutingTableUpdate` are the implementation's (16.x), checked at run time so a version
 * without them skips the repair instead of failing lookups.
 */
interface KadRoutingTable {
  size: number
  find?: (peer: PeerId) => Promise<PeerId | undefined>
  queueRoutingTableUpdate?: (peer: PeerId) => void
}

/** What the DHT lookups need of the node. */
export interface DhtLookupNode {
  dht: SingleKadDHT
  /** The DHT's protocol id (federation-scoped in a private federation). */
  protocol: string
  getConnections: () => Connection[]
  peerStore: PeerStore
}

/**
 * Put connected peers that serve the DHT into its routing table when it lacks them.
 *
 * kad-dht (16.x) learns peers only from identify results that arrive after its topology is
 * registered, from answers to its own queries, and at start from peers tagged in an earlier run.
 * libp2p starts its services side by side and the bootstrap service dials at once: a connection
 * whose identify finishes before the DHT registered its topology is never added. A node whose
 * only DHT server was connected that way keeps an empty routing table, and every query (each
 * re-dial lookup, each walk) waits for a first peer until its timeout. Measured: about one run
 * in three of the re-dial-by-id test (three daemons on loopback) had C's table empty for good.
 * Relayed (limited) connections are skipped: the DHT does not run over relays.
 */
export async function addConnectedDhtPeers (node: DhtLookupNode): Promise<number> {
  const routingTable = node.dht.routingTable as KadRoutingTable
  if (routingTable.find == null || routingTable.queueRoutingTableUpdate == null) return 0
  const seen = new Set<string>()
  let added = 0
  for (const conn of node.getConnections()) {
    const key = conn.remotePeer.toString()
    if (conn.status !== 'open' || conn.limits != null || seen.has(key)) continue
    seen.add(key)
    if (await routingTable.find(conn.remotePeer) != null) continue
    const protocols = await node.peerStore.get(conn.remotePeer).then(p => p.protocols, (): string[] => [])
    if (!protocols.includes(node.protocol)) continue
    // Verified (pinged) and added by the table's own queue; a query waiting for a first peer goes on then.
    routingTable.queueRoutingTableUpdate(conn.remotePeer)
    added++
  }
  return added
}

/** A peer's addresses as the DHT's servers know them now (no local cache); none when not found. */
export async function findPeerAddresses (node: DhtLookupNode, peer: PeerId, signal: AbortSignal): Promise<Multiaddr[]> {
  try {
    await addConnectedDhtPeers(node)
    for await (const event of node.dht.findPeer(peer, { signal, useCache: false })) {
      if (event.name === 'FINAL_PEER') return event.peer.multiaddrs
    }
  } catch {}
  return []
}
