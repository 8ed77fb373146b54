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
/**
 * Frames that wait for the end of a busy turn at most: then they leave at once. 64 answers
 * arriving in one read make 64 new requests in one turn; written together at its end, the peer
 * idled until the last was made and the two processes took turns (lockstep). Eight at a time it
 * starts on the first while the rest are made (bench rpc: node.run at 64 in flight 5.1k -> 5.7-6.5k
 * tasks/s, the task client unchanged), for a write per 8 frames instead of one per turn.
 */
export const DEFAULT_MAX_FRAMES_PER_WRITE = 8

export class FrameChannel {
  private pending: Uint8Array[] = []
  private pendingBytes = 0
  private pendingFrames = 0
  private soonScheduled = false
  private turnScheduled = false
  private writing = false
  private readonly roomWaiters: Array<() => void> = []

  /**
   * @param busy - whether more frames are likely this turn (many requests in flight): then
   * frames wait for the end of the event-loop turn to share a write; otherwise a lone frame
   * leaves at the end of the current microtask queue, for the lowest latency.
   * @param maxFramesPerWrite - frames that wait for the end of a busy turn at most. Default DEFAULT_MAX_FRAMES_PER_WRITE.
   */
  constructor (readonly stream: Stream, private readonly limits: FrameLimits, private readonly busy: () => boolean = () => true, private readonly maxFramesPerWrite = DEFAULT_MAX_FRAMES_PER_WRITE) {}

  /**
   * Queue a frame. Frames queued in the same tick leave in one stream write (one yamux frame,
   * one Noise seal, one syscall), up to `maxFramesPerWrite` of them, which is what makes many
   * requests in flight cheap. Resolves at once unless too much is queued already (then when
   * there is room again).
   */
  async send (frame: Partial<TaskFrame>): Promise<void> {
    await this.waitForRoom()
    this.queue(frame)
  }

  /** Is there room for a frame now (`queue` without waiting)? */
  hasRoom (): boolean {
    return this.pendingBytes < MAX_QUEUED_BYTES || !this.isWritable()
  }

  /** Resolves when there is room for a frame (at once, nearly always). */
  async waitForRoom (): Promise<void> {
    while (!this.hasRoom()) {
      await new Promise<void>(resolve => { this.roomWaiters.push(resolve) })
    }
  }

  /** Queue a frame now, whatever is queued already (`send` waits for room first). */
  queue (frame: Partial<TaskFrame>): void {
    const body = TaskFrame.encode(frame)
    this.pending.push(varint.encode(body.byteLength), body)
    this.pendingBytes += varint.encodingLength(body.byteLength) + body.byteLength
    this.pendingFrames++
    // A write under way takes what is queued meanwhile (and schedules what is left when it ends).
    if (!this.writing) this.schedule()
  }

  /** Flush at the end of the microtask queue (a lone frame, or enough of them), else of the turn. */
  private schedule (): void {
    if (this.pendingFrames >= this.maxFramesPerWrite || !this.busy()) {
      if (this.soonScheduled) return
      this.soonScheduled = true
      queueMicrotask(() => { this.soonScheduled = false; this.flush() })
    } else if (!this.turnScheduled) {
      this.turnScheduled = true
      setImmediate(() => { this.turnScheduled = false; this.flush() })
    }
  }

  private flush (): void {
    if (this.writing || this.pending.length === 0) return
    this.writing = true
    this.write().catch(() => {}).finally(() => {
      this.writing = false
      for (const wake of this.roomWaiters.splice(0)) wake()
      // Frames queued between the last slice and now.
      if (this.pending.length > 0 && this.isWritable()) this.schedule()
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
      this.pendingFrames = 0
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

  /**
   * Frames as they arrive; throws MalformedFrameError on the first bad one. `onChunk` is called
   * as each chunk of bytes arrives (the peer is alive), once however many frames it holds.
   */
  async * frames (onChunk?: () => void): AsyncGenerator<TaskFrame> {
    const decoder = strictLengthPrefixedDecoder(this.limits.maxFrameBytes, this.limits.maxFrameBytes * 2)
    for await (const chunk of this.stream) {
      onChunk?.()
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
