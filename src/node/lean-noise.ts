import { noise } from '@chainsafe/libp2p-noise'
import { Uint8ArrayList } from 'uint8arraylist'
import type { NoiseComponents, NoiseInit } from '@chainsafe/libp2p-noise'
import type { ConnectionEncrypter, MessageStream } from '@libp2p/interface'

/**
 * @chainsafe/libp2p-noise with two per-message costs taken out (each paid for every capacity ad,
 * the 1 s heartbeat to each peer, so most of what an idle daemon does):
 *
 * - writes: Noise hands its connection each encrypted message as two buffers (the 2-byte length,
 *   then the ciphertext), and libp2p's TCP connection writes each with its own `socket.write`:
 *   two system calls and, with Nagle off, two TCP segments. Here a small write (≤ 64 KiB) goes
 *   as one buffer; copying a few hundred bytes costs less than the second write.
 * - reads: its length reader throws a RangeError for "fewer than 2 bytes buffered", which the
 *   decoder meets after every message (it looks for the next length in an empty buffer), so
 *   every message received captured a stack trace. Here "not yet" is the largest allowed length
 *   instead, which makes the decoder wait for more bytes just the same.
 *
 * Both reach into the libraries' internals (checked at run time: a version without them is
 * left as it is); the wire is unchanged.
 */
export function leanNoise (init?: NoiseInit): (components: NoiseComponents) => ConnectionEncrypter {
  const make = noise(init)
  return (components) => {
    const inner = make(components)
    const secureInbound = inner.secureInbound.bind(inner)
    const secureOutbound = inner.secureOutbound.bind(inner)
    inner.secureInbound = async (connection, options) => {
      coalesceWrites(connection)
      const secured = await secureInbound(connection, options)
      quietLengthReads(secured.connection)
      return secured
    }
    inner.secureOutbound = async (connection, options) => {
      coalesceWrites(connection)
      const secured = await secureOutbound(connection, options)
      quietLengthReads(secured.connection)
      return secured
    }
    return inner
  }
}

/** Lists up to this size are copied into one buffer; larger ones (bulk data) are written as they are. */
export const MAX_COALESCED_BYTES = 64 * 1024

/** The hook of a libp2p 3 message stream (`AbstractMessageStream.sendData`) that hands bytes to the transport. */
interface SendingStream {
  sendData: (data: Uint8ArrayList) => unknown
}

/** Give `stream`'s transport every small write as one buffer. */
export function coalesceWrites (stream: MessageStream): void {
  const hooks = stream as unknown as SendingStream
  if (typeof hooks.sendData !== 'function') return
  const sendData = hooks.sendData.bind(stream)
  hooks.sendData = (data) => sendData(data.byteLength <= MAX_COALESCED_BYTES ? new Uint8ArrayList(data.subarray()) : data)
}

/** Noise's encrypted stream (2.x `EncryptedMessageStream`): its `LengthPrefixedDecoder` of 2-byte lengths. */
interface FramedStream {
  decoder?: { lengthDecoder?: (data: Uint8Array | Uint8ArrayList) => number, maxDataLength?: number }
}

/** Read the 2-byte big-endian lengths of `stream` without an exception for an incomplete one. */
export function quietLengthReads (stream: MessageStream): void {
  const decoder = (stream as unknown as FramedStream).decoder
  if (typeof decoder?.lengthDecoder !== 'function' || typeof decoder.maxDataLength !== 'number') return
  const notYet = decoder.maxDataLength
  decoder.lengthDecoder = (data) => {
    if (data.byteLength < 2) return notYet
    return data instanceof Uint8Array ? (data[0] << 8) | data[1] : data.getUint16(0)
  }
}
