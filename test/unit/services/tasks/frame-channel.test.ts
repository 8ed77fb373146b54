import { afterEach, describe, expect, it, vi } from 'vitest'
import fc from 'fast-check'
import { streamPair } from '@libp2p/utils'
import * as varint from 'uint8-varint'
import { FrameType, TaskFrame } from '../../../../src/wire/task.js'
import { FrameChannel, MalformedFrameError } from '../../../../src/services/tasks/frame-channel.js'
import { frameLimitsFor, validateFrame } from '../../../../src/services/tasks/frame-limits.js'
import { arbValidFrame, concat, lengthPrefixed } from '../../../helpers/unit-frames.js'
import type { Stream } from '@libp2p/interface'

const limits = frameLimitsFor(1024)
const streams: Stream[] = []

afterEach(() => {
  for (const s of streams.splice(0)) s.abort(new Error('test over'))
})

async function pair (): Promise<[Stream, Stream]> {
  const [a, b] = await streamPair()
  streams.push(a, b)
  return [a, b]
}

/** Read frames until the stream ends or the channel throws; returns both. */
async function readAll (channel: FrameChannel, max = Infinity): Promise<{ frames: TaskFrame[], error?: unknown }> {
  const frames: TaskFrame[] = []
  try {
    for await (const f of channel.frames()) {
      frames.push(f)
      if (frames.length >= max) break
    }
    return { frames }
  } catch (error) {
    return { frames, error }
  }
}

/** A stream stand-in that only yields the given chunks: all `frames()` reads. */
function chunkStream (chunks: Uint8Array[]): Stream {
  return {
    async * [Symbol.asyncIterator] () { yield * chunks }
  } as unknown as Stream
}

describe('FrameChannel', () => {
  it('carries frames in order between the two ends of a stream', async () => {
    const [a, b] = await pair()
    const out = new FrameChannel(a, limits)
    const frames: Array<Partial<TaskFrame>> = [
      { type: FrameType.RESERVE, id: 1, kind: 'echo', taskId: 't1' },
      { type: FrameType.REQUEST, id: 2, request: { taskId: 't2', kind: 'echo', input: new Uint8Array([1, 2, 3]), deadlineMs: 1000, attempt: 1, maxWaitMs: 0, expectedRunMs: 0, ageMs: 0, priority: 0 } },
      { type: FrameType.CANCEL, id: 1 }
    ]
    const reading = readAll(new FrameChannel(b, limits), frames.length)
    for (const f of frames) await out.send(f)
    const { frames: got, error } = await reading
    expect(error).toBeUndefined()
    expect(got.map(f => [f.type, f.id])).toEqual([[FrameType.RESERVE, 1], [FrameType.REQUEST, 2], [FrameType.CANCEL, 1]])
    expect(got[1].request?.input).toEqual(new Uint8Array([1, 2, 3]))
  })

  it('coalesces the frames sent in one tick into one stream write', async () => {
    const [a, b] = await pair()
    const send = vi.spyOn(a, 'send')
    const out = new FrameChannel(a, limits)
    const reading = readAll(new FrameChannel(b, limits), 6)
    await Promise.all([1, 2, 3, 4, 5].map(async id => out.send({ type: FrameType.CANCEL, id })))
    await new Promise(resolve => setImmediate(resolve))
    expect(send).toHaveBeenCalledTimes(1)
    // A frame in a later tick is a second write.
    await out.send({ type: FrameType.CANCEL, id: 6 })
    await new Promise(resolve => setImmediate(resolve))
    expect(send).toHaveBeenCalledTimes(2)
    expect((await reading).frames.map(f => f.id)).toEqual([1, 2, 3, 4, 5, 6])
  })

  it('writes a busy turn\'s frames as soon as maxFramesPerWrite are queued, not all at its end', async () => {
    const [a, b] = await pair()
    const send = vi.spyOn(a, 'send')
    const out = new FrameChannel(a, limits, () => true, 8)
    const reading = readAll(new FrameChannel(b, limits), 20)
    const ids = Array.from({ length: 20 }, (_, i) => i + 1)
    // As answers arriving in one read make them: one frame per microtask, all in one turn.
    let turnEnded = false
    setImmediate(() => { turnEnded = true })
    for (const id of ids) {
      await Promise.resolve()
      void out.send({ type: FrameType.CANCEL, id })
    }
    await Promise.resolve()
    expect(turnEnded).toBe(false)
    // The first eight (at least) left before the turn ended, the rest after.
    expect(send.mock.calls.length).toBeGreaterThanOrEqual(2)
    expect(send.mock.calls[0][0].byteLength).toBe(send.mock.calls[1][0].byteLength)
    await new Promise(resolve => setImmediate(resolve))
    expect((await reading).frames.map(f => f.id)).toEqual(ids)
  })

  it('writes frames queued while a write finishes without waiting for another send', async () => {
    const [a, b] = await pair()
    const out = new FrameChannel(a, limits, () => false)
    const reading = readAll(new FrameChannel(b, limits), 3)
    await out.send({ type: FrameType.CANCEL, id: 1 })
    // The first write runs in this microtask queue; these arrive while it completes.
    queueMicrotask(() => { void out.send({ type: FrameType.CANCEL, id: 2 }) })
    await Promise.resolve()
    void out.send({ type: FrameType.CANCEL, id: 3 })
    expect((await reading).frames.map(f => f.id)).toEqual([1, 2, 3])
  })

  it('rejects a length prefix over maxFrameBytes before the body arrives', async () => {
    const [a, b] = await pair()
    const reading = readAll(new FrameChannel(b, limits))
    a.send(varint.encode(limits.maxFrameBytes + 1)) // the prefix alone, no body
    const { error } = await reading
    expect(error).toBeInstanceOf(MalformedFrameError)
    expect((error as Error).message).toMatch(/length/)
  })

  it('rejects a 2^63 length prefix (ten varint bytes) at once, without waiting for more bytes', async () => {
    const [a, b] = await pair()
    const reading = readAll(new FrameChannel(b, limits))
    // 2^63 as an unsigned varint: nine bytes with the continuation bit, then 0x01. The stream stays open.
    a.send(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]))
    const { error } = await reading
    expect(error).toBeInstanceOf(MalformedFrameError)
    expect((error as Error).message).toMatch(/length prefix longer than/)
  })

  it('rejects an over-long prefix as soon as its bytes are in, even one byte at a time and with nothing after', async () => {
    // maxFrameBytes fits in 2 varint bytes here: a third byte with the continuation bit is over-long.
    for (const chunks of [[[0xff], [0xff], [0xff]], [[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]], [[0x80], [0x80, 0x80, 0x80]]]) {
      const { frames, error } = await readAll(new FrameChannel(chunkStream(chunks.map(c => new Uint8Array(c))), limits))
      expect(frames).toEqual([])
      expect(error).toBeInstanceOf(MalformedFrameError)
    }
  })

  it('rejects a length prefix padded with continuation bytes (not minimal)', async () => {
    const body = TaskFrame.encode({ type: FrameType.CANCEL, id: 1 })
    const padded = concat(new Uint8Array([0x80 | body.byteLength, 0x00]), body)
    const { frames, error } = await readAll(new FrameChannel(chunkStream([padded]), limits))
    expect(frames).toEqual([])
    expect(error).toBeInstanceOf(MalformedFrameError)
    expect((error as Error).message).toMatch(/minimal/)
  })

  it('rejects an undecodable frame', async () => {
    const [a, b] = await pair()
    const reading = readAll(new FrameChannel(b, limits))
    a.send(lengthPrefixed(new Uint8Array([0x08]))) // field 1, varint, then nothing
    const { error } = await reading
    expect(error).toBeInstanceOf(MalformedFrameError)
    expect((error as Error).message).toMatch(/undecodable/)
  })

  it('rejects a frame that decodes but breaks the limits, after the good frames before it', async () => {
    const [a, b] = await pair()
    const reading = readAll(new FrameChannel(b, limits))
    a.send(concat(
      lengthPrefixed(TaskFrame.encode({ type: FrameType.CANCEL, id: 7 })),
      lengthPrefixed(TaskFrame.encode({ type: FrameType.REQUEST, id: 8 }))
    ))
    const { frames, error } = await reading
    expect(frames.map(f => f.id)).toEqual([7])
    expect(error).toBeInstanceOf(MalformedFrameError)
    expect((error as Error).message).toMatch(/without a request/)
  })

  it('on arbitrary bytes in arbitrary chunks: only valid frames come out, and the only error is MalformedFrameError', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 6 }), async chunks => {
      const { frames, error } = await readAll(new FrameChannel(chunkStream(chunks), limits))
      if (error != null) expect(error).toBeInstanceOf(MalformedFrameError)
      for (const f of frames) expect(validateFrame(f, limits)).toBeUndefined()
    }), { numRuns: 10_000 })
  })

  it('valid frames split at arbitrary points come out whole and in order', async () => {
    await fc.assert(fc.asyncProperty(fc.array(arbValidFrame, { maxLength: 5 }), fc.array(fc.nat(), { maxLength: 8 }), async (frames, cuts) => {
      const bytes = concat(...frames.map(f => lengthPrefixed(TaskFrame.encode(f))))
      const points = [...new Set(cuts.map(c => bytes.byteLength === 0 ? 0 : c % bytes.byteLength))].sort((x, y) => x - y)
      const chunks = [0, ...points].map((from, i) => bytes.subarray(from, [...points, bytes.byteLength][i]))
      const { frames: got, error } = await readAll(new FrameChannel(chunkStream(chunks), limits))
      expect(error).toBeUndefined()
      expect(got).toEqual(frames)
    }), { numRuns: 2_000 })
  })
})

describe('FrameChannel writes', () => {
  it('writes many large frames queued at once in slices, never overflowing a bounded write buffer', async () => {
    const big = frameLimitsFor(1024 * 1024)
    // A slow link (little capacity per tick) and yamux's bounded write buffer, as in a node.
    const [a, b] = await streamPair({ capacity: 2 })
    ;(a as unknown as { maxWriteBufferLength: number }).maxWriteBufferLength = 4 * 1024 * 1024
    streams.push(a, b)
    const out = new FrameChannel(a, big)
    const reading = readAll(new FrameChannel(b, big), 8)
    const payload = new Uint8Array(1024 * 1024 - 64).fill(7)
    await Promise.all(Array.from({ length: 8 }, async (_, i) => out.send({
      type: FrameType.REQUEST, id: i + 1, request: { taskId: `t${i}`, kind: 'echo', input: payload, deadlineMs: 1000, attempt: 1, maxWaitMs: 0, expectedRunMs: 0, ageMs: 0, priority: 0 }
    })))
    const { frames, error } = await reading
    expect(error).toBeUndefined()
    expect(frames.map(f => f.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    expect(a.status).toBe('open')
  })
})
