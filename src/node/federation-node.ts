import { VERSION } from '../version.js'
import type { Membership } from '../services/membership/index.js'
import type { FedStore } from '../store/store.js'
import type { Clock } from '../util/time.js'
import type { StatusDoc, PeerDoc } from './documents.js'
import type { Libp2p, PeerId, PeerInfo, Startable } from '@libp2p/interface'
import type { GossipSub } from '@libp2p/gossipsub'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'

/** The services every federation node's libp2p carries (mdns, dht and bootstrap are optional). */
// A type alias, not an interface: libp2p's ServiceMap needs an index signature.
export type FedServices = {
  identify: unknown
  ping: Ping
  pubsub: GossipSub
  membership: Membership
  dht?: KadDHT
  mdns?: EventTarget
  bootstrap?: EventTarget
}

export interface FederationNodeParts {
  libp2p: Libp2p<FedServices>
  store: FedStore
  name: string
  clock: Clock
}

/**
 * A running federation node: the libp2p host and fedmesh's services over one store. This is the
 * library API (`createFederationNode`) and what the daemon's control API calls.
 */
export class FederationNode implements Startable {
  readonly libp2p: Libp2p<FedServices>
  readonly store: FedStore
  readonly name: string
  private readonly clock: Clock
  private startedAtMs = 0
  private running = false
  private readonly discoveryListeners: Array<() => void> = []

  constructor (parts: FederationNodeParts) {
    this.libp2p = parts.libp2p
    this.store = parts.store
    this.name = parts.name
    this.clock = parts.clock
  }

  get peerId (): PeerId {
    return this.libp2p.peerId
  }

  isStarted (): boolean {
    return this.running
  }

  async start (): Promise<void> {
    if (this.running) return
    this.running = true
    this.wireDiscovery()
    await this.libp2p.start()
    this.startedAtMs = this.clock.now()
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    for (const remove of this.discoveryListeners.splice(0)) remove()
    await this.libp2p.stop()
  }

  status (): StatusDoc {
    return {
      peerId: this.peerId.toString(),
      name: this.name,
      addresses: this.libp2p.getMultiaddrs().map(String),
      mode: this.libp2p.getPeers().length > 0 ? 'federated' : 'solo',
      peers: this.libp2p.getPeers().length,
      capacity: null,
      uptimeMs: this.running ? this.clock.now() - this.startedAtMs : 0,
      version: VERSION
    }
  }

  async peers (): Promise<PeerDoc[]> {
    const now = this.clock.now()
    const docs: PeerDoc[] = []
    for (const known of this.libp2p.services.membership.list()) {
      const connections = this.libp2p.getConnections(known.id)
      const stored = await this.libp2p.peerStore.get(known.id).catch(() => undefined)
      docs.push({
        peerId: known.id.toString(),
        name: '',
        addresses: (connections.length > 0
          ? connections.map(c => c.remoteAddr)
          : (stored?.addresses ?? []).map(a => a.multiaddr)).map(String),
        connected: connections.length > 0,
        discoveredVia: [...known.via].sort(),
        rttMs: null,
        capacity: null,
        reputation: 0,
        lastSeenMs: connections.length > 0 ? 0 : Math.max(0, now - known.lastSeenMs)
      })
    }
    return docs
  }

  /** Discovery services report peers; membership decides whether and when to dial them. */
  private wireDiscovery (): void {
    const { services } = this.libp2p
    const listen = (source: EventTarget | undefined, via: 'mdns' | 'dht' | 'bootstrap'): void => {
      if (source == null) return
      const handler = (evt: Event): void => {
        services.membership.discovered((evt as CustomEvent<PeerInfo>).detail, via)
      }
      source.addEventListener('peer', handler)
      this.discoveryListeners.push(() => { source.removeEventListener('peer', handler) })
    }
    listen(services.mdns, 'mdns')
    listen(services.dht as EventTarget | undefined, 'dht')
    listen(services.bootstrap, 'bootstrap')
  }
}
