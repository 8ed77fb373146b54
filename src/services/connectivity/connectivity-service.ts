import { ConnectivityMonitor, DEFAULT_LIVENESS_MS } from '../../core/connectivity.js'
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
  /** The one timer: due when the first peer heard from expires (none while nobody is heard from). */
  private timer: TimerHandle | undefined
  /** When that timer is due, by `timers.now()` (a timer running much later: this process stalled). */
  private dueAt = 0
  /** The same moment by `clock` (the monitor's time). */
  private dueAtClock = Infinity
  /** When (`timers.now()`) this service last ran: a stall began after it. */
  private lastRanAt = 0
  private running = false
  private readonly timers: Timers
  private readonly transitions?: CounterGroup<ConnectivityMode>
  private live = new Set<string>()
  private readonly confirming = new Set<string>()
  private readonly livenessMs: number
  private judging: NodeJS.Immediate | undefined

  constructor (private readonly components: ConnectivityComponents, private readonly init: ConnectivityInit) {
    this.log = components.logger.forComponent('fedmesh:connectivity')
    this.timers = init.timers ?? systemTimers
    this.livenessMs = init.livenessMs ?? DEFAULT_LIVENESS_MS
    this.monitor = new ConnectivityMonitor({ livenessMs: this.livenessMs, now: init.clock.now() })
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
    this.running = true
    this.lastRanAt = this.timers.now()
    this.schedule()
  }

  stop (): void {
    this.running = false
    this.timers.clearTimeout(this.timer)
    this.timer = undefined
    clearImmediate(this.judging)
    this.judging = undefined
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
  }

  /**
   * Liveness is judged when the first peer heard from would expire, not on a polling tick: a
   * silent peer is noticed the moment its window ends (polling every 250 ms noticed it up to
   * 250 ms later) and an idle mesh, whose heartbeats keep pushing that moment on, wakes this
   * service about once per liveness window instead of eight times a second (a timer and a
   * deferred judgment four times a second were the largest share of an idle daemon's wake-ups).
   */
  private schedule (expiry = this.monitor.nextExpiryAt()): void {
    this.timers.clearTimeout(this.timer)
    this.timer = undefined
    this.dueAt = 0
    this.dueAtClock = Infinity
    if (!this.running || expiry == null) return
    // One ms past the expiry: a timer on the monotonic clock may run a hair early by the wall clock.
    const delayMs = Math.max(1, expiry - this.init.clock.now() + 1)
    this.dueAt = this.timers.now() + delayMs
    this.dueAtClock = expiry
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined
      this.dueAtClock = Infinity
      this.check()
    }, delayMs)
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
  private check (): void {
    this.forgiveStall()
    this.dueAt = 0
    if (this.judging != null) return
    this.judging = setImmediate(() => {
      this.judging = undefined
      this.record(this.monitor.tick(this.init.clock.now()))
      this.refreshLive()
      this.schedule()
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

  // Heartbeats arrive with every task frame: record them cheaply; liveness is re-judged when
  // the first peer would expire.
  private heartbeatId (peer: string, windowMs?: number): void {
    this.forgiveStall()
    const now = this.init.clock.now()
    this.record(this.monitor.heartbeat(peer, now, windowMs))
    // Was live at some point: if it goes silent, the next judgment asks it (refreshLive).
    if (this.monitor.isPeerLive(peer, now)) this.live.add(peer)
    // Only an earlier expiry than the pending one needs a new timer (a new peer, or one that beats
    // faster again); while judging, the judgment schedules.
    const expiry = this.monitor.expiryOf(peer)
    if (this.running && this.judging == null && expiry != null && expiry < this.dueAtClock) this.schedule(this.timer == null ? undefined : expiry)
  }

  /**
   * The pending timer is overdue: this process stalled, or its event loop is too busy to keep
   * time. Whichever callback runs first after it says so. Forgiven: how late the timer is (what
   * a polling tick forgave on a busy loop), or, after a real stall, the whole time since this
   * service last ran (a heartbeat or a judgment), whichever is longer; never more than each
   * peer's silence (core/connectivity).
   */
  private forgiveStall (): void {
    const at = this.timers.now()
    const lastRan = this.lastRanAt
    this.lastRanAt = at
    const late = at - this.dueAt
    if (this.dueAt === 0 || late <= this.livenessMs / 4) return // no timer pending, or on time
    this.monitor.forgive(Math.max(late, at - lastRan), this.init.clock.now())
    this.dueAt = at
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
