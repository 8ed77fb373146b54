import { prefixLogger } from '@libp2p/logger'
import type { ComponentLogger, Logger } from '@libp2p/interface'

const quiet: Logger = Object.assign(() => {}, {
  error: () => {},
  trace: () => {},
  enabled: false,
  newScope: () => quiet
})
const quietComponents: ComponentLogger = { forComponent: () => quiet }

/**
 * Peer `i`'s logger: its lines are prefixed `peer-i:` when DEBUG is set (e.g.
 * `DEBUG='peer-3:*'`). Without DEBUG every node shares one silent logger: libp2p creates a
 * logger per connection, stream and component, and a thousand nodes' worth of disabled
 * `debug` instances costs ~100 MB and their creation CPU for nothing.
 */
export function peerLogger (i: number): ComponentLogger {
  return (process.env.DEBUG ?? '') === '' ? quietComponents : prefixLogger(`peer-${i}`)
}
