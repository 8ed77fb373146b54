/**
 * Is this node federated or on its own? A pure state machine fed by events, so the same code
 * decides in the daemon (real clock), the tests (fake time) and the simulation (virtual time).
 *
 * - `federated` while at least one peer is *live*, `solo` otherwise (DESIGN.md "Partition").
 * - A peer is live while its last heartbeat (a capacity advert or a ping answer) is younger than
 *   `livenessMs`. Adverts come every second, so 2.5 s is two and a half missed adverts: enough to
 *   ride out one lost or late advert, and, with `tick` called every ~250 ms (or when
 *   `nextExpiryAt` says), a silently dead link (no FIN, no RST) is noticed within 3 s of the
 *   last heartbeat. A peer that says it advertises less often (an idle node) gets a longer
 *   window of its own, scaled the same way. A closed connection (`lost`) ends liveness at once.
 *
 * Hysteresis, and why this one: a peer becomes live only once `confirmHeartbeats` (default 2)
 * heartbeats arrived in a row, each within `livenessMs` of the one before. A link that delivers
 * a stray advert now and then (a flapping Wi-Fi, a half-open path, a peer reconnecting in a loop)
 * never confirms, so the mode does not flip for it; a healed link confirms on its second advert,
 * one second after the first. So the node still returns to `federated` on the first live peer; a
 * peer is just not called live on one packet's evidence. Leaving `federated` gets no hysteresis
 * on purpose: staying federated on a dead link is what costs (tasks sent into a black hole),
 * while the solo side is always safe. A minimum dwell time in solo was the alternative; it delays
 * every heal by the dwell even for a clean link, and it still flips on every stray packet once
 * the dwell is over.
 */
import { SECOND } from '../util/time.js'

/** A peer is live while its last heartbeat is younger than this (default 2.5 s, see above). */
export const DEFAULT_LIVENESS_MS = 2.5 * SECOND
/** Consecutive heartbeats, each within `livenessMs` of the last, that make a peer live. */
export const DEFAULT_CONFIRM_HEARTBEATS = 2
/** How often the owner should call `tick` for the 3 s detection bound to hold. */
export const RECOMMENDED_TICK_MS = 250

export type ConnectivityMode = 'federated' | 'solo'

export interface ConnectivityTransition {
  from: ConnectivityMode
  to: ConnectivityMode
  /** Time (ms) of the event that caused it. */
  at: number
}

export interface ConnectivityMonitorInit {
  /** See `DEFAULT_LIVENESS_MS` (default 2.5 s). */
  livenessMs?: number
  /** See `DEFAULT_CONFIRM_HEARTBEATS` (default 2; 1 disables the hysteresis). */
  confirmHeartbeats?: number
  /** Time (ms) the monitor starts, in `solo`, the value of `since` until the first transition
   * (default 0). */
  now?: number
  /** Stall time forgiven per silence at most, ms (default max(livenessMs, 10 s)): on a machine
   * that stalls all the time, a dead peer still expires within livenessMs + this. */
  maxForgiveMs?: number
}

interface PeerLiveness {
  lastHeard: number
  /** This peer's liveness window, ms: `livenessMs` unless its heartbeat said it beats slower. */
  windowMs: number
  /** Heartbeats in the current run, each within `livenessMs` of the previous one. */
  streak: number
  /** Stall time forgiven since its last heartbeat: at most `maxForgiveMs`. */
  forgiven: number
}

export class ConnectivityMonitor {
  private readonly livenessMs: number
  private readonly confirmHeartbeats: number
  private readonly maxForgiveMs: number
  private readonly peers = new Map<string, PeerLiveness>()
  private currentMode: ConnectivityMode = 'solo'
  private modeSince: number
  private transitionCount = 0
  /** Latest event time seen; the mode is judged at this time, so a late event cannot rewind it. */
  private clock: number

  constructor (init: ConnectivityMonitorInit = {}) {
    this.livenessMs = init.livenessMs ?? DEFAULT_LIVENESS_MS
    this.confirmHeartbeats = Math.max(1, init.confirmHeartbeats ?? DEFAULT_CONFIRM_HEARTBEATS)
    this.maxForgiveMs = init.maxForgiveMs ?? Math.max(this.livenessMs, 10_000)
    this.modeSince = init.now ?? 0
    this.clock = this.modeSince
  }

  get mode (): ConnectivityMode {
    return this.currentMode
  }

  /** Time (ms) the current mode was entered. */
  get since (): number {
    return this.modeSince
  }

  /** Mode changes so far. */
  get transitions (): number {
    return this.transitionCount
  }

  /**
   * A heartbeat from `peer` arrived at `nowMs`. One that is not newer than the last one from the
   * same peer (a duplicate, or delivered out of order) carries no news and is not counted.
   * `windowMs`: the peer's own liveness window from now on, when its heartbeat says it beats
   * slower than usual (an idle node advertises less often); never below `livenessMs`. Without
   * it the peer keeps the window it had.
   */
  heartbeat (peer: string, nowMs: number, windowMs?: number): ConnectivityTransition | undefined {
    const at = Number.isFinite(nowMs) ? nowMs : this.clock
    const now = this.advance(at)
    const known = this.peers.get(peer)
    if (known !== undefined && at <= known.lastHeard) return this.evaluate(now)
    const window = windowMs != null && Number.isFinite(windowMs) ? Math.max(this.livenessMs, windowMs) : undefined
    if (known !== undefined && at - known.lastHeard < known.windowMs) {
      known.lastHeard = at
      known.streak++
      known.forgiven = 0
      if (window != null) known.windowMs = window
    } else {
      // First heartbeat, or the first after a silence: the peer has to prove itself again.
      this.peers.set(peer, { lastHeard: at, windowMs: window ?? this.livenessMs, streak: 1, forgiven: 0 })
    }
    return this.evaluate(now)
  }

  /** The shortest liveness window of the peers heard from (`livenessMs` when none): how often
   * `tick` must run for a silent peer to be noticed on time. */
  shortestWindowMs (): number {
    let shortest = Infinity
    for (const p of this.peers.values()) shortest = Math.min(shortest, p.windowMs)
    return Number.isFinite(shortest) ? shortest : this.livenessMs
  }

  /** The connection to `peer` closed at `nowMs`: it is not live any more, whatever it sent. */
  lost (peer: string, nowMs: number): ConnectivityTransition | undefined {
    const now = this.advance(nowMs)
    this.peers.delete(peer)
    return this.evaluate(now)
  }

  /**
   * This process could not listen for `stallMs` up to `nowMs` (GC, a CPU-bound burst): that time
   * does not count as anyone's silence (up to `maxForgiveMs` per silence). Heartbeats sent meanwhile
   * are still to be read, and continue their senders' runs when they are.
   */
  forgive (stallMs: number, nowMs: number): void {
    if (!(stallMs > 0) || !Number.isFinite(nowMs)) return
    for (const p of this.peers.values()) {
      // Bounded per silence: on a machine that stalls all the time, a dead peer still expires.
      const add = Math.min(stallMs, this.maxForgiveMs - p.forgiven, nowMs - p.lastHeard)
      if (add <= 0) continue
      p.lastHeard += add
      p.forgiven += add
    }
  }

  /** Time passes: expires peers not heard from within `livenessMs`. */
  tick (nowMs: number): ConnectivityTransition | undefined {
    const now = this.advance(nowMs)
    for (const [peer, p] of this.peers) {
      // An expired peer's streak is void anyway (its next heartbeat starts a new run), so drop it
      // and keep the map as small as the set of peers actually talking to us.
      if (now - p.lastHeard >= p.windowMs) this.peers.delete(peer)
    }
    return this.evaluate(now)
  }

  /** Is `peer` live at `nowMs` (default: the latest event time)? */
  isPeerLive (peer: string, nowMs = this.clock): boolean {
    const p = this.peers.get(peer)
    return p !== undefined && this.isLive(p, nowMs)
  }

  /** When `peer` expires absent new heartbeats (undefined: not heard from). */
  expiryOf (peer: string): number | undefined {
    const p = this.peers.get(peer)
    return p === undefined ? undefined : p.lastHeard + p.windowMs
  }

  /** Peers live at `nowMs` (default: the latest event time), sorted. */
  livePeers (nowMs = this.clock): string[] {
    const live: string[] = []
    for (const [peer, p] of this.peers) {
      if (this.isLive(p, nowMs)) live.push(peer)
    }
    return live.sort()
  }

  /**
   * When, absent new heartbeats, the last live peer expires, or undefined when none is live. Lets
   * the owner set one timer instead of polling; ticking every `RECOMMENDED_TICK_MS` also works.
   */
  expiresAt (): number | undefined {
    let latest: number | undefined
    for (const p of this.peers.values()) {
      if (this.isLive(p, this.clock)) latest = Math.max(latest ?? -Infinity, p.lastHeard + p.windowMs)
    }
    return latest
  }

  /**
   * The earliest moment a peer heard from (live or still proving itself) expires absent new
   * heartbeats, or undefined when none is tracked: the owner's one timer instead of polling.
   */
  nextExpiryAt (): number | undefined {
    let earliest: number | undefined
    for (const p of this.peers.values()) earliest = Math.min(earliest ?? Infinity, p.lastHeard + p.windowMs)
    return earliest
  }

  private isLive (p: PeerLiveness, now: number): boolean {
    return p.streak >= this.confirmHeartbeats && now - p.lastHeard < p.windowMs
  }

  private advance (nowMs: number): number {
    if (Number.isFinite(nowMs) && nowMs > this.clock) this.clock = nowMs
    return this.clock
  }

  private evaluate (now: number): ConnectivityTransition | undefined {
    let anyLive = false
    for (const p of this.peers.values()) {
      if (this.isLive(p, now)) { anyLive = true; break }
    }
    const next: ConnectivityMode = anyLive ? 'federated' : 'solo'
    if (next === this.currentMode) return undefined
    const transition: ConnectivityTransition = { from: this.currentMode, to: next, at: now }
    this.currentMode = next
    this.modeSince = now
    this.transitionCount++
    return transition
  }
}
