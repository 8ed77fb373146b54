/**
 * Which connections carry a proven member. Every connection starts `pending`; HELLO makes it
 * `member` or `refused`. Streams of any protocol but the federation's own wait (bounded) for a
 * pending connection to settle and pass only for members: that is how a peer that has not proved
 * membership gets nothing from this node, whichever service it asks.
 */
import { PeerMap } from '@libp2p/peer-collections'
import type { Connection, PeerId } from '@libp2p/interface'

type State = 'pending' | 'member' | 'refused'

interface Tracked {
  peer: PeerId
  state: State
  settled: Promise<boolean>
  settle: (member: boolean) => void
}

export class MemberGate {
  private readonly conns = new Map<string, Tracked>()
  private readonly members = new PeerMap<Set<string>>()

  /** `stillMember` re-asks the roster, so a revoked or expired peer stops passing at once. */
  constructor (private readonly stillMember: (peer: PeerId) => boolean) {}

  track (conn: Connection): void {
    if (this.conns.has(conn.id)) return
    const { promise, resolve } = Promise.withResolvers<boolean>()
    this.conns.set(conn.id, { peer: conn.remotePeer, state: 'pending', settled: promise, settle: resolve })
  }

  /** HELLO succeeded on `conn`. True when it is the peer's first member connection. */
  accept (conn: Connection): boolean {
    this.track(conn)
    const t = this.conns.get(conn.id) as Tracked
    t.state = 'member'
    t.settle(true)
    let ids = this.members.get(conn.remotePeer)
    const first = ids == null
    if (ids == null) {
      ids = new Set()
      this.members.set(conn.remotePeer, ids)
    }
    ids.add(conn.id)
    return first
  }

  refuse (conn: Connection): void {
    this.track(conn)
    const t = this.conns.get(conn.id) as Tracked
    t.state = 'refused'
    t.settle(false)
  }

  /** The connection closed. True when the peer has no member connection left. */
  closed (conn: Connection): boolean {
    const t = this.conns.get(conn.id)
    t?.settle(false)
    this.conns.delete(conn.id)
    const ids = this.members.get(conn.remotePeer)
    if (ids == null) return false
    ids.delete(conn.id)
    if (ids.size > 0) return false
    this.members.delete(conn.remotePeer)
    return true
  }

  /** May a stream run on this connection? Waits for a pending HELLO, at most `signal`'s life. */
  async admit (conn: Connection, signal: AbortSignal): Promise<boolean> {
    const t = this.conns.get(conn.id)
    if (t == null) return false
    if (t.state === 'pending') {
      const aborted = new Promise<boolean>(resolve => { signal.addEventListener('abort', () => { resolve(false) }, { once: true }) })
      if (!await Promise.race([t.settled, aborted])) return false
    }
    return t.state === 'member' && this.stillMember(conn.remotePeer)
  }

  state (conn: Connection): State | undefined {
    return this.conns.get(conn.id)?.state
  }

  isMember (peer: PeerId): boolean {
    return this.members.has(peer) && this.stillMember(peer)
  }

  /** Peers with at least one member connection now. */
  memberPeers (): PeerId[] {
    return [...this.members.keys()]
  }
}
