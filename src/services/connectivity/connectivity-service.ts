import { ConnectivityMonitor, RECOMMENDED_TICK_MS } from '../../core/connectivity.js'
import type { ConnectivityMode, ConnectivityTransition } from '../../core/connectivity.js'
import type { Clock } from '../../util/time.js'
import type { ComponentLogger, CounterGroup, Libp2pEvents, Logger, Metrics, PeerId, Startable, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

export interface ConnectivityInit {
  clock: Clock
  /** A peer is live while heard from within this, ms. Default 2.5 s (core default). */
  livenessMs?: number
  /** A connected peer stopped being live: the link is silently dead (cable pulled). */
  onPeerSilent?: (peer: string) => void
  onTransition?: (t: ConnectivityTransition) => void
}

export interface ConnectivityComponents {
  events: TypedEventTarget<Libp2pEvents>
  connectionManager: ConnectionManager
  logger: ComponentLogger
  metrics?: Metrics
}

/**
 * Federated or solo: the node is `federated` while at least one peer is live (its capacity
 * heartbeat is fresh), `solo` otherwise. A link that dies without FIN or RST is noticed by the
 * missing heartbeats within ~3 s, long before TCP or libp2p's connection monitor would; its
 * connections are then closed so tasks fail over at once and the peer is re-dialled.
 */
export class ConnectivityService implements Startable {
  private readonly monitor: ConnectivityMonitor
  private readonly log: Logger
  private timer: NodeJS.Timeout | undefined
  private readonly transitions?: CounterGroup<ConnectivityMode>
  private live = new Set<string>()

  constructor (private readonly components: ConnectivityComponents, private readonly init: ConnectivityInit) {
    this.log = components.logger.forComponent('fedmesh:connectivity')
    this.monitor = new ConnectivityMonitor({ livenessMs: init.livenessMs, now: init.clock.now() })
    this.onDisconnect = this.onDisconnect.bind(this)
    this.transitions = components.metrics?.registerCounterGroup('fedmesh_connectivity_transitions_total', {
      label: 'to',
      help: 'Mode changes between federated and solo'
    })
    components.metrics?.registerMetric('fedmesh_connectivity_solo', {
      help: '1 while the node runs solo (no live peer)',
      calculate: () => this.monitor.mode === 'solo' ? 1 : 0
    })
  }

  readonly [Symbol.toStringTag] = 'fedmesh:connectivity'

  get mode (): ConnectivityMode {
    return this.monitor.mode
  }

  /** When the current mode began (epoch ms). */
  get since (): number {
    return this.monitor.since
  }

  get transitionCount (): number {
    return this.monitor.transitions
  }

  isLive (peer: string): boolean {
    return this.live.has(peer)
  }

  start (): void {
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)
    this.timer = setInterval(() => { this.tick() }, RECOMMENDED_TICK_MS)
  }

  stop (): void {
    clearInterval(this.timer)
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
  }

  /** A capacity advertisement (or another sign of life) arrived. */
  heartbeat (peer: PeerId): void {
    this.record(this.monitor.heartbeat(peer.toString(), this.init.clock.now()))
    this.refreshLive()
  }

  private onDisconnect (evt: CustomEvent<PeerId>): void {
    this.record(this.monitor.lost(evt.detail.toString(), this.init.clock.now()))
    this.refreshLive()
  }

  private tick (): void {
    this.record(this.monitor.tick(this.init.clock.now()))
    this.refreshLive()
  }

  /** Peers that were live and are not any more, while still connected: the link is dead. */
  private refreshLive (): void {
    const now = new Set(this.monitor.livePeers(this.init.clock.now()))
    for (const peer of this.live) {
      if (now.has(peer)) continue
      const conns = this.components.connectionManager.getConnections().filter(c => c.remotePeer.toString() === peer)
      if (conns.length === 0) continue
      this.log('peer %s went silent; closing its %d connection(s)', peer, conns.length)
      this.init.onPeerSilent?.(peer)
      for (const c of conns) c.abort(new Error('peer went silent (no heartbeat)'))
    }
    this.live = now
  }

  private record (t: ConnectivityTransition | undefined): void {
    if (t == null) return
    this.log('mode %s → %s', t.from, t.to)
    this.transitions?.increment({ [t.to]: true })
    this.init.onTransition?.(t)
  }
}

export function connectivity (init: ConnectivityInit): (components: ConnectivityComponents) => ConnectivityService {
  return (components) => new ConnectivityService(components, init)
}
