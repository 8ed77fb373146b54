import { LengthPrefixedDecoder } from '@libp2p/utils'
import * as varint from 'uint8-varint'
import { Uint8ArrayList } from 'uint8arraylist'
import { waitForDrain } from '../../util/stream-drain.js'
import { decodeFrame, encodeFrame } from './codec.js'
import { InvalidSyncMessageError } from './errors.js'
import type { DecodeLimits, SyncFrame } from './codec.js'
import type { AbortOptions, Stream } from '@libp2p/interface'

/**
 * Bytes a paused sync stream may hold unread. A paused yamux stream stops granting window, but
 * the peer may still send what the window already allowed: up to yamux's maximum stream window
 * (16 MiB). The default read limit (4 MiB) would reset a healthy stream that a slow importer
 * paused, so sync streams raise it to the window plus one message.
 */
export const PAUSED_READ_BUFFER_BYTES = 16 * 1024 * 1024 + 4 * 1024 * 1024

/** Bytes handed to the stream at a time. */
const WRITE_SLICE_BYTES = 64 * 1024

export interface ChannelLimits extends Required<DecodeLimits> {}

/**
 * Length-prefixed (unsigned varint) SyncMessages over one stream. Sending respects backpressure
 * (resolves after `drain` when the stream's buffer is full); reading checks each length prefix
 * against the message limit before buffering and decodes with every check of the codec. Counts
 * the bytes that cross in each direction.
 */
export class SyncChannel {
  bytesSent = 0
  bytesReceived = 0
  private paused = false

  constructor (readonly stream: Stream, private readonly limits: ChannelLimits) {
    stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, PAUSED_READ_BUFFER_BYTES)
  }

  async send (frame: SyncFrame, options: AbortOptions = {}): Promise<void> {
    const body = encodeFrame(frame)
    const prefix = varint.encode(body.byteLength)
    const out = new Uint8Array(prefix.byteLength + body.byteLength)
    out.set(prefix, 0)
    out.set(body, prefix.byteLength)
    this.bytesSent += out.byteLength
    // In slices, waiting for room before each: a big message queued at once could overflow the
    // stream's write buffer limit (4 MiB by profile) while the peer's window is closed.
    for (let offset = 0; offset < out.byteLength; offset += WRITE_SLICE_BYTES) {
      while (this.stream.writableNeedsDrain) await waitForDrain(this.stream, options)
      this.stream.send(out.subarray(offset, offset + WRITE_SLICE_BYTES))
    }
  }

  /**
   * Frames as they arrive; ends when the peer closes its side.
   *
   * @throws InvalidSyncMessageError on the first bad length prefix or message
   */
  async * frames (): AsyncGenerator<SyncFrame, void, undefined> {
    const max = this.limits.maxMessageBytes
    // At most one partial message plus one slice of a chunk is ever buffered.
    const decoder = new LengthPrefixedDecoder({ maxDataLength: max, maxBufferSize: 2 * max + 16 })
    for await (const chunk of this.stream) {
      this.bytesReceived += chunk.byteLength
      // After a pause the stream hands over everything it buffered as one chunk: feed it in slices.
      const list = chunk instanceof Uint8Array ? new Uint8ArrayList(chunk) : chunk
      for (let offset = 0; offset < list.byteLength; offset += max) {
        let messages
        try {
          messages = [...decoder.decode(list.sublist(offset, Math.min(list.byteLength, offset + max)))]
        } catch (err) {
          throw new InvalidSyncMessageError(`bad length prefix: ${(err as Error).message}`)
        }
        for (const bytes of messages) yield decodeFrame(bytes.subarray(), this.limits)
      }
    }
  }

  /** Stop reading from the peer (it runs out of window and waits) until resume(). */
  pause (): void {
    if (this.paused || this.stream.status !== 'open') return
    this.paused = true
    try { this.stream.pause() } catch {}
  }

  resume (): void {
    if (!this.paused) return
    this.paused = false
    try { this.stream.resume() } catch {}
  }

  /** Close our side once everything queued is written. */
  async close (options: AbortOptions = {}): Promise<void> {
    await this.stream.close(options)
  }

  abort (err: Error): void {
    this.stream.abort(err)
  }
}
