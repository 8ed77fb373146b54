import { yamux } from '@libp2p/yamux'
import { StreamState } from '@libp2p/yamux/stream'
import type { YamuxMuxerInit } from '@libp2p/yamux'
import type { StreamMuxerFactory } from '@libp2p/interface'

/**
 * The part of a js-yamux stream (`@libp2p/yamux` 8) that decides on window updates. js-yamux
 * calls `sendWindowUpdate` after every data frame it receives and sends one whenever any byte
 * of the window was used, so each small message costs a second frame back (on an idle daemon:
 * every capacity ad, a heartbeat a second per peer, crossed Noise and TCP twice).
 */
interface WindowedStream {
  state: StreamState
  recvWindow: number
  recvWindowCapacity: number
  sendWindowUpdate: () => void
}

/** The muxer's hook that creates every stream, inbound and outbound (js-yamux 8). */
interface StreamCreatingMuxer {
  _newStream: (...args: unknown[]) => WindowedStream
}

/**
 * Grant more receive window only once half of it is used, as go-yamux and rust-yamux do,
 * instead of after every data frame. Frames that open or accept a stream (SYN, ACK) still go at
 * once. The sender keeps at least half a window (128 KiB at first) in hand, so a bulk transfer
 * does not stall, and small messages no longer cost a window update each. Peers see only
 * fewer, larger updates: the wire format is unchanged.
 */
export function deferWindowUpdates (stream: WindowedStream): void {
  const sendNow = stream.sendWindowUpdate.bind(stream)
  stream.sendWindowUpdate = () => {
    const sendsFlags = stream.state === StreamState.Init || stream.state === StreamState.SYNReceived
    if (!sendsFlags && stream.recvWindowCapacity > stream.recvWindow / 2) return
    sendNow()
  }
}

/**
 * `yamux(init)` whose streams send window updates at half a window (`deferWindowUpdates`).
 * Throws at start if js-yamux no longer has the hooks this relies on, so an upgrade that
 * changes them is noticed by the tests instead of silently costing CPU again.
 */
export function yamuxDeferredWindows (init: YamuxMuxerInit = {}): () => StreamMuxerFactory {
  const make = yamux(init)
  return () => {
    // The factory itself is kept (its protocol id, capabilities and name), only its muxers change.
    const factory = make()
    const create = factory.createStreamMuxer.bind(factory)
    factory.createStreamMuxer = (maConn) => {
      const muxer = create(maConn)
      const hooks = muxer as unknown as StreamCreatingMuxer
      if (typeof hooks._newStream !== 'function') throw new Error('@libp2p/yamux has no _newStream: yamux-window.ts needs updating')
      const newStream = hooks._newStream.bind(muxer)
      hooks._newStream = (...args) => {
        const stream = newStream(...args)
        deferWindowUpdates(stream)
        return stream
      }
      return muxer
    }
    return factory
  }
}
