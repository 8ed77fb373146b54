import { DEFAULT_PING_PACE, isRttChange, pingGapMs } from '../../core/ping-pace.js'
import { RttEstimator } from '../../core/rtt.js'
import { VivaldiClient, estimateRttMs, isValidCoordinate } from '../../core/vivaldi.js'
import { SECOND } from '../../util/time.js'
import type { PingPace } from '../../core/ping-pace.js'
import type { RttSource } from '../../core/routing/score.js'
import type { Coordinate } from '../../core/vivaldi.js'
import type { ComponentLogger, Logger, PeerId, Startable } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { Ping } from '@libp2p/ping'

/** Errors of a stream or connection that closed under a ping (libp2p's names). */
const CLOSED_UNDER_US = new Set(['StreamStateError', 'StreamResetError', 'StreamClosedError', 'ConnectionClosedError', 'ConnectionClosingError', 'UnexpectedEOFError'])

export interface LatencyInit {
  /** How often a link is pinged until its RTT settles, ms (also how often pings are due-checked). Default 2 s. */
  intervalMs?: number
  /** How often a settled link is pinged, ms (core/ping-pace.ts). Default 30 s. */
  settledIntervalMs?: number
  /** Peers pinged per round at most (the rest wait for the next rounds). Default 32. */
  maxPingsPerRound?: number
  /** A ping slower than this is a failure, ms. Default 2 s. */
  pingTimeoutMs?: number
  /** A peer's last advertised Vivaldi coordinate (from its capacity advertisement). */
  coordinateOf: (peerId: string) => Coordinate | undefined
  random: () => number
  /** A monotonic clock, ms. Default performance.now(). */
  now?: () => number
}

export interface LatencyComponents {
  ping: Ping
  connectionManager: ConnectionManager
  logger: ComponentLogger
}

/**
 * RTT to connected peers from libp2p ping (median filter + EWMA), and this node's Vivaldi
 * coordinate, updated from each ping with the peer's advertised coordinate, so RTT to peers
 * never pinged can be estimated from their advertisements alone. A link is pinged quickly until
 * its RTT settles, then seldom (core/ping-pace.ts).
 */
export class LatencyService implements Startable {
  readonly vivaldi: VivaldiClient
  private readonly log: Logger
  private readonly rtts = new Map<string, RttEstimator>()
  /** RTT estimates kept at most (peers that left are forgotten first). */
  private readonly maxPeers = 2_000
  private readonly intervalMs: number
  private readonly pace: PingPace
  /** Per peer: agreeing samples in a row, and when its next ping is due (monotonic ms). */
  private readonly pacing = new Map<string, { steady: number, dueAt: number }>()
  private readonly now: () => number
  private readonly maxPingsPerRound: number
  private readonly pingTimeoutMs: number
  private timer: NodeJS.Timeout | undefined
  private cursor = 0

  constructor (private readonly components: LatencyComponents, private readonly init: LatencyInit) {
    this.log = components.logger.forComponent('fedmesh:latency')
    this.vivaldi = new VivaldiClient({ random: init.random })
    this.intervalMs = init.intervalMs ?? 2 * SECOND
    this.pace = { ...DEFAULT_PING_PACE, quickMs: this.intervalMs, settledMs: init.settledIntervalMs ?? DEFAULT_PING_PACE.settledMs }
    this.now = init.now ?? (() => performance.now())
    this.maxPingsPerRound = init.maxPingsPerRound ?? 32
    this.pingTimeoutMs = init.pingTimeoutMs ?? 2 * SECOND
  }

  readonly [Symbol.toStringTag] = 'fedmesh:latency'

  start (): void {}

  afterStart (): void {
    if (this.timer != null) return
    const tick = (): void => {
      this.round().catch(err => { this.log.error('ping round failed - %e', err) })
        .finally(() => { if (this.timer != null) this.timer = setTimeout(tick, this.intervalMs) })
    }
    this.timer = setTimeout(tick, this.intervalMs / 4)
  }

  stop (): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }

  coordinate (): Coordinate {
    return this.vivaldi.coordinate()
  }

  /** Measured RTT when there is one, else the Vivaldi estimate from the peer's coordinate. */
  rttTo (peerId: string): { rttMs: number, source: RttSource } | undefined {
    const measured = this.rtts.get(peerId)?.value
    if (measured != null) return { rttMs: measured, source: 'ping' }
    const coord = this.init.coordinateOf(peerId)
    if (coord == null || !isValidCoordinate(coord)) return undefined
    return { rttMs: estimateRttMs(this.vivaldi.coordinate(), coord), source: 'vivaldi' }
  }

  /** Both figures for one peer: the measured RTT (if pinged) and the Vivaldi estimate (if it advertised a coordinate). */
  rttDetail (peerId: string): { measuredMs?: number, estimatedMs?: number } {
    const measuredMs = this.rtts.get(peerId)?.value
    const coord = this.init.coordinateOf(peerId)
    const estimatedMs = coord != null && isValidCoordinate(coord) ? estimateRttMs(this.vivaldi.coordinate(), coord) : undefined
    return { ...(measuredMs != null ? { measuredMs } : {}), ...(estimatedMs != null ? { estimatedMs } : {}) }
  }

  /** Ping a peer now, `count` times, `intervalMs` apart: each round trip in ms, or the error (the background estimate is fed too). */
  async pingNow (peer: PeerId, count: number, intervalMs: number, options: { signal?: AbortSignal, timeoutMs?: number } = {}): Promise<Array<number | Error>> {
    const results: Array<number | Error> = []
    for (let i = 0; i < count; i++) {
      if (i > 0) await new Promise(resolve => setTimeout(resolve, intervalMs))
      options.signal?.throwIfAborted()
      const signal = AbortSignal.any([AbortSignal.timeout(options.timeoutMs ?? this.pingTimeoutMs), ...(options.signal != null ? [options.signal] : [])])
      try {
        const rtt = await this.pingOnce(peer, signal)
        this.sample(peer, rtt)
        results.push(rtt)
      } catch (err) {
        results.push(err as Error)
      }
    }
    return results
  }

  /**
   * One ping, tried once more when the connection it took closed under it (an AutoNAT dial-back
   * connection the other side closes as soon as its check is done, a relayed one a hole punch
   * replaced): libp2p picks another open connection, or dials, the second time.
   */
  private async pingOnce (peer: PeerId, signal: AbortSignal): Promise<number> {
    try {
      return await this.components.ping.ping(peer, { signal })
    } catch (err) {
      if (signal.aborted || !CLOSED_UNDER_US.has((err as Error).name)) throw err
      this.log('ping %p: its connection closed under it, trying once more - %s', peer, (err as Error).message)
      return await this.components.ping.ping(peer, { signal })
    }
  }

  forget (peer: PeerId): void {
    this.rtts.delete(peer.toString())
    this.pacing.delete(peer.toString())
    this.vivaldi.forget(peer.toString())
  }

  /** Drop the estimates of peers not connected now (bounded memory whatever the churn). */
  private forgetUnconnected (): void {
    const connected = new Set(this.components.connectionManager.getConnections().map(c => c.remotePeer.toString()))
    for (const id of this.rtts.keys()) {
      if (!connected.has(id)) {
        this.rtts.delete(id)
        this.pacing.delete(id)
        this.vivaldi.forget(id)
      }
    }
  }

  /** Ping the connected peers whose ping is due (a bounded slice, round-robin), in parallel. */
  private async round (): Promise<void> {
    const peers = new Map<string, PeerId>()
    // Peers reached only through a relay are not pinged: the relay's path is not theirs (tasks
    // never take it), and libp2p's ping would dial them anew (it uses no limited connection),
    // a hole-punch attempt every round.
    for (const c of this.components.connectionManager.getConnections()) {
      if (c.limits == null && c.status === 'open') peers.set(c.remotePeer.toString(), c.remotePeer)
    }
    const now = this.now()
    for (const id of this.pacing.keys()) if (!peers.has(id)) this.pacing.delete(id)
    const ids = [...peers.values()].filter(p => (this.pacing.get(p.toString())?.dueAt ?? 0) <= now)
    if (ids.length === 0) return
    const n = Math.min(this.maxPingsPerRound, ids.length)
    const start = this.cursor % ids.length
    this.cursor += n
    const slice = Array.from({ length: n }, (_, i) => ids[(start + i) % ids.length])
    await Promise.all(slice.map(async peer => {
      // Not due again while this ping is out; a failed one leaves the link unsettled.
      this.pacing.set(peer.toString(), { steady: this.pacing.get(peer.toString())?.steady ?? 0, dueAt: now + this.pace.quickMs })
      try {
        const rtt = await this.components.ping.ping(peer, { signal: AbortSignal.timeout(this.pingTimeoutMs) })
        this.sample(peer, rtt)
      } catch (err) {
        this.pacing.set(peer.toString(), { steady: 0, dueAt: now + this.pace.quickMs })
        this.log.trace('ping %p failed - %s', peer, (err as Error).message)
      }
    }))
  }

  private sample (peer: PeerId, rttMs: number): void {
    const id = peer.toString()
    const before = this.rtts.get(id)?.value
    const steady = isRttChange(this.pace, before, rttMs) ? 0 : (this.pacing.get(id)?.steady ?? 0) + 1
    this.pacing.set(id, { steady, dueAt: this.now() + pingGapMs(this.pace, steady) })
    let est = this.rtts.get(peer.toString())
    if (est == null) {
      if (this.rtts.size >= this.maxPeers) this.forgetUnconnected()
      est = new RttEstimator()
      this.rtts.set(peer.toString(), est)
    }
    est.update(rttMs)
    const coord = this.init.coordinateOf(peer.toString())
    if (coord != null && isValidCoordinate(coord)) this.vivaldi.update(peer.toString(), coord, rttMs)
  }
}

export function latency (init: LatencyInit): (components: LatencyComponents) => LatencyService {
  return (components) => new LatencyService(components, init)
}
