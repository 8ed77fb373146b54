import { noise } from '@chainsafe/libp2p-noise'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { afterEach, describe, expect, it } from 'vitest'
import { leanNoise } from '../../../src/node/lean-noise.js'
import type { ConnectionEncrypter, MessageStream, MultiaddrConnection, Upgrader } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

/**
 * Two Noise ends over an in-memory connection pair, plain and lean: what the initiator's
 * connection is given to send is recorded underneath (buffers per write), and RangeErrors made
 * while messages are received are counted.
 */

async function encrypter (lean: boolean): Promise<ConnectionEncrypter> {
  const privateKey = await generateKeyPair('Ed25519')
  // Noise asks the upgrader only which muxers to offer early; none here.
  const upgrader = { getStreamMuxers: () => new Map() } as unknown as Upgrader
  const components = { privateKey, peerId: peerIdFromPrivateKey(privateKey), logger: defaultLogger(), upgrader }
  return (lean ? leanNoise() : noise())(components)
}

/** Buffers per write handed to `conn`'s transport, recorded as they go. */
function recordWrites (conn: MultiaddrConnection): number[] {
  const writes: number[] = []
  const hooks = conn as unknown as { sendData: (data: Uint8ArrayList) => unknown }
  const sendData = hooks.sendData.bind(conn)
  hooks.sendData = (data) => { writes.push([...data].length); return sendData(data) }
  return writes
}

/** Counts RangeErrors made while installed (`instanceof RangeError` still holds for them). */
const OriginalRangeError = globalThis.RangeError
let rangeErrors = 0
function countRangeErrors (): void {
  globalThis.RangeError = new Proxy(OriginalRangeError, {
    construct (target, args) { rangeErrors++; return Reflect.construct(target, args) },
    apply (target, self, args) { rangeErrors++; return Reflect.apply(target, self, args) }
  })
}
afterEach(() => { globalThis.RangeError = OriginalRangeError })

async function exchange (lean: boolean, messages: Uint8Array[]): Promise<{ writes: number[], received: Uint8Array, rangeErrors: number }> {
  const [outbound, inbound] = multiaddrConnectionPair({ delay: 0 } as any)
  const writes = recordWrites(outbound)
  const [a, b] = await Promise.all([encrypter(lean), encrypter(lean)])
  const [secured, accepted] = await Promise.all([
    a.secureOutbound(outbound, { skipStreamMuxerNegotiation: true }),
    b.secureInbound(inbound, { skipStreamMuxerNegotiation: true })
  ])
  const received: number[] = []
  const server: MessageStream = accepted.connection
  server.addEventListener('message', (evt) => { received.push(...evt.data.subarray()) })
  writes.length = 0
  rangeErrors = 0
  countRangeErrors()
  const total = messages.reduce((n, m) => n + m.byteLength, 0)
  for (const m of messages) {
    secured.connection.send(m)
    await new Promise(resolve => setImmediate(resolve))
  }
  await expect.poll(() => received.length).toBe(total)
  const made = rangeErrors
  globalThis.RangeError = OriginalRangeError
  return { writes, received: Uint8Array.from(received), rangeErrors: made }
}

const small = Array.from({ length: 20 }, (_, i) => new Uint8Array(200).fill(i))

describe('lean Noise', () => {
  it('hands the transport one buffer per message, where plain Noise hands it two', async () => {
    const plain = await exchange(false, small)
    expect(plain.writes.length).toBeGreaterThanOrEqual(20)
    expect(plain.writes.every(n => n === 2)).toBe(true)

    const lean = await exchange(true, small)
    expect(lean.writes.length).toBeGreaterThanOrEqual(20)
    expect(lean.writes.every(n => n === 1)).toBe(true)
  })

  it('reads messages without an exception each, where plain Noise makes one per message', async () => {
    const plain = await exchange(false, small)
    expect(plain.rangeErrors).toBeGreaterThanOrEqual(20)
    const lean = await exchange(true, small)
    expect(lean.rangeErrors).toBe(0)
  })

  it('still splits and joins what it is given: a 200 KiB write (bulk, written as it is) and small ones arrive whole', async () => {
    const big = new Uint8Array(200 * 1024).map((_, i) => i % 251)
    const messages = [big, ...small]
    const { received } = await exchange(true, messages)
    const expected = new Uint8Array(messages.reduce((n, m) => n + m.byteLength, 0))
    let at = 0
    for (const m of messages) { expected.set(m, at); at += m.byteLength }
    expect(Buffer.from(received).equals(Buffer.from(expected))).toBe(true)
  })
})
