/**
 * The stable output documents of the control API and the CLI's `--json` (CONTRACT.md). They are
 * separate from internal types so internals can change without breaking scripts.
 */

export interface CapacityDoc {
  cores: number
  freeMemoryMb: number
  load: number
  queueDepth: number
  running: number
  concurrency: number
  kinds: string[]
}

export interface StatusDoc {
  peerId: string
  name: string
  addresses: string[]
  mode: 'federated' | 'solo'
  /** Since when the node has been in this mode (epoch ms). */
  modeSince?: number
  /** Connected peers. */
  peers: number
  capacity: CapacityDoc | null
  uptimeMs: number
  version: string
}

export interface PeerDoc {
  peerId: string
  name: string
  addresses: string[]
  connected: boolean
  discoveredVia: string[]
  rttMs: number | null
  capacity: CapacityDoc | null
  reputation: number
  /** Milliseconds since the peer was last heard from; 0 while connected. */
  lastSeenMs: number
}
