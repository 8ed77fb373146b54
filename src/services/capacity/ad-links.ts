import { encode } from 'it-length-prefixed'
import { strictLengthPrefixedDecoder } from '../../util/length-prefix.js'
import { systemTimers } from '../../util/timers.js'
import type { Timers } from '../../util/timers.js'
import type { ComponentLogger, Connection, Libp2pEvents, Logger, PeerId, Stream, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'

export const CAPACITY_PROTOCOL = '/fedmesh/capacity/1.0.0'

export interface AdLinksComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

export interface AdLinksInit {
  /** Largest ad accepted; a longer length prefix resets the stream before any byte is buffered. */
  maxAdBytes: number
  /** Ads a peer may send per second on average; beyond, it is flooding. Default 20 (a busy
   * sender on the LAN profile sends up to 10). */
  maxAdsPerSecond?: number
  /** Ads that may arrive at once (a backlog after this process stalled). Default 200. */
  maxAdBurst?: number
  /** An ad arrived from `peer` (its Noise-authenticated id: the ad's subject). */
  onAd: (peer: PeerId, bytes: Uint8Array) => void
  /** `peer` broke the framing (reputation); its stream is reset. */
  onInvalid: (peer: PeerId, why: string) => void
  /** A peer connected: it should get the current ad now, not an interval later. */
  onConnect: (peer: PeerId) => void
  /** Timers for stream opening and the flood budget. Default: the event loop's. */
  timers?: Timers
  /**
   * Is this connection a working direct path? Ads take one first, else a relayed one, else any
   * other (a WebRTC connection whose hole punch is not confirmed may carry nothing). Default: not
   * through a relay.
   */
  isDirect?: (conn: Connection) => boolean
}

/**
 * One-hop delivery of capacity ads: one long-lived outbound stream per connected peer carrying
 * length-prefixed ads. The connection's Noise-authenticated peer id is the ad's subject, so ads
 * need no signature of their own (over gossipsub each was signed and verified: ads cost twice
 * the CPU, measured on 300 simulated nodes). Ads are snapshots: one that cannot be written now (stream opening or
 * its buffer full) is dropped, and the next carries the news.
 */
export class AdLinks {
  private readonly log: Logger
  /** Per peer: its stream, or the attempt opening one (an object, so attempts are told apart). */
  private readonly out = new Map<string, Stream | Opening>()
  private readonly inbound = new Set<Stream>()
  private readonly maxAdsPerSecond: number
  private readonly maxAdBurst: number
  private started = false
  private readonly timers: Timers

  constructor (private readonly components: AdLinksComponents, private readonly init: AdLinksInit) {
    this.log = components.logger.forComponent('fedmesh:capacity:links')
    this.timers = init.timers ?? systemTimers
    this.maxAdsPerSecond = init.maxAdsPerSecond ?? 20
    this.maxAdBurst = init.maxAdBurst ?? 200
  }

  private readonly onPeerConnect = (evt: CustomEvent<PeerId>): void => { this.init.onConnect(evt.detail) }
  private readonly onPeerDisconnect = (evt: CustomEvent<PeerId>): void => { this.drop(evt.detail.toString()) }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    await this.components.registrar.handle(CAPACITY_PROTOCOL, (stream: Stream, connection: Connection) => {
      void this.read(stream, connection.remotePeer)
      // Ads are the liveness heartbeat (~300 bytes a second): they may travel through a relay.
    }, { maxInboundStreams: 2, maxOutboundStreams: 2, runOnLimitedConnection: true })
    this.components.events.addEventListener('peer:connect', this.onPeerConnect)
    this.components.events.addEventListener('peer:disconnect', this.onPeerDisconnect)
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.components.events.removeEventListener('peer:connect', this.onPeerConnect)
    this.components.events.removeEventListener('peer:disconnect', this.onPeerDisconnect)
    await this.components.registrar.unhandle(CAPACITY_PROTOCOL)
    for (const key of [...this.out.keys()]) this.drop(key)
    for (const s of this.inbound) s.abort(new Error('capacity service stopping'))
    this.inbound.clear()
  }

  /** Send `ad` to every connected peer (or only to `to`); `tailor` may give a peer its own version. */
  send (ad: Uint8Array, to?: PeerId, tailor?: (peer: PeerId) => Uint8Array | undefined): void {
    if (!this.started) return
    const frame = encode.single(ad).subarray()
    const peers = to != null ? [to] : uniquePeers(this.components.connectionManager.getConnections())
    for (const peer of peers) {
      try {
        const own = tailor?.(peer)
        this.sendTo(peer, own == null ? frame : encode.single(own).subarray())
      } catch (err) {
        // One broken stream must not stop the others (or the heartbeat): reopen next time.
        this.drop(peer.toString())
        this.log.trace('capacity ad to %p failed - %e', peer, err)
      }
    }
  }

  private sendTo (peer: PeerId, frame: Uint8Array): void {
    const key = peer.toString()
    const current = this.out.get(key)
    if (current instanceof Opening) return
    if (current == null || current.status !== 'open' || current.writeStatus !== 'writable') {
      this.drop(key)
      this.open(peer, frame)
      return
    }
    if (current.writableNeedsDrain) return // a slow reader misses this one
    current.send(frame)
  }

  /** Forget `key`'s stream or pending attempt (the attempt's stream is aborted when it arrives). */
  private drop (key: string): void {
    const current = this.out.get(key)
    this.out.delete(key)
    if (current instanceof Opening) current.controller.abort(new Error('no longer wanted'))
    else current?.abort(new Error('no longer wanted'))
  }

  private open (peer: PeerId, first: Uint8Array): void {
    const key = peer.toString()
    // A direct connection first: a relayed one is closed once the hole punch succeeds. An
    // unconfirmed one only last: ads are the liveness heartbeat, sent into a dead path they
    // would make a live peer look silent.
    const open = this.components.connectionManager.getConnections(peer).filter(c => c.status === 'open')
    const isDirect = this.init.isDirect ?? ((c: Connection) => c.limits == null)
    const conn = open.find(isDirect) ?? open.find(c => c.limits != null) ?? open[0]
    if (conn == null) return
    const attempt = new Opening()
    this.out.set(key, attempt)
    const signal = AbortSignal.any([attempt.controller.signal, this.timers.timeout(10_000)])
    conn.newStream(CAPACITY_PROTOCOL, { runOnLimitedConnection: true, signal })
      .then(stream => {
        if (!this.started || this.out.get(key) !== attempt || stream.status !== 'open') {
          stream.abort(new Error('no longer wanted'))
          return
        }
        this.out.set(key, stream)
        stream.addEventListener('close', () => { if (this.out.get(key) === stream) this.out.delete(key) })
        this.refuseReplies(stream, peer)
        stream.send(first)
      })
      .catch(err => {
        // Not a fedmesh peer, or the connection went away: try again with a later ad.
        if (this.out.get(key) === attempt) this.out.delete(key)
        this.log.trace('no capacity stream to %p - %e', peer, err)
      })
  }

  /** Ad streams carry ads one way: bytes coming back are a protocol breach, not buffered. */
  private refuseReplies (stream: Stream, peer: PeerId): void {
    void (async () => {
      try {
        for await (const _ of stream) {
          this.init.onInvalid(peer, 'data sent back on a capacity stream')
          stream.abort(new Error('data sent back on a capacity stream'))
          return
        }
      } catch {}
    })()
  }

  private async read (stream: Stream, peer: PeerId): Promise<void> {
    // A backlog of honest ads can arrive in one read (after a stall): room for many at once.
    const decoder = strictLengthPrefixedDecoder(this.init.maxAdBytes, Math.max(this.init.maxAdBytes * 2, 256 * 1024))
    const budget = new AdBudget(this.maxAdsPerSecond, this.maxAdBurst, this.timers)
    this.inbound.add(stream)
    try {
      for await (const chunk of stream) {
        let ads
        try {
          ads = [...decoder.decode(chunk)]
        } catch (err) {
          throw new AdStreamError(`bad ad framing: ${(err as Error).message}`)
        }
        for (const ad of ads) {
          if (!budget.take()) throw new AdStreamError(`more than ${this.maxAdsPerSecond} ads a second`)
          if (this.started) this.init.onAd(peer, ad.subarray())
        }
      }
      await stream.close().catch(() => {})
    } catch (err) {
      if (err instanceof AdStreamError) this.init.onInvalid(peer, err.message)
      this.log.trace('capacity stream from %p ended - %e', peer, err)
      stream.abort(err as Error)
    } finally {
      this.inbound.delete(stream)
    }
  }
}

class Opening {
  readonly controller = new AbortController()
}

class AdStreamError extends Error {}

/** A token bucket: `perSecond` ads a second on average, `burst` at once. */
class AdBudget {
  private tokens: number
  private at: number
  constructor (private readonly perSecond: number, private readonly burst: number, private readonly timers: Timers) {
    this.tokens = burst
    this.at = timers.now()
  }

  take (): boolean {
    const now = this.timers.now()
    this.tokens = Math.min(this.burst, this.tokens + (now - this.at) / 1000 * this.perSecond)
    this.at = now
    if (this.tokens < 1) return false
    this.tokens--
    return true
  }
}

function uniquePeers (connections: Connection[]): PeerId[] {
  const seen = new Map<string, PeerId>()
  for (const c of connections) if (c.status === 'open') seen.set(c.remotePeer.toString(), c.remotePeer)
  return [...seen.values()]
}
