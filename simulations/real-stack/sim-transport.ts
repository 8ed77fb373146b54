import { ConnectionFailedError, ListenError, StreamResetError, serviceCapabilities, transportSymbol } from '@libp2p/interface'
import { AbstractMultiaddrConnection } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { Memory } from '@multiformats/multiaddr-matcher'
import { TypedEventEmitter } from 'main-event'
import { Uint8ArrayList } from 'uint8arraylist'
import type { ComponentLogger, CreateListenerOptions, DialTransportOptions, Listener, ListenerEvents, PeerId, Transport, Upgrader, Connection } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * A simulated network for real libp2p nodes in one process: `/memory/...` addresses, but every
 * byte takes the link's one-way latency (a pipe: order kept, bytes do not queue behind each
 * other's delay), and links between peers on different sides of a partition silently drop
 * everything — a pulled cable, no FIN, no RST — until the partition heals.
 * (@libp2p/memory's own `latency` delays each chunk after the previous one, and per node, not
 * per link: hundreds of messages in flight would queue for seconds.)
 */
export interface LinkModel {
  /** One-way delay between two peers (by index), ms. */
  oneWayMs(from: number, to: number): number
  /** Can bytes from `from` reach `to` now? */
  reachable(from: number, to: number): boolean
}

interface Endpoint {
  peer: number
  listener: SimListener
}

/** The registry of listening peers: the "wires" between them. */
export class SimNetwork {
  readonly endpoints = new Map<string, Endpoint>()
  bytes = 0
  constructor (readonly links: LinkModel) {}
}

class Pipe {
  private readonly queue: Array<{ at: number, data?: Uint8ArrayList | Uint8Array, close?: boolean }> = []
  private timer: NodeJS.Timeout | undefined

  constructor (private readonly net: SimNetwork, private readonly from: number, private readonly to: number, private readonly target: () => SimConn | undefined) {}

  push (item: { data?: Uint8ArrayList | Uint8Array, close?: boolean }): void {
    if (!this.net.links.reachable(this.from, this.to)) return // dropped on the floor
    const last = this.queue.length > 0 ? this.queue[this.queue.length - 1].at : 0
    this.queue.push({ ...item, at: Math.max(last, performance.now() + this.net.links.oneWayMs(this.from, this.to)) })
    if (item.data != null) this.net.bytes += item.data.byteLength
    this.arm()
  }

  private deliver (data: Uint8ArrayList): void {
    if (data.byteLength === 0) return
    const chunk = data.subarray()
    data.consume(data.byteLength)
    this.target()?.onData(chunk)
  }

  private arm (): void {
    if (this.timer != null || this.queue.length === 0) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      const now = performance.now()
      // Chunks due together arrive as one read, as TCP coalesces them: every read costs the
      // receiver's decoders a parse attempt that ends in an exception (noise's length decoder).
      const due = new Uint8ArrayList()
      while (this.queue.length > 0 && this.queue[0].at <= now + 0.5) {
        const item = this.queue.shift() as { data?: Uint8ArrayList | Uint8Array, close?: boolean }
        if (item.data != null) {
          due.append(item.data)
          continue
        }
        this.deliver(due)
        if (item.close === true) this.target()?.onTransportClosed()
      }
      this.deliver(due)
      this.arm()
    }, Math.max(0, this.queue[0].at - performance.now()))
  }
}

class SimConn extends AbstractMultiaddrConnection {
  out!: Pipe

  sendData (data: Uint8ArrayList): { sentBytes: number, canSendMore: boolean } {
    this.out.push({ data: data.subarray() })
    return { sentBytes: data.byteLength, canSendMore: true }
  }

  sendReset (): void {
    this.out.push({ close: true })
  }

  async sendClose (): Promise<void> {
    this.out.push({ close: true })
  }

  sendPause (): void {}
  sendResume (): void {}
}

function connPair (net: SimNetwork, dialer: number, listener: number, dialerAddr: Multiaddr, listenerAddr: Multiaddr, logger: ComponentLogger): [SimConn, SimConn] {
  const log = logger.forComponent('fedmesh:sim-transport')
  const a = new SimConn({ remoteAddr: listenerAddr, direction: 'outbound', log })
  const b = new SimConn({ remoteAddr: dialerAddr, direction: 'inbound', log })
  a.out = new Pipe(net, dialer, listener, () => b)
  b.out = new Pipe(net, listener, dialer, () => a)
  return [a, b]
}

class SimListener extends TypedEventEmitter<ListenerEvents> implements Listener {
  address: Multiaddr | undefined
  constructor (private readonly net: SimNetwork, private readonly peer: number, private readonly upgrader: Upgrader) { super() }

  async listen (ma: Multiaddr): Promise<void> {
    const key = ma.toString()
    if (this.net.endpoints.has(key)) throw new ListenError(`${key} already in use`)
    this.address = ma
    this.net.endpoints.set(key, { peer: this.peer, listener: this })
    queueMicrotask(() => { this.safeDispatchEvent('listening') })
  }

  accept (conn: SimConn): void {
    this.upgrader.upgradeInbound(conn, { signal: AbortSignal.timeout(30_000) }).catch(err => { conn.abort(err) })
  }

  getAddrs (): Multiaddr[] {
    return this.address == null ? [] : [this.address]
  }

  updateAnnounceAddrs (): void {}

  async close (): Promise<void> {
    if (this.address != null) this.net.endpoints.delete(this.address.toString())
    queueMicrotask(() => { this.safeDispatchEvent('close') })
  }
}

/** The transport of peer `peer` (its index in the link model) on network `net`. */
export function simTransport (net: SimNetwork, peer: number, ownAddr: string): (components: { peerId: PeerId, logger: ComponentLogger, upgrader?: Upgrader }) => Transport {
  return (components) => ({
    [transportSymbol]: true,
    [Symbol.toStringTag]: 'fedmesh:sim-transport',
    [serviceCapabilities]: ['@libp2p/transport'],
    async dial (ma: Multiaddr, options: DialTransportOptions): Promise<Connection> {
      const target = net.endpoints.get(ma.decapsulate('/p2p').toString())
      if (target == null) throw new ConnectionFailedError(`no simulated listener at ${ma}`)
      if (!net.links.reachable(peer, target.peer)) {
        // A cut link: the SYN goes nowhere, the dial times out.
        await new Promise((resolve, reject) => {
          const t = setTimeout(resolve, 3_000)
          options.signal?.addEventListener('abort', () => { clearTimeout(t); reject(new ConnectionFailedError('dial aborted')) }, { once: true })
        })
        throw new ConnectionFailedError(`no route to ${ma}`)
      }
      const [dialer, listener] = connPair(net, peer, target.peer, multiaddr(ownAddr), ma, components.logger)
      // The handshake's first flight costs one RTT before the listener sees the connection.
      await new Promise(resolve => setTimeout(resolve, net.links.oneWayMs(peer, target.peer)))
      target.listener.accept(listener)
      try {
        return await options.upgrader.upgradeOutbound(dialer, options)
      } catch (err) {
        dialer.abort(err as Error)
        throw err
      }
    },
    createListener (options: CreateListenerOptions): Listener {
      return new SimListener(net, peer, options.upgrader)
    },
    listenFilter: (addrs: Multiaddr[]) => addrs.filter(a => Memory.exactMatch(a)),
    dialFilter: (addrs: Multiaddr[]) => addrs.filter(a => Memory.exactMatch(a))
  }) as unknown as Transport
}

export { StreamResetError }
