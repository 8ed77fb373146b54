import { SECOND } from '../util/time.js'
import type { FedStore } from '../store/store.js'
import type { MembershipInit } from '../services/membership/index.js'
import type { CommandSpec } from '../services/tasks/command-handler.js'
import type { BytesHandler } from './task-payload.js'
import type { StoredEntry } from '../services/cache/entry.js'
import type { AppliedSource } from '../services/cache/cache-service.js'
import type { CacheAuthorizer } from '../services/cache/intake.js'
import type { CacheSyncInit } from '../services/cache-sync/cache-sync-service.js'
import type { Clock } from '../util/time.js'
import type { FederationSeed } from '../services/federation/federation.js'
import type { WriterQuota } from '../services/cache/writer-usage.js'
import type { ComponentLogger, PrivateKey, Transport } from '@libp2p/interface'
import type { Registry } from 'prom-client'
import type { NodeEvents } from './events.js'
import type { HostPolicy } from '../core/host-policy.js'
import type { OnPause } from '../services/tasks/executor.js'
import type { HostServiceInit } from '../services/host/host-service.js'

export type TransportChoice = 'tcp' | 'memory' | ((components: any) => Transport)

/** Wire names (CONTRACT.md "Wire names"). */
export const KAD_PROTOCOL = '/fedmesh/kad/1.0.0'
export { CACHE_TOPIC } from '../services/cache/topic.js'
/** A private federation's DHT: members of two federations on one LAN never share routing tables. */
export function federationKadProtocol (federationId: string): string {
  return `/fedmesh/kad/${federationId}/1.0.0`
}
export const MDNS_SERVICE_TAG = '_fedmesh._udp.local'

/** What one remote peer may cost this node, whatever it sends. */
export interface ConnectionLimits {
  /** Open connections at most (libp2p prunes beyond). */
  maxConnections: number
  /** Inbound connections still upgrading at most. */
  maxIncomingPendingConnections: number
  /** New inbound connections per second from one host. */
  inboundConnectionThreshold: number
  /** Bytes queued for writing per yamux stream before it is aborted (yamux's default is unbounded). */
  maxStreamWriteBufferBytes: number
  /** Bytes buffered for reading per yamux stream before it is aborted. */
  maxStreamReadBufferBytes: number
  /** Streams a peer may open on one connection. */
  maxInboundStreams: number
  /** Largest gossipsub message data accepted (the cache's biggest entry plus framing). */
  maxGossipDataBytes: number
}

/** A relay's limits for each member it serves (circuit relay v2; protocols/nat.md). */
export interface RelayLimits {
  /** Members holding a reservation at once. */
  maxReservations: number
  /** A relayed connection is closed after this long, ms. */
  durationLimitMs: number
  /** A relayed connection is closed after this many bytes (each direction). */
  dataLimitBytes: number
}

export const DEFAULT_RELAY_LIMITS: RelayLimits = {
  maxReservations: 128,
  // Long enough for HELLO, identify and a hole punch with retries; then the peers re-dial.
  durationLimitMs: 2 * 60 * SECOND,
  // Control traffic of two members for minutes (an ad a second is ~300 bytes); payloads never go relayed.
  dataLimitBytes: 1024 * 1024
}

/** NAT traversal (TCP nodes): see README "Reaching peers behind NAT". */
export interface NatOptions {
  /** Take relay reservations and listen for WebRTC once behind a NAT. Default true. */
  relayClient?: boolean
  /** Serve as a relay for members (with these limits). Default false: off. */
  relay?: RelayLimits | false
  /** Hole-punch relayed connections with WebRTC. Default true. */
  webrtc?: boolean
  /** STUN servers for WebRTC (`stun:host:port`). Default none: only addresses the node knows. */
  stun?: string[]
  /** Ask members to confirm this node's public addresses (AutoNAT v2) and answer theirs. Default true. */
  autonat?: boolean
  /** Map the listen port on a UPnP gateway. Default false (the daemon turns it on unless it listens on loopback only). */
  upnp?: boolean
  /** Addresses announced as dialable without confirmation (a relay with a known public address). Default none. */
  announce?: string[]
}

export function resolveNat (nat: NatOptions = {}): Required<NatOptions> {
  return {
    relayClient: nat.relayClient ?? true,
    relay: nat.relay ?? false,
    webrtc: nat.webrtc ?? true,
    stun: nat.stun ?? [],
    autonat: nat.autonat ?? true,
    upnp: nat.upnp ?? false,
    announce: nat.announce ?? []
  }
}

export interface MdnsOptions {
  /** How often to query the LAN. */
  intervalMs: number
  serviceTag: string
}

/**
 * Settings that vary by deployment. `lan` is the daemon on a developer's machine; `local` is
 * several daemons on one host (tests); `sim` is hundreds of nodes in one process. All derive
 * from `lan`, overriding only what must differ.
 */
export interface Profile {
  limits: ConnectionLimits
  mdns: MdnsOptions
  membership: MembershipInit
  /** Capacity advertisement interval while the node has work (also the liveness heartbeat), ms. */
  capacityIntervalMs: number
  /** Capacity advertisement interval while the node is idle (core/ad-pace.ts), ms. */
  capacityIdleIntervalMs: number
  /** Shortest gap between two ads sent early on a load change, ms. */
  capacityMinGapMs: number
  /** A peer not heard from for this long is not live (solo when none is), ms. */
  livenessMs: number
  /** How often a connected peer is pinged for RTT (and Vivaldi) until its RTT settles, ms. */
  pingIntervalMs: number
  /** How often a peer whose RTT has settled is pinged, ms (core/ping-pace.ts). */
  pingSettledIntervalMs: number
}

const LAN: Profile = {
  limits: {
    maxConnections: 300,
    maxIncomingPendingConnections: 10,
    inboundConnectionThreshold: 5,
    maxStreamWriteBufferBytes: 4 * 1024 * 1024,
    maxStreamReadBufferBytes: 4 * 1024 * 1024,
    maxInboundStreams: 256,
    maxGossipDataBytes: 1024 * 1024 + 4096
  },
  // One small multicast query a second: peers that start together still meet within ~1 s.
  mdns: { intervalMs: 1 * SECOND, serviceTag: MDNS_SERVICE_TAG },
  membership: {},
  capacityIntervalMs: 1 * SECOND,
  // Idle ads stay at the busy pace on the LAN: the ad is the liveness heartbeat, and "solo ≤ 3 s
  // after a cut" (DESIGN.md) holds for idle peers only at 1 s (5 s idle ads took 7-12 s). The
  // bytes target holds without it (slower settled pings, DHT walk back-off: ~0.7 KB/s per peer);
  // `capacityIdleIntervalMs` quiets an idle node further where slower detection is fine.
  capacityIdleIntervalMs: 1 * SECOND,
  capacityMinGapMs: 100,
  // Heartbeats every second (task traffic counts too); two missed ones mean the link is gone:
  // solo within ~2.25 s of a cut, inside the 3 s target with room for a slow tick.
  livenessMs: 2 * SECOND,
  pingIntervalMs: 2 * SECOND,
  // Five agreeing samples, then one ping per link every 30 s: an idle LAN link's RTT does not
  // move, and pings every 2 s were half of an idle link's bytes (bench footprint).
  pingSettledIntervalMs: 30 * SECOND
}

export const PROFILES = {
  lan: LAN,
  // Many daemons on one host all connect from 127.0.0.1: the per-host rate limit must allow them.
  local: { ...LAN, limits: { ...LAN.limits, inboundConnectionThreshold: 100, maxIncomingPendingConnections: 50 } },
  sim: {
    ...LAN,
    limits: { ...LAN.limits, maxConnections: 64, inboundConnectionThreshold: 10_000, maxIncomingPendingConnections: 1_000 },
    // Re-dials checked every 2 s, not 500 ms: a thousand nodes' ticks add up.
    membership: { targetConnections: 8, maxKnownPeers: 200, tickMs: 2 * SECOND },
    // Hundreds of nodes share two cores: advertise less often (ads still go at once on a
    // significant load change), ping less often, and tolerate scheduling stalls.
    capacityIntervalMs: 5 * SECOND,
    // Small executors change state at nearly every task: at 100 ms, hundreds of busy nodes
    // sent ten ads a second each.
    capacityMinGapMs: 1 * SECOND,
    livenessMs: 12 * SECOND,
    pingIntervalMs: 30 * SECOND
  }
} satisfies Record<string, Profile>

export type ProfileName = keyof typeof PROFILES

export interface FederationNodeConfig {
  /** Where identity, peer store, journal, cache, reputation and the federation roster live. */
  store: FedStore
  /**
   * An open mesh: no federation, every peer that connects takes part (labs, tests). Default
   * false: the node is a member of the federation in its store, founding one of its own (with
   * itself the first admin) when the store has none.
   */
  open?: boolean
  /** Start in this federation instead of the store's (the harness gives its nodes one). */
  federation?: FederationSeed
  /** A human name shown to peers and in the CLI. Default: the peer id's last 8 characters. */
  name?: string
  /** Multiaddrs to listen on. Default `/ip4/127.0.0.1/tcp/0` (the daemon passes its own). */
  listen?: string[]
  /** Peers (multiaddrs with `/p2p/<id>`) to connect to at start. Default none: fedmesh ships no public bootstrap peers. */
  bootstrap?: string[]
  /** Discover peers on the LAN over mDNS. Default true. */
  mdns?: boolean
  /** Run the Kademlia DHT (server mode) to find peers beyond the LAN. Default true. */
  dht?: boolean
  /** `tcp` for real nodes, `memory` for many nodes in one process, or a transport factory (the harness's simulated network). Default `tcp`. */
  transport?: TransportChoice
  /** NAT traversal (TCP only): relays, WebRTC hole punching, AutoNAT, UPnP. Defaults: see NatOptions. */
  nat?: NatOptions
  /** Deployment profile. Default `lan`. */
  profile?: ProfileName
  /** Overrides of the profile's connection limits. */
  limits?: Partial<ConnectionLimits>
  /** Overrides of the profile's membership settings. */
  membership?: MembershipInit
  /** Overrides of the profile's mDNS settings. */
  mdnsOptions?: Partial<MdnsOptions>
  /** Task slots. Default: the number of cores. */
  concurrency?: number
  /** Tasks waiting at most before new ones are refused. Default concurrency × 32. */
  queueLimit?: number
  /** Share of this node's slots and queue places one remote submitter may hold, in (0, 1]. Default 0.75. */
  fairShare?: number
  /** This node's own submitted tasks that may wait for a free slot in the mesh; beyond, submissions are refused (HTTP 503). Default 10,000. */
  admissionQueueLimit?: number
  /**
   * Being a good citizen on the owner's machine (services/host): the policy (each field defaults
   * to DEFAULT_HOST_POLICY's), what a pause does to running peer tasks (default `finish`), and
   * whether the host's signals are read (default false: an embedding program, many nodes in one
   * process or several on one host would count each other as the owner; the daemon turns it on
   * outside the `local` profile, config `policy.hostSignals`). The owner's `pause` works either way.
   */
  host?: {
    policy?: Partial<HostPolicy>
    onPause?: OnPause
    signals?: boolean
    /** Sources and intervals of the host monitor (a fake power_supply dir in tests). */
    monitor?: HostServiceInit['monitor']
    /** Minutes since local midnight (quiet hours); default the process's time zone. */
    minuteOfDay?: (now: number) => number
  }
  /** Owner-configured command kinds (daemon config `tasks`). */
  commandKinds?: Record<string, CommandSpec>
  /**
   * Spot checks of deterministic kinds (spot-check.ts): `kinds` (besides the command kinds marked
   * `deterministic`) and the share of their remotely answered tasks run again elsewhere
   * (`fraction`, default 0.05).
   */
  spotCheck?: { fraction?: number, kinds?: string[] }
  /** Handlers registered in code (library API): bytes in; bytes (sent as they are) or any JSON value out. */
  handlers?: Record<string, BytesHandler>
  /** Largest task input and output, bytes. Default 1 MiB. */
  maxTaskBytes?: number
  /** Capacity advertisement interval override, ms: ads go at this fixed interval, idle or not (unless `capacityIdleIntervalMs` is given too). */
  capacityIntervalMs?: number
  /** Capacity advertisement interval while idle, ms. Default the profile's (1 s on `lan`: the 3 s solo target), or `capacityIntervalMs` when that is given. */
  capacityIdleIntervalMs?: number
  /** Cache L1 (memory) size, bytes. Default 32 MiB. */
  cacheL1Bytes?: number
  /** What one writer may keep in this node's cache. Default 10,000 entries, 16 MiB. */
  cacheQuota?: WriterQuota
  /** Largest cache value, bytes. Default 256 KiB. */
  maxCacheValueBytes?: number
  /** Anti-entropy settings (interval, sync on connect, a session hook for the harness). */
  cacheSync?: Pick<CacheSyncInit, 'intervalMs' | 'syncOnConnect' | 'sessionTimeoutMs' | 'maxSessions' | 'onSession'>
  /** Called for every cache entry applied (the harness measures convergence). */
  onCacheApplied?: (entry: StoredEntry, source: AppliedSource, replaced?: StoredEntry) => void
  /** Journal accepted tasks, and the runs this node started, in the store (the daemon does; simulations need not). Default true. */
  journal?: boolean
  /** Prometheus registry for libp2p's and fedmesh's metrics; none = no metrics. */
  metricsRegistry?: Registry
  /** The event bus to emit on (the daemon keeps one across node restarts). Default: a new one. */
  events?: NodeEvents
  /** Events a new bus remembers for late subscribers. Default 500. */
  recentEvents?: number
  /** Identity override (simulation); default: the store's persistent key. */
  privateKey?: PrivateKey
  /** Per-node logger (the harness gives each peer a prefix). */
  logger?: ComponentLogger
  clock?: Clock
  /**
   * A clock that never steps, for remembering peers' clock readings (core/mesh-time.ts).
   * Default: `clock` when one is given (virtual time never steps), else performance.now().
   */
  monotonic?: Clock
  /**
   * Decides whether a cache entry may be stored, on every path (local writes, gossip, sync,
   * fetch), after the signature and skew checks (services/cache/intake.ts). Default: all allowed.
   */
  cacheAuthorize?: CacheAuthorizer
  random?: () => number
}
