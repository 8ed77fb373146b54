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
  /** Mode changes since start. */
  modeTransitions?: number
  /** Connected peers. */
  peers: number
  capacity: CapacityDoc | null
  /** Anti-entropy: when this node last reconciled its cache with a peer, and totals. */
  cacheSync?: { lastSyncAt: string | null, sessionsCompleted: number, sessionsFailed: number, entriesReceived: number, entriesSent: number }
  /**
   * This node's clock against its peers' (protocols/cache.md, "Clock skew"): `offsetMs` = its
   * clock minus the median of its own and its peers' clocks (null alone), `clocks` = how many
   * clocks that median is over, whether a cache write now would be accepted, and how many
   * entries written while no peer clock was known are not shared yet.
   */
  clock?: { offsetMs: number | null, clocks: number, cacheWrites: 'ok' | 'refused', reason?: string, unsharedEntries: number }
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
  /** Why: the score split by component (tasks, gossip, promises, latency, operator). */
  reputationComponents?: Record<string, number>
  /** healthy, avoid (routing skips it) or banned (disconnected and refused). */
  reputationState?: string
  /** When a ban ends (ISO 8601), for banned peers. */
  bannedUntil?: string
  /** Milliseconds since the peer was last heard from; 0 while connected; -1 when unknown (banned peers). */
  lastSeenMs: number
}

export interface RunDoc {
  taskId: string
  kind: string
  status: 'ok' | 'error'
  /** Peer id of the node that ran it (or last tried). */
  peer: string
  attempts: number
  durationMs: number
  /** The task's output: JSON when it parses as JSON, else the UTF-8 text. */
  output: unknown
  /** task.proto ErrorCode when status is "error" (e.g. KIND_NOT_SERVED, TIMED_OUT). */
  errorCode?: string
  error?: string
}

export interface TaskDoc {
  taskId: string
  kind: string
  status: 'ok' | 'error' | 'running'
  peer: string
  attempts: number
  durationMs: number
  /** Epoch ms. */
  submittedAt: number
  errorCode?: string
  error?: string
}

export interface RouteDoc {
  peerId: string
  local: boolean
  /** Expected completion time, ms (lower is better); null when not eligible. */
  score: number | null
  /** Tasks ahead of a new one there (beyond its free slots). */
  load: number
  queueWaitMs: number
  rttMs: number
  rttSource: string
  /** Time to connect first when not connected, ms. */
  dialMs: number
  runMs: number
  reputation: number
  reputationPenaltyMs: number
  eligible: boolean
  reason: string
}

/** A task this node ran (`fedmesh tasks --served`). */
export interface ServedDoc {
  taskId: string
  kind: string
  /** 'local' or the peer id that sent it. */
  origin: string
  startedAt: number
  runMs: number
  status: 'ok' | 'error'
  errorCode?: string
}

export interface CachePutDoc {
  key: string
  /** `wallMs-counter` of the write's hybrid logical clock. */
  version: string
  /** Peer id of the writer. */
  origin: string
}

export interface CacheEntryDoc {
  key: string
  /** The value as written (JSON). */
  value: unknown
  version: string
  origin: string
  /** When it was written, by its version's clock (ISO 8601). */
  updatedAt: string
  /** When it expires (ISO 8601), if it has a TTL. */
  expiresAt?: string
}

export interface CacheDelDoc {
  key: string
  version: string
}

export type CacheListDoc = Omit<CacheEntryDoc, 'value'>
