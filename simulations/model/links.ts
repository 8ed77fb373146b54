/**
 * Messages between simulated nodes: each pays its link's one-way latency (plus a TCP
 * retransmission now and then, network.ts), and one that cannot arrive (the receiver is down or
 * across a partition) is reported to the sender when it would notice: a crashed peer's
 * connection resets after a one-way latency (or, with churn.detect 'liveness', when its
 * heartbeats stop), a cut link is declared dead by liveness.
 */
import { DEFAULT_LIVENESS_MS, RECOMMENDED_TICK_MS } from '../../src/core/connectivity.js'
import { isUp } from './world.js'
import type { Rng } from '../prng.js'
import type { VirtualTime } from './virtual-time.js'
import type { World } from './world.js'

/** Time for a node to notice a silently dead link: liveness plus one tick (connectivity.ts). */
export const SILENT_DETECT_MS = DEFAULT_LIVENESS_MS + RECOMMENDED_TICK_MS

export class Links {
  private readonly silentCrash: boolean

  constructor (private readonly vt: VirtualTime, private readonly w: World, private readonly rng: Rng) {
    this.silentCrash = w.scenario.faults.churn?.detect === 'liveness'
  }

  /**
   * Deliver `arrive` at `to` after the link latency; when it cannot arrive, `lost` runs at the
   * time `from` learns so.
   */
  send (from: number, to: number, arrive: () => void, lost: () => void): void {
    const q = this.vt.q
    const now = q.now
    const at = now + this.w.net.deliveryMs(from, to, this.rng)
    if (!isUp(this.w, to, at) || !this.w.net.reachable(from, to, at)) {
      q.at(this.detectAt(from, to, now, at), lost)
      return
    }
    q.at(at, arrive)
  }

  /** `from` already knows it cannot reach `to` (its connection was declared dead): a dial now fails. */
  knownUnreachable (from: number, to: number): boolean {
    const now = this.vt.q.now
    const w = this.w
    if (!isUp(w, to, now)) return now >= w.downAt[to] + this.crashNoticedAfter(to, from)
    return !w.net.reachable(from, to, now) && now >= (w.partition?.atMs ?? now) + SILENT_DETECT_MS
  }

  /** How long after `crashed` dies `other` notices (its connection resets, or heartbeats stop). */
  crashNoticedAfter (crashed: number, other: number): number {
    return this.silentCrash ? SILENT_DETECT_MS : this.w.net.oneWay(crashed, other)
  }

  rtt (a: number, b: number): number {
    return this.w.net.rtt(a, b)
  }

  oneWay (a: number, b: number): number {
    return this.w.net.oneWay(a, b)
  }

  /** When `from` learns that a message to `to`, sent at `sentAt`, will never be answered. */
  private detectAt (from: number, to: number, sentAt: number, arriveAt: number): number {
    const w = this.w
    const rtt = w.net.rtt(from, to)
    if (!isUp(w, to, arriveAt)) return Math.max(sentAt + rtt, w.downAt[to] + this.crashNoticedAfter(to, from))
    return Math.max(sentAt + rtt, (w.partition?.atMs ?? sentAt) + SILENT_DETECT_MS)
  }
}
