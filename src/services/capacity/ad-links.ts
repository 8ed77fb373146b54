import { LengthPrefixedDecoder } from '@libp2p/utils'
import * as varint from 'uint8-varint'
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
  /** An ad arrived from `peer` (its Noise-authenticated id: the ad's subject). */
  onAd: (peer: PeerId, bytes: Uint8Array) => void
  /** `peer` broke the framing (reputation); its stream is reset. */
  onInvalid: (peer: PeerId, why: string) => void
  /** A peer connected: it should get the current ad now, not an interval later. */
  onConnect: (peer: PeerId) => void
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
  private readonly out = new Map<string, Stream | 'opening'>()
  private started = false

  constructor (private readonly components: AdLinksComponents, private readonly init: AdLinksInit) {
    this.log = components.logger.forComponent('fedmesh:capacity:links')
  }

  private readonly onPeerConnect = (evt: CustomEvent<PeerId>): void => { this.init.onConnect(evt.detail) }
  private readonly onPeerDisconnect = (evt: CustomEvent<PeerId>): void => { this.out.delete(evt.detail.toString()) }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    await this.components.registrar.handle(CAPACITY_PROTOCOL, (stream: Stream, connection: Connection) => {
      void this.read(stream, connection.remotePeer)
    }, { maxInboundStreams: 2, maxOutboundStreams: 2 })
    this.components.events.addEventListener('peer:connect', this.onPeerConnect)
    this.components.events.addEventListener('peer:disconnect', this.onPeerDisconnect)
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.components.events.removeEventListener('peer:connect', this.onPeerConnect)
    this.components.events.removeEventListener('peer:disconnect', this.onPeerDisconnect)
    await this.components.registrar.unhandle(CAPACITY_PROTOCOL)
    for (const s of this.out.values()) if (s !== 'opening') s.abort(new Error('capacity service stopping'))
    this.out.clear()
  }

  /** Send `ad` to every connected peer (or only to `to`). */
  send (ad: Uint8Array, to?: PeerId): void {
    if (!this.started) return
    const frame = lengthPrefixed(ad)
    const peers = to != null ? [to] : uniquePeers(this.components.connectionManager.getConnections())
    for (const peer of peers) this.sendTo(peer, frame)
  }

  private sendTo (peer: PeerId, frame: Uint8Array): void {
    const key = peer.toString()
    const stream = this.out.get(key)
    if (stream === 'opening') return
    if (stream == null) {
      this.open(peer, frame)
      return
    }
    if (stream.status !== 'open' || stream.writeStatus !== 'writable') {
      this.out.delete(key)
      this.open(peer, frame)
      return
    }
    if (stream.writableNeedsDrain) return // a slow reader misses this one
    stream.send(frame)
  }

  private open (peer: PeerId, first: Uint8Array): void {
    const key = peer.toString()
    const conn = this.components.connectionManager.getConnections(peer).find(c => c.status === 'open')
    if (conn == null) return
    this.out.set(key, 'opening')
    conn.newStream(CAPACITY_PROTOCOL, { runOnLimitedConnection: false, signal: AbortSignal.timeout(10_000) })
      .then(stream => {
        if (!this.started || this.out.get(key) !== 'opening') {
          stream.abort(new Error('no longer wanted'))
          return
        }
        this.out.set(key, stream)
        stream.addEventListener('close', () => { if (this.out.get(key) === stream) this.out.delete(key) })
        stream.send(first)
      })
      .catch(err => {
        // Not a fedmesh peer, or the connection went away: try again with a later ad.
        if (this.out.get(key) === 'opening') this.out.delete(key)
        this.log.trace('no capacity stream to %p - %e', peer, err)
      })
  }

  private async read (stream: Stream, peer: PeerId): Promise<void> {
    const decoder = new LengthPrefixedDecoder({ maxDataLength: this.init.maxAdBytes, maxBufferSize: this.init.maxAdBytes * 2 })
    try {
      for await (const chunk of stream) {
        let ads
        try {
          ads = [...decoder.decode(chunk)]
        } catch (err) {
          this.init.onInvalid(peer, `bad ad framing: ${(err as Error).message}`)
          stream.abort(new Error('bad ad framing'))
          return
        }
        for (const ad of ads) this.init.onAd(peer, ad.subarray())
      }
    } catch (err) {
      this.log.trace('capacity stream from %p ended - %e', peer, err)
    }
  }
}

function lengthPrefixed (bytes: Uint8Array): Uint8Array {
  const prefix = varint.encode(bytes.byteLength)
  const out = new Uint8Array(prefix.byteLength + bytes.byteLength)
  out.set(prefix)
  out.set(bytes, prefix.byteLength)
  return out
}

function uniquePeers (connections: Connection[]): PeerId[] {
  const seen = new Map<string, PeerId>()
  for (const c of connections) if (c.status === 'open') seen.set(c.remotePeer.toString(), c.remotePeer)
  return [...seen.values()]
}
