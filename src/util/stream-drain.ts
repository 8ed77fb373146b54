import type { AbortOptions, Stream } from '@libp2p/interface'

/**
 * Wait for a stream's next 'drain' (its write buffer has room again). Not `stream.onDrain()`:
 * in @libp2p/utils 7.4 its promise is never reset after the first drain, so later calls resolve
 * at once while the buffer is still full and writers overflow it.
 */
export async function waitForDrain (stream: Stream, options: AbortOptions = {}): Promise<void> {
  options.signal?.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      stream.removeEventListener('drain', onDrain)
      stream.removeEventListener('close', onClose)
      options.signal?.removeEventListener('abort', onAbort)
      if (err != null) reject(err)
      else resolve()
    }
    const onDrain = (): void => { done() }
    const onClose = (): void => { done(new Error('stream closed while waiting to write')) }
    const onAbort = (): void => { done(options.signal?.reason ?? new Error('aborted')) }
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('close', onClose)
    options.signal?.addEventListener('abort', onAbort)
  })
}
