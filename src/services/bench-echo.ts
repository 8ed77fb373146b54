import * as varint from 'uint8-varint'
import { strictLengthPrefixedDecoder } from '../util/length-prefix.js'
import { waitForDrain } from '../util/stream-drain.js'
import type { Libp2p, Stream } from '@libp2p/interface'

/**
 * A trivial length-prefixed echo on one long-lived stream: the floor `bench rpc` compares the
 * task RPC with (same TCP + Noise + yamux connection, none of fedmesh's work). A daemon serves it
 * only when `FEDMESH_BENCH_ECHO=1` asks (run-daemon.ts): never by default, so peers of a normal
 * daemon get no extra handler.
 */
export const BENCH_ECHO_PROTOCOL = '/fedmesh/bench-echo/1.0.0'

/** Longest message echoed; a longer length prefix resets the stream. */
export const BENCH_ECHO_MAX_BYTES = 64 * 1024

/** Serve the echo on `libp2p` (until it stops). */
export async function serveBenchEcho (libp2p: Pick<Libp2p, 'handle'>): Promise<void> {
  await libp2p.handle(BENCH_ECHO_PROTOCOL, (stream: Stream) => {
    echo(stream).catch((err: Error) => { stream.abort(err) })
  }, { maxInboundStreams: 2 })
}

/** Echo each complete message of a chunk back in one write (as the task channel coalesces frames). */
async function echo (stream: Stream): Promise<void> {
  const decoder = strictLengthPrefixedDecoder(BENCH_ECHO_MAX_BYTES)
  for await (const chunk of stream) {
    const messages = [...decoder.decode(chunk)]
    if (messages.length === 0) continue
    if (stream.writableNeedsDrain) await waitForDrain(stream)
    stream.send(encodeMessages(messages.map(m => m.subarray())))
  }
  await stream.close()
}

/** Messages, each with its varint length prefix, in one buffer. */
export function encodeMessages (messages: Uint8Array[]): Uint8Array {
  let size = 0
  for (const m of messages) size += varint.encodingLength(m.byteLength) + m.byteLength
  const out = new Uint8Array(size)
  let at = 0
  for (const m of messages) {
    varint.encodeUint8Array(m.byteLength, out, at)
    at += varint.encodingLength(m.byteLength)
    out.set(m, at)
    at += m.byteLength
  }
  return out
}
