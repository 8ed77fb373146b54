import { byteStream } from '@libp2p/utils'
import { equals } from 'uint8arrays/equals'
import type { Connection } from '@libp2p/interface'

export const PING_PROTOCOL = '/ipfs/ping/1.0.0'
const PING_BYTES = 32

/**
 * One ping round trip over this very connection. libp2p's ping service dials the peer instead,
 * which picks any unlimited connection (perhaps a WebRTC one that carries nothing) and, when the
 * peer is reached only through a relay, opens a new connection rather than use the relayed one.
 */
export async function pingOver (conn: Connection, signal: AbortSignal): Promise<void> {
  const stream = await conn.newStream(PING_PROTOCOL, { signal, runOnLimitedConnection: true })
  try {
    const bytes = crypto.getRandomValues(new Uint8Array(PING_BYTES))
    const echo = byteStream(stream)
    await echo.write(bytes, { signal })
    const back = await echo.read({ bytes: PING_BYTES, signal })
    if (!equals(back.subarray(), bytes)) throw new Error('wrong ping answer')
    await stream.close({ signal }).catch(() => {})
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}
