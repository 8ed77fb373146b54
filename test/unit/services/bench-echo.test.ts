import { describe, expect, it } from 'vitest'
import * as varint from 'uint8-varint'
import { BENCH_ECHO_MAX_BYTES, BENCH_ECHO_PROTOCOL, encodeMessages, serveBenchEcho } from '../../../src/services/bench-echo.js'
import { strictLengthPrefixedDecoder } from '../../../src/util/length-prefix.js'
import { memoryNodes } from '../../helpers/memory-node.js'
import type { Stream } from '@libp2p/interface'

const node = memoryNodes('bench-echo')

/** Read `count` length-prefixed messages from `stream`. */
async function readMessages (stream: Stream, count: number): Promise<string[]> {
  const decoder = strictLengthPrefixedDecoder(BENCH_ECHO_MAX_BYTES)
  const out: string[] = []
  for await (const chunk of stream) {
    for (const m of decoder.decode(chunk)) out.push(new TextDecoder().decode(m.subarray()))
    if (out.length >= count) break
  }
  return out
}

describe('bench echo (bench rpc floor)', () => {
  it('echoes each length-prefixed message, several per write and split across writes', async () => {
    const [a, b] = [await node(), await node()]
    await serveBenchEcho(b.libp2p)
    const stream = await (await a.libp2p.dial(b.libp2p.getMultiaddrs())).newStream(BENCH_ECHO_PROTOCOL)
    const text = new TextEncoder()
    const two = encodeMessages([text.encode('one'), text.encode('two')])
    const third = encodeMessages([text.encode('three')])
    stream.send(two)
    stream.send(third.subarray(0, 2))
    stream.send(third.subarray(2))
    expect(await readMessages(stream, 3)).toEqual(['one', 'two', 'three'])
  })

  it('resets a stream whose length prefix is past the limit', async () => {
    const [a, b] = [await node(), await node()]
    await serveBenchEcho(b.libp2p)
    const stream = await (await a.libp2p.dial(b.libp2p.getMultiaddrs())).newStream(BENCH_ECHO_PROTOCOL)
    stream.send(varint.encode(BENCH_ECHO_MAX_BYTES + 1))
    await expect(readMessages(stream, 1)).rejects.toThrow()
  })

  it('is not served unless asked for', async () => {
    const [a, b] = [await node(), await node()]
    const conn = await a.libp2p.dial(b.libp2p.getMultiaddrs())
    await expect(conn.newStream(BENCH_ECHO_PROTOCOL)).rejects.toThrow(/protocol/i)
  })
})
