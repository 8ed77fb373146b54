import * as varint from 'uint8-varint'
import { strictLengthPrefixedDecoder } from '../../util/length-prefix.js'
import { waitForDrain } from '../../util/stream-drain.js'
import { TaskFrame } from '../../wire/task.js'
import { validateFrame } from './frame-limits.js'
import type { FrameLimits } from './frame-limits.js'
import type { Stream } from '@libp2p/interface'

/** A frame that broke the protocol: the stream is reset and the sender loses reputation. */
export class MalformedFrameError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'MalformedFrameError'
  }
}

/**
 * Length-prefixed TaskFrames over one long-lived stream, in both directions at once. Sending
 * respects backpressure (`send` resolves after `drain` when the buffer is full); reading checks
 * the length prefix against the limit before buffering and validates every frame.
 */
/** One stream write at most: the muxer's write buffer (4 MiB by profile) must never overflow. */
const WRITE_SLICE_BYTES = 256 * 1024
/** Frames queued but not yet written at most; beyond, senders wait (backpressure). */
const MAX_QUEUED_BYTES = 2 * 1024 * 1024

export class FrameChannel {
  private pending: Uint8Array[] = []
  private pendingBytes = 0
  private flushScheduled = false
  private writing = false
  private readonly roomWaiters: Array<() => void> = []

  /**
   * @param busy - whether more frames are likely this turn (many requests in flight): then
   * frames wait for the end of the event-loop turn to share a write; otherwise a lone frame
   * leaves at the end of the current microtask queue, for the lowest latency.
   */
  constructor (readonly stream: Stream, private readonly limits: FrameLimits, private readonly busy: () => boolean = () => true) {}

  /**
   * Queue a frame. Frames queued in the same tick leave in one stream write (one yamux frame,
   * one Noise seal, one syscall), which is what makes many requests in flight cheap. Resolves at
   * once unless too much is queued already (then when there is room again).
   */
  async send (frame: Partial<TaskFrame>): Promise<void> {
    while (this.pendingBytes >= MAX_QUEUED_BYTES && this.isWritable()) {
      await new Promise<void>(resolve => { this.roomWaiters.push(resolve) })
    }
    const body = TaskFrame.encode(frame)
    this.pending.push(varint.encode(body.byteLength), body)
    this.pendingBytes += varint.encodingLength(body.byteLength) + body.byteLength
    if (!this.flushScheduled && !this.writing) {
      this.flushScheduled = true
      if (this.busy()) setImmediate(() => { this.flush() })
      else queueMicrotask(() => { this.flush() })
    }
  }

  private flush (): void {
    this.flushScheduled = false
    if (this.writing) return
    this.writing = true
    this.write().catch(() => {}).finally(() => {
      this.writing = false
      for (const wake of this.roomWaiters.splice(0)) wake()
    })
  }

  /** Write what is queued in slices, waiting for the muxer's buffer to drain between them. */
  private async write (): Promise<void> {
    while (this.pending.length > 0) {
      const out = new Uint8Array(this.pendingBytes)
      let offset = 0
      for (const part of this.pending) {
        out.set(part, offset)
        offset += part.byteLength
      }
      this.pending = []
      this.pendingBytes = 0
      for (const wake of this.roomWaiters.splice(0)) wake()
      for (let at = 0; at < out.byteLength; at += WRITE_SLICE_BYTES) {
        while (this.stream.writableNeedsDrain) await waitForDrain(this.stream)
        if (!this.isWritable()) return
        this.stream.send(out.subarray(at, at + WRITE_SLICE_BYTES))
      }
    }
  }

  private isWritable (): boolean {
    return this.stream.status === 'open' && this.stream.writeStatus === 'writable'
  }

  /** Frames as they arrive; throws MalformedFrameError on the first bad one. */
  async * frames (): AsyncGenerator<TaskFrame> {
    const decoder = strictLengthPrefixedDecoder(this.limits.maxFrameBytes, this.limits.maxFrameBytes * 2)
    for await (const chunk of this.stream) {
      let messages
      try {
        messages = [...decoder.decode(chunk)]
      } catch (err) {
        throw new MalformedFrameError(`bad length prefix: ${(err as Error).message}`)
      }
      for (const bytes of messages) {
        let frame: TaskFrame
        try {
          frame = TaskFrame.decode(bytes)
        } catch (err) {
          throw new MalformedFrameError(`undecodable frame: ${(err as Error).message}`)
        }
        const problem = validateFrame(frame, this.limits)
        if (problem != null) throw new MalformedFrameError(problem)
        yield frame
      }
    }
  }

  abort (reason: Error): void {
    this.stream.abort(reason)
  }

  async close (): Promise<void> {
    await this.stream.close().catch(() => { this.stream.abort(new Error('close failed')) })
  }
}
