import { ConnectivityMonitor, DEFAULT_LIVENESS_MS, RECOMMENDED_TICK_MS } from '../../core/connectivity.js'
import type { ConnectivityMode, ConnectivityTransition } from '../../core/connectivity.js'
import { pingOver } from '../../util/ping-over.js'
import { systemTimers } from '../../util/timers.js'
import type { Clock } from '../../util/time.js'
import type { TimerHandle, Timers } from '../../util/timers.js'
import type { ComponentLogger, CounterGroup, Libp2pEvents, Logger, Metrics, PeerId, Startable, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

export interface ConnectivityInit {
  clock: Clock
  /** A peer is live while heard from within this, ms. Default 2.5 s (core default). */
  livenessMs?: number
  /** A connected peer went silent and did not answer a ping: the link is dead (cable pulled). */
  onPeerSilent?: (peer: string) => void
  /** How long a silent peer gets to answer a ping before its connections are closed, ms. Default 700. */
  confirmTimeoutMs?: number
  onTransition?: (t: ConnectivityTransition) => void
  /** Timers and the monotonic clock that detects stalls of this process. Default: the event loop's. */
  timers?: Timers
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
 * missing heartbeats within ~3 s, long before TCP or libp2p's connection monitor would. A silent
 * peer that is still connected gets one quick ping (a CPU-starved peer may just be late with its
 * heartbeat); if that fails too, its connections are closed so tasks fail over at once and the
 * peer is re-dialled.
 */
export class ConnectivityService implements Startable {
  private readonly monitor: ConnectivityMonitor
  private readonly log: Logger
  private timer: TimerHandle | undefined
  private readonly timers: Timers
  private readonly transitions?: CounterGroup<ConnectivityMode>
  private live = new Set<string>()
  private readonly confirming = new Set<string>()
  private readonly livenessMs: number
  /** A tenth of the shortest liveness window of the peers heard from, never under the core's
   * recommended 250 ms: a slow profile (the simulation's 12 s) or a mesh of idle peers (each
   * advertising every few seconds) need not wake every node four times a second. */
  private tickMs: number
  private lastTickAt = 0
  private judging: NodeJS.Immediate | undefined

  constructor (private readonly components: ConnectivityComponents, private readonly init: ConnectivityInit) {
    this.log = components.logger.forComponent('fedmesh:connectivity')
    this.timers = init.timers ?? systemTimers
    this.livenessMs = init.livenessMs ?? DEFAULT_LIVENESS_MS
    this.tickMs = tickFor(this.livenessMs)
    this.monitor = new ConnectivityMonitor({ livenessMs: this.livenessMs, now: init.clock.now() })
    this.lastTickAt = this.timers.now()
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
    this.lastTickAt = this.timers.now()
    this.schedule()
  }

  stop (): void {
    this.timers.clearTimeout(this.timer)
    this.timer = undefined
    clearImmediate(this.judging)
    this.judging = undefined
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
  }

  private schedule (): void {
    this.timer = this.timers.setTimeout(() => {
      this.tick()
      if (this.timer != null) this.schedule()
    }, this.tickMs)
  }

  /**
   * A capacity advertisement (or another sign of life) arrived. `windowMs`: the peer's liveness
   * window from now on, when its advertisement says it beats slower than usual (core/connectivity).
   */
  heartbeat (peer: PeerId | string, windowMs?: number): void {
    this.heartbeatId(peer.toString(), windowMs)
  }

  private onDisconnect (evt: CustomEvent<PeerId>): void {
    this.record(this.monitor.lost(evt.detail.toString(), this.init.clock.now()))
    this.refreshLive()
  }

  /**
   * After a stall of this process (GC, a CPU-bound burst), heartbeats that
   * did arrive are still unread in socket buffers when timers run: the stall is forgiven (it
   * counts as nobody's silence) and peers are judged after the event loop's next I/O poll, once
   * those heartbeats are read.
   */
  private tick (): void {
    this.forgiveStall()
    this.lastTickAt = this.timers.now()
    this.tickMs = tickFor(this.monitor.shortestWindowMs())
    if (this.judging != null) return
    this.judging = setImmediate(() => {
      this.judging = undefined
      this.record(this.monitor.tick(this.init.clock.now()))
      this.refreshLive()
    })
  }

  /** Peers that were live and are not any more, while still connected: is the link dead? */
  private refreshLive (): void {
    const now = new Set(this.monitor.livePeers(this.init.clock.now()))
    for (const peer of this.live) {
      if (now.has(peer) || this.confirming.has(peer)) continue
      const conns = this.components.connectionManager.getConnections().filter(c => c.remotePeer.toString() === peer)
      if (conns.length === 0) continue
      this.confirming.add(peer)
      void this.confirmSilent(peer).finally(() => { this.confirming.delete(peer) })
    }
    this.live = now
  }

  private async confirmSilent (peer: string): Promise<void> {
    const conns = this.components.connectionManager.getConnections().filter(c => c.remotePeer.toString() === peer)
    if (conns.length === 0) return
    const timeoutMs = this.init.confirmTimeoutMs ?? 700
    // A ping whose timeout fired much later than asked timed out on this process's stall, not
    // the peer's silence: one more try. Each path is pinged on its own: one dead path (a WebRTC
    // connection whose hole punch failed) must not cut a live one (the relayed connection).
    for (let attempt = 0; attempt < 2; attempt++) {
      const started = this.timers.now()
      const answers = await Promise.all(conns.map(async c => await pingOver(c, this.timers.timeout(timeoutMs)).then(() => true, () => false)))
      if (answers.includes(true)) {
        // Alive after all: its heartbeat was just late.
        this.heartbeatId(peer)
        return
      }
      if (this.timers.now() - started < 2 * timeoutMs) break
    }
    this.log('peer %s went silent and missed a ping; closing its %d connection(s)', peer, conns.length)
    this.init.onPeerSilent?.(peer)
    for (const c of conns) c.abort(new Error('peer went silent (no heartbeat, no ping answer)'))
  }

  // Heartbeats arrive with every task frame: record them cheaply; liveness is re-judged on ticks.
  private heartbeatId (peer: string, windowMs?: number): void {
    this.forgiveStall()
    // A peer that beats faster again is judged at its pace from the next tick on (at most a
    // tenth of its old window later).
    this.record(this.monitor.heartbeat(peer, this.init.clock.now(), windowMs))
  }

  /** The tick timer is overdue: this process stalled. Whichever callback runs first after it says so. */
  private forgiveStall (): void {
    const at = this.timers.now()
    const late = at - this.lastTickAt - this.tickMs
    if (late <= this.livenessMs / 4) return
    this.monitor.forgive(late, this.init.clock.now())
    this.lastTickAt = at - this.tickMs
  }

  private record (t: ConnectivityTransition | undefined): void {
    if (t == null) return
    this.log('mode %s → %s', t.from, t.to)
    this.transitions?.increment({ [t.to]: true })
    this.init.onTransition?.(t)
  }
}

/** How often to judge liveness for a window of `windowMs`. */
function tickFor (windowMs: number): number {
  return Math.max(RECOMMENDED_TICK_MS, windowMs / 10)
}

export function connectivity (init: ConnectivityInit): (components: ConnectivityComponents) => ConnectivityService {
  return (components) => new ConnectivityService(components, init)
}
