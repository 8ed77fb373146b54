import { noise } from '@chainsafe/libp2p-noise'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { describe, expect, it } from 'vitest'
import { withCoalescedWrites } from '../../../src/node/coalesce-writes.js'
import type { ConnectionEncrypter, MessageStream, MultiaddrConnection, Upgrader } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

/**
 * Noise hands its connection each encrypted message as two buffers (length, ciphertext), and
 * libp2p's TCP connection makes a socket write of each. With withCoalescedWrites, the connection
 * gets every small write as one buffer. Two Noise ends over an in-memory connection pair; what
 * the initiator's connection is given to send is recorded underneath.
 */

async function encrypter (wrap: boolean): Promise<ConnectionEncrypter> {
  const privateKey = await generateKeyPair('Ed25519')
  // Noise asks the upgrader only which muxers to offer early; none here.
  const upgrader = { getStreamMuxers: () => new Map() } as unknown as Upgrader
  const components = { privateKey, peerId: peerIdFromPrivateKey(privateKey), logger: defaultLogger(), upgrader }
  return (wrap ? withCoalescedWrites(noise()) : noise())(components)
}

/** Buffers per write handed to `conn`'s transport, recorded as they go. */
function recordWrites (conn: MultiaddrConnection): number[] {
  const writes: number[] = []
  const hooks = conn as unknown as { sendData: (data: Uint8ArrayList) => unknown }
  const sendData = hooks.sendData.bind(conn)
  hooks.sendData = (data) => { writes.push([...data].length); return sendData(data) }
  return writes
}

async function exchange (wrap: boolean): Promise<{ writes: number[], received: number }> {
  const [outbound, inbound] = multiaddrConnectionPair({ delay: 0 } as any)
  const writes = recordWrites(outbound)
  const [a, b] = await Promise.all([encrypter(wrap), encrypter(wrap)])
  const [secured, accepted] = await Promise.all([
    a.secureOutbound(outbound, { skipStreamMuxerNegotiation: true }),
    b.secureInbound(inbound, { skipStreamMuxerNegotiation: true })
  ])
  let received = 0
  const server: MessageStream = accepted.connection
  server.addEventListener('message', (evt) => { received += evt.data.byteLength })
  writes.length = 0
  for (let i = 0; i < 20; i++) {
    secured.connection.send(new Uint8Array(200).fill(i))
    await new Promise(resolve => setImmediate(resolve))
  }
  await expect.poll(() => received).toBe(20 * 200)
  return { writes, received }
}

describe('Noise writes coalesced', () => {
  it('hands the transport one buffer per message, where plain Noise hands it two', async () => {
    const plain = await exchange(false)
    expect(plain.writes.length).toBeGreaterThanOrEqual(20)
    expect(plain.writes.every(n => n === 2)).toBe(true)

    const coalesced = await exchange(true)
    expect(coalesced.writes.length).toBeGreaterThanOrEqual(20)
    expect(coalesced.writes.every(n => n === 1)).toBe(true)
  })
})
