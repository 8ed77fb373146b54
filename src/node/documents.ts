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
  /** It takes no work from peers now (its owner's host policy). Absent when it does. */
  paused?: boolean
  /** Why it offers fewer slots than it has, or none (`paused`, `quiet-hours`, `battery-low`, `on-battery`, `owner-busy`, `user-active`). */
  servingReason?: string
}

/**
 * How much of this machine peers may use now, and why (`fedmesh status`, `pause`, `resume`,
 * `GET /v1/serving`): the host policy's decision over its signals.
 */
export interface ServingDoc {
  /** Slots peers' tasks may use now, of `of` (the node's concurrency). */
  slots: number
  of: number
  paused: boolean
  /** Why fewer than `of` (absent when all). */
  reason?: string
  /** One sentence for people. */
  detail?: string
  /** The owner's pause: since when and until when (ISO 8601; `until` absent = until `fedmesh resume`). */
  pause?: { since: string, until?: string }
  /** What the host component reads now. */
  signals: { onBattery: boolean, batteryPercent?: number, presence: 'active' | 'idle' | 'unknown', idleMs?: number, ownerBusyCores?: number, cores: number }
  /** The policy in force (config `policy`). */
  policy: { batteryFloorPercent: number, onBatteryShare: number, activeUserSlots: number, quietHours: string | null, yieldToOwner: boolean, onPause: 'finish' | 'handBack' }
}

/**
 * A Vivaldi network coordinate (core/vivaldi.ts): the estimated round trip between two nodes is
 * the distance between their `vec`s plus both `height`s (and adjustments), ms. Rotation is
 * arbitrary: only distances mean something (the dashboard draws a 2-D projection).
 */
export interface CoordinateDoc {
  vec: number[]
  height: number
  /** Confidence: ~0 certain, 1.5 knows nothing yet. */
  error: number
}

/** Whether the store takes writes (`status.storage`). */
export interface StorageDoc {
  /** false while writes are refused (disk full or failing); reads still work. */
  ok: boolean
  /** While failed: why, e.g. "no space left on device". */
  error?: string
  /** While failed: since when (ISO 8601). */
  since?: string
  /** Writes refused with 507 since the daemon started. */
  writesRefused: number
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
  /** The store: writes accepted or refused (disk full or failing), and why. */
  storage?: StorageDoc
  /** The replicated cache held here: entries (tombstones included) and bytes of keys and values. */
  cache?: { entries: number, bytes: number }
  /** What peers may use of this machine now, and why (the host policy). */
  serving?: ServingDoc
  /** This node's Vivaldi coordinate. */
  coordinate?: CoordinateDoc
  /**
   * Can peers on the internet dial this node (protocols/nat.md): `public` (a public address
   * confirmed by members dialling it back, a UPnP mapping or `announce`), `private` (behind a
   * NAT: reached through relays and hole punching), `unknown` (a LAN or loopback, or not measured yet).
   */
  reachability?: 'public' | 'private' | 'unknown'
  /** What reachability was judged from: confirmed public addresses, the public addresses peers see this node at. */
  nat?: { publicAddresses: string[], observedAddresses: string[] }
  /** Relay reservations this node holds (its `/p2p-circuit` addresses), and, when it is a relay, the reservations it holds for members. */
  relay?: { reservations: Array<{ relay: string, address: string }>, serving?: { reservations: number } }
  uptimeMs: number
  version: string
}

export interface PeerDoc {
  peerId: string
  name: string
  addresses: string[]
  connected: boolean
  /**
   * How this node reaches it while connected: `direct`, or `relayed` through a circuit relay
   * (control traffic only; tasks wait for a direct path); null when not connected.
   */
  connection?: 'direct' | 'relayed' | null
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
  /**
   * Milliseconds since the peer was last heard from; 0 while connected; null when unknown (never
   * heard from since this node started, e.g. a peer banned before a restart).
   */
  lastSeenMs: number | null
  /** `member` (proved membership, or any peer in an open mesh) or, with `peers --all`, `refused`. */
  membership?: 'member' | 'refused'
  /** Why a refused peer was refused, how often, when last (epoch ms). */
  refusal?: { reason: string, count: number, lastAt: number }
  /** Cache entries this node refused from the peer, by reason (e.g. `not-a-writer`, `writer-quota`); absent when none. */
  cacheRefusals?: Record<string, number>
  /** Its advertised Vivaldi coordinate, when an ad carried one. */
  coordinate?: CoordinateDoc
}

export interface RunDoc {
  taskId: string
  kind: string
  status: 'ok' | 'error'
  /** Peer id of the node that ran it (or last tried). */
  peer: string
  attempts: number
  durationMs: number
  /** The task's output: JSON when it parses as JSON, else the UTF-8 text (null when it is not UTF-8: see `outputBase64`). */
  output: unknown
  /** The output's bytes, base64, when they are not UTF-8 text (a command kind's binary output). */
  outputBase64?: string
  /** task.proto ErrorCode when status is "error" (e.g. KIND_NOT_SERVED, TIMED_OUT). */
  errorCode?: string
  error?: string
}

export interface TaskDoc {
  taskId: string
  kind: string
  /** queued: accepted, waiting for a free slot in the mesh; running: out to a peer (or here). */
  status: 'ok' | 'error' | 'running' | 'queued'
  peer: string
  attempts: number
  durationMs: number
  /** Epoch ms. */
  submittedAt: number
  errorCode?: string
  error?: string
}

/** One task submitted here, by id (`GET /v1/tasks/{id}`, `fedmesh tasks show ID`). */
export interface TaskDetailDoc extends TaskDoc {
  /** Its time budget, ms. */
  timeoutMs?: number
  /** The peer it was pinned to (`--peer`), if any. */
  pinnedPeer?: string
  /** The output when it finished ok (JSON when it parses, else text); null otherwise. */
  output: unknown
  /** The output's bytes, base64, when they are not UTF-8 text. */
  outputBase64?: string
}

/** What `tasks cancel ID` did (`POST /v1/tasks/{id}/cancel`). */
export interface CancelDoc {
  taskId: string
  /**
   * `cancelled`: it had not started anywhere and never will; `may-still-finish`: a peer (or
   * this node) had started it, or did not confirm dropping it, and may still finish it (a
   * running task is not stopped); `already-finished`: it had ended before (see `status`).
   */
  outcome: 'cancelled' | 'may-still-finish' | 'already-finished'
  /** How the task ended: "error" with `errorCode` "CANCELLED" when cancelled. */
  status: 'ok' | 'error'
  errorCode?: string
  /** Where it may still finish (`may-still-finish`), when known. */
  peer?: string
  /** One sentence for people. */
  message: string
}

/** `fedmesh ping PEER`: round trips measured now over libp2p ping (`POST /v1/peers/{id}/ping`). */
export interface PingDoc {
  peerId: string
  name: string
  /** Each round trip, ms, in order; null for one that failed or timed out. */
  pings: Array<number | null>
  sent: number
  received: number
  /** Over the answered pings; null when none answered. */
  minMs: number | null
  avgMs: number | null
  maxMs: number | null
  /** Why pings failed (the first failure), when any did. */
  error?: string
}

/** `fedmesh rtt PEER`: the round trip this node uses for routing, measured and estimated (`GET /v1/peers/{id}/rtt`). */
export interface RttDoc {
  peerId: string
  name: string
  connected: boolean
  /** Median-filtered EWMA of the background pings, ms; null when not measured (not connected, or not pinged yet). */
  measuredMs: number | null
  /** Distance between this node's Vivaldi coordinate and the one the peer advertises, ms; null without an advert. */
  estimatedMs: number | null
  /** What routing uses: `ping` when measured, else `vivaldi`, else `none`. */
  source: 'ping' | 'vivaldi' | 'none'
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

/** A task this node ran, or runs (`fedmesh tasks --served`); the list survives restarts. */
export interface ServedDoc {
  taskId: string
  kind: string
  /** 'local' or the peer id that sent it. */
  origin: string
  startedAt: number
  /** How long it ran (so far, while running; 0 for a run cut by a crash). */
  runMs: number
  /** error with errorCode INTERRUPTED: it was running when the node crashed (it is not run again here). */
  status: 'ok' | 'error' | 'running'
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
