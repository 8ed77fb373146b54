import { multiaddrConnectionPair } from '@libp2p/utils'
import { yamux } from '@libp2p/yamux'
import { pEvent } from 'p-event'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { yamuxDeferredWindows } from '../../../src/node/yamux-window.js'
import type { MultiaddrConnection, Stream, StreamMuxer, StreamMuxerFactory } from '@libp2p/interface'

/**
 * js-yamux granted receive window after every data frame: each small message (a capacity ad, a
 * heartbeat a second per peer) cost a window-update frame back. With yamuxDeferredWindows the
 * receiver grants window once half of it is used. Two muxers over an in-memory connection pair;
 * the frames the receiving end sends back are counted on the sending end's connection.
 */

const HEADER_BYTES = 12
const DATA = 0
const WINDOW_UPDATE = 1

/** Reads yamux frame headers (version, type, flags, stream id, length) off one direction of a connection. */
class FrameCounter {
  windowUpdates = 0
  private pending = new Uint8Array(0)

  push (bytes: Uint8Array): void {
    const all = new Uint8Array(this.pending.byteLength + bytes.byteLength)
    all.set(this.pending)
    all.set(bytes, this.pending.byteLength)
    let at = 0
    while (all.byteLength - at >= HEADER_BYTES) {
      const view = new DataView(all.buffer, all.byteOffset + at, HEADER_BYTES)
      const type = view.getUint8(1)
      const body = type === DATA ? view.getUint32(8) : 0
      if (all.byteLength - at < HEADER_BYTES + body) break
      if (type === WINDOW_UPDATE) this.windowUpdates++
      at += HEADER_BYTES + body
    }
    this.pending = all.slice(at)
  }
}
const muxers: StreamMuxer[] = []

afterEach(async () => { await Promise.all(muxers.splice(0).map(async m => m.close().catch(() => {}))) })

interface Link {
  sender: StreamMuxer
  receiver: StreamMuxer
  /** Window-update frames (yamux header type 1) that reached the sender. */
  windowUpdates: () => number
}

function link (senderMuxer: () => StreamMuxerFactory, receiverMuxer: () => StreamMuxerFactory): Link {
  const [outbound, inbound]: [MultiaddrConnection, MultiaddrConnection] = multiaddrConnectionPair({ delay: 0 } as any)
  const frames = new FrameCounter()
  outbound.addEventListener('message', (evt) => { frames.push(evt.data.subarray()) })
  const sender = senderMuxer().createStreamMuxer(outbound)
  const receiver = receiverMuxer().createStreamMuxer(inbound)
  muxers.push(sender, receiver)
  return { sender, receiver, windowUpdates: () => frames.windowUpdates }
}

/** Open a stream from sender to receiver; resolves with both ends and the bytes the receiver got. */
async function openStream (l: Link): Promise<{ out: Stream, received: () => number }> {
  let received = 0
  const inbound = new Promise<Stream>(resolve => { l.receiver.addEventListener('stream', (evt) => { resolve(evt.detail) }, { once: true }) })
  const out = await l.sender.createStream()
  out.send(new Uint8Array([0]))
  const remote = await inbound
  remote.addEventListener('message', (evt) => { received += evt.data.byteLength })
  return { out, received: () => received }
}

/** Send `count` 300-byte messages, each once the one before arrived (one data frame each, as ads a second apart). */
async function sendSmall (stream: { out: Stream, received: () => number }, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const expected = stream.received() + 300
    stream.out.send(new Uint8Array(300).fill(i))
    await vi.waitFor(() => { if (stream.received() < expected) throw new Error('not yet') }, { interval: 1 })
  }
}

describe('yamux with deferred window updates', () => {
  it('answers 100 small messages with no window update, where plain js-yamux sends one per message', async () => {
    const plain = link(yamux(), yamux())
    const plainStream = await openStream(plain)
    const plainBefore = plain.windowUpdates()
    await sendSmall(plainStream, 100)
    await expect.poll(() => plainStream.received()).toBe(1 + 100 * 300)
    expect(plain.windowUpdates() - plainBefore).toBeGreaterThanOrEqual(100)

    const deferred = link(yamuxDeferredWindows(), yamuxDeferredWindows())
    const deferredStream = await openStream(deferred)
    // The receiver's ACK (a window-update frame with the ACK flag) still goes at once.
    await expect.poll(() => deferred.windowUpdates()).toBe(1)
    await sendSmall(deferredStream, 100)
    await expect.poll(() => deferredStream.received()).toBe(1 + 100 * 300)
    expect(deferred.windowUpdates()).toBe(1)
  })

  it('keeps a bulk transfer flowing past many windows, with a few window updates', async () => {
    const l = link(yamuxDeferredWindows(), yamuxDeferredWindows())
    const { out, received } = await openStream(l)
    const chunk = new Uint8Array(16 * 1024)
    const total = 4 * 1024 * 1024
    for (let sent = 0; sent < total; sent += chunk.byteLength) {
      if (!out.send(chunk)) await pEvent(out, 'drain')
    }
    await expect.poll(() => received(), { timeout: 10_000 }).toBe(1 + total)
    // Over 4 MiB through a 256 KiB window (growing when the reader keeps up): updates are
    // counted in tens, not one per 16 KiB frame (256).
    expect(l.windowUpdates()).toBeGreaterThan(1)
    expect(l.windowUpdates()).toBeLessThan(64)
  })

  it('works with a plain js-yamux peer at either end (the wire is unchanged)', async () => {
    for (const [sender, receiver] of [[yamux(), yamuxDeferredWindows()], [yamuxDeferredWindows(), yamux()]]) {
      const l = link(sender, receiver)
      const stream = await openStream(l)
      const { out, received } = stream
      const total = 1024 * 1024
      const chunk = new Uint8Array(32 * 1024)
      for (let sent = 0; sent < total; sent += chunk.byteLength) {
        if (!out.send(chunk)) await pEvent(out, 'drain')
      }
      await sendSmall(stream, 10)
      await expect.poll(() => received(), { timeout: 10_000 }).toBe(1 + total + 10 * 300)
    }
  })
})
