import { Uint8ArrayList } from 'uint8arraylist'
import type { ConnectionEncrypter, MessageStream } from '@libp2p/interface'

/** Lists up to this size are copied into one buffer; larger ones (bulk data) are written as they are. */
export const MAX_COALESCED_BYTES = 64 * 1024

/** The hook of a libp2p 3 message stream (`AbstractMessageStream.sendData`) that hands bytes to the transport. */
interface SendingStream {
  sendData: (data: Uint8ArrayList) => unknown
}

/**
 * Hand the transport each small write as one buffer. @chainsafe/libp2p-noise gives its
 * connection every encrypted message as two buffers (the 2-byte length, then the ciphertext),
 * and libp2p's TCP connection writes each buffer with its own `socket.write`: two system calls
 * and, with Nagle off, two TCP segments for every message — on an idle daemon, for each 1 s
 * capacity ad to each peer. Copying a few hundred bytes costs less than the second write.
 */
export function coalesceWrites (stream: MessageStream): void {
  const hooks = stream as unknown as SendingStream
  if (typeof hooks.sendData !== 'function') return
  const sendData = hooks.sendData.bind(stream)
  hooks.sendData = (data) => sendData(data.byteLength <= MAX_COALESCED_BYTES ? new Uint8ArrayList(data.subarray()) : data)
}

/**
 * `encrypter` (libp2p's Noise) whose underlying connections get `coalesceWrites`: its encrypted
 * messages leave in one write each.
 */
export function withCoalescedWrites<C extends unknown[]> (encrypter: (...components: C) => ConnectionEncrypter): (...components: C) => ConnectionEncrypter {
  return (...components) => {
    const inner = encrypter(...components)
    const secureInbound = inner.secureInbound.bind(inner)
    const secureOutbound = inner.secureOutbound.bind(inner)
    inner.secureInbound = async (connection, options) => {
      coalesceWrites(connection)
      return secureInbound(connection, options)
    }
    inner.secureOutbound = async (connection, options) => {
      coalesceWrites(connection)
      return secureOutbound(connection, options)
    }
    return inner
  }
}
