import { BENCH_ECHO_MAX_BYTES, encodeMessages } from '../src/services/bench-echo.js'
import { strictLengthPrefixedDecoder } from '../src/util/length-prefix.js'
import { waitForDrain } from '../src/util/stream-drain.js'
import type { Stream } from '@libp2p/interface'

/**
 * The client of the bench echo (src/services/bench-echo.ts) on one long-lived stream: answers
 * come back in order, so each call waits for the next answer in line. One `send` per call: the
 * least libp2p does for a request and its answer.
 */
export class EchoClient {
  private readonly waiting: Array<{ resolve: () => void, reject: (err: Error) => void }> = []
  private readonly done: Promise<void>

  constructor (private readonly stream: Stream) {
    this.done = this.read()
  }

  async call (message: Uint8Array): Promise<void> {
    const answered = new Promise<void>((resolve, reject) => { this.waiting.push({ resolve, reject }) })
    if (this.stream.writableNeedsDrain) await waitForDrain(this.stream)
    this.stream.send(encodeMessages([message]))
    await answered
  }

  async close (): Promise<void> {
    await this.stream.close()
    await this.done
  }

  private async read (): Promise<void> {
    const decoder = strictLengthPrefixedDecoder(BENCH_ECHO_MAX_BYTES)
    try {
      for await (const chunk of this.stream) {
        for (const _ of decoder.decode(chunk)) this.waiting.shift()?.resolve()
      }
    } finally {
      for (const w of this.waiting.splice(0)) w.reject(new Error('echo stream ended'))
    }
  }
}
