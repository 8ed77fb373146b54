import { backoffDelay } from '../../core/backoff.js'
import { SECOND } from '../../util/time.js'
import type { BackoffPolicy } from '../../core/backoff.js'
import type { Clock } from '../../util/time.js'
import type { Connection, Logger, PeerId, PeerStore } from '@libp2p/interface'
import type { ConnectionManager, TransportManager } from '@libp2p/interface-internal'

/** The circuit relay v2 hop protocol: a peer that speaks it can hold a reservation for us. */
export const RELAY_HOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/hop'
/** libp2p's own relay discovery gets this long to make the first reservation (it takes ~0.3 s; asking while its attempt runs joins it), ms. */
export const RESERVATION_GRACE_MS = 1 * SECOND
/** Retries of a reservation libp2p did not make (or lost): 2 s .. 30 s. */
export const DEFAULT_RESERVATION_RETRY: BackoffPolicy = { minMs: 2 * SECOND, maxMs: 30 * SECOND }

/**
 * The part of @libp2p/circuit-relay-v2's transport used here (4.x): its reservation store. Not in
 * its public type; checked at run time, so a version without it only loses the retry.
 */
interface RelayTransport {
  reservationStore?: { addRelay?: (peer: PeerId, type: 'discovered' | 'configured') => Promise<unknown> }
}

export interface ReservationWatchInit {
  transportManager: TransportManager
  connectionManager: ConnectionManager
  peerStore: PeerStore
  log: Logger
  /** Is `peer` a member (only members are asked; a relay serves members only)? */
  isMember: (peer: PeerId) => boolean
  retry?: BackoffPolicy
  clock: Clock
  random: () => number
}

/**
 * Keeps a private node holding a relay reservation. libp2p's relay transport asks each relay it
 * discovers once (its discovery topology fires once per peer) and does not ask again after an
 * attempt that failed for any reason but a failed dial. Such a failure is common: the reservation
 * stream takes whichever open connection to the relay libp2p picks, and while this node answers
 * the relay's AutoNAT check it holds a second connection to it, the dial-back, which the check
 * closes within milliseconds — the RESERVE dies with it ("stream closed while reading"). Measured:
 * in about half the NAT test runs one home never got a reservation, so its relayed address never
 * existed and the other home could only learn its private ones. So: while private, listening
 * through relays and holding no reservation past a short grace, this asks connected members that
 * speak the hop protocol again, with backoff.
 */
export class ReservationWatch {
  private attempts = 0
  private nextAtMs = 0
  private running = false

  constructor (private readonly init: ReservationWatchInit) {}

  /** Once a tick: `wanted` = private and listening through relays; `reserved` = some relayed address is ours. */
  tick (nowMs: number, wanted: boolean, reserved: boolean): void {
    if (!wanted || reserved) {
      this.attempts = 0
      this.nextAtMs = 0
      return
    }
    if (this.nextAtMs === 0) {
      this.nextAtMs = nowMs + RESERVATION_GRACE_MS
      return
    }
    if (this.running || nowMs < this.nextAtMs) return
    this.running = true
    void this.reserve().then(ok => {
      this.attempts = ok ? 0 : this.attempts + 1
      this.nextAtMs = this.init.clock.now() + backoffDelay(this.attempts, this.init.retry ?? DEFAULT_RESERVATION_RETRY, this.init.random)
    }).finally(() => { this.running = false })
  }

  /** Ask the connected relays, one at a time, until one reserves. */
  private async reserve (): Promise<boolean> {
    const store = this.relayTransport()?.reservationStore
    if (store?.addRelay == null) return false
    for (const peer of await this.connectedRelays()) {
      try {
        await store.addRelay(peer, 'discovered')
        this.init.log('relay reservation on %p (asked again: libp2p had none)', peer)
        return true
      } catch (err) {
        this.init.log('relay reservation on %p failed - %s', peer, (err as Error).message)
      }
    }
    return false
  }

  private relayTransport (): RelayTransport | undefined {
    return this.init.transportManager.getTransports().find(t => t[Symbol.toStringTag] === '@libp2p/circuit-relay-v2-transport') as RelayTransport | undefined
  }

  /** Members this node has a direct connection to that serve as relays. */
  private async connectedRelays (): Promise<PeerId[]> {
    const peers = new Map<string, PeerId>()
    for (const conn of this.init.connectionManager.getConnections()) {
      if (isUsable(conn) && this.init.isMember(conn.remotePeer)) peers.set(conn.remotePeer.toString(), conn.remotePeer)
    }
    const relays: PeerId[] = []
    for (const peer of peers.values()) {
      const protocols = await this.init.peerStore.get(peer).then(p => p.protocols, (): string[] => [])
      if (protocols.includes(RELAY_HOP_PROTOCOL)) relays.push(peer)
    }
    return relays
  }
}

function isUsable (conn: Connection): boolean {
  return conn.status === 'open' && conn.limits == null
}
