import { autoNATv2 } from '@libp2p/autonat-v2'
import { bootstrap } from '@libp2p/bootstrap'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { gossipsub } from '@libp2p/gossipsub'
import { identify, identifyPush } from '@libp2p/identify'
import { kadDHT } from '@libp2p/kad-dht'
import { mdns } from '@libp2p/mdns'
import { memory } from '@libp2p/memory'
import { ping } from '@libp2p/ping'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { tcp } from '@libp2p/tcp'
import { VERSION } from '../version.js'
import { keepHelpText } from './metrics-help.js'
import { leanNoise } from './lean-noise.js'
import { yamuxDeferredWindows } from './yamux-window.js'
import { CACHE_TOPIC } from './config.js'
import { FEDERATION_TOPIC } from '../services/federation/federation-service.js'
import { EVIDENCE_TOPIC } from '../services/evidence/topic.js'
import { dialOrder, hygienicPeerInfo } from '../services/nat/addresses.js'
import type { ConnectionLimits, MdnsOptions, NatOptions, TransportChoice } from './config.js'
import type { ComponentLogger, PrivateKey } from '@libp2p/interface'
import type { Libp2pOptions } from 'libp2p'
import type { Datastore } from 'interface-datastore'
import type { Registry } from 'prom-client'

/**
 * Score parameters of fedmesh's topics (the cache's and the federation roster's). Writes are sporadic, so mesh-delivery deficits must not
 * count against honest peers (their weights are 0); invalid messages cost a lot; first
 * deliveries earn a little.
 */
const TOPIC_SCORE = {
  topicWeight: 1,
  timeInMeshWeight: 0.01,
  timeInMeshQuantum: 1_000,
  timeInMeshCap: 100,
  firstMessageDeliveriesWeight: 0.5,
  firstMessageDeliveriesDecay: 0.9,
  firstMessageDeliveriesCap: 20,
  meshMessageDeliveriesWeight: 0,
  meshMessageDeliveriesDecay: 0.5,
  meshMessageDeliveriesCap: 1,
  meshMessageDeliveriesThreshold: 1,
  meshMessageDeliveriesWindow: 10,
  meshMessageDeliveriesActivation: 5_000,
  meshFailurePenaltyWeight: 0,
  meshFailurePenaltyDecay: 0.5,
  invalidMessageDeliveriesWeight: -10,
  invalidMessageDeliveriesDecay: 0.99
}

/** How often the event-loop lag metric samples, ms (prom-client's default is 10). */
const EVENT_LOOP_SAMPLE_MS = 1_000

function fastMessageId (msg: { from?: Uint8Array, seqno?: Uint8Array }): string {
  const from = msg.from == null ? '' : Buffer.from(msg.from.buffer, msg.from.byteOffset, msg.from.byteLength).toString('base64')
  const seqno = msg.seqno == null ? '' : Buffer.from(msg.seqno.buffer, msg.seqno.byteOffset, msg.seqno.byteLength).toString('base64')
  return `${from}/${seqno}`
}

export interface NatModules {
  webRTC?: typeof import('@libp2p/webrtc').webRTC
  uPnPNAT?: typeof import('@libp2p/upnp-nat').uPnPNAT
}

/** Load the NAT packages this node will use (TCP nodes with `webrtc` or `upnp` on). */
export async function loadNatModules (nat: Required<NatOptions>, tcp: boolean): Promise<NatModules> {
  if (!tcp) return {}
  return {
    webRTC: nat.webrtc ? (await import('@libp2p/webrtc')).webRTC : undefined,
    uPnPNAT: nat.upnp ? (await import('@libp2p/upnp-nat')).uPnPNAT : undefined
  }
}

export interface Libp2pOptionsInput {
  privateKey: PrivateKey
  datastore: Datastore
  listen: string[]
  bootstrap: string[]
  mdns: MdnsOptions | false
  dht: boolean
  /** The DHT's protocol id (federation-scoped in a private federation). */
  kadProtocol: string
  transport: TransportChoice
  /** NAT traversal (TCP nodes only): relays, hole punching, AutoNAT, UPnP. */
  nat: Required<NatOptions>
  /** The WebRTC and UPnP packages, loaded only when used (`loadNatModules`): they cost ~0.5 s and ~20 MB at start. */
  natModules: NatModules
  limits: ConnectionLimits
  metricsRegistry?: Registry
  logger?: ComponentLogger
  /** Peers never to connect to (banned by reputation). */
  isDenied: (peerId: string) => boolean
  /** Gossipsub's application-specific score of a peer (reputation). */
  appScore: (peerId: string) => number
  /** fedmesh's own services, added to libp2p's. */
  services: Record<string, (components: any) => unknown>
}

/**
 * The libp2p half of a federation node: transports, security, muxing, discovery and gossip,
 * every remotely-sizable resource capped (DESIGN.md "Security and safety").
 */
export function libp2pOptions (input: Libp2pOptionsInput): Libp2pOptions<Record<string, unknown>> {
  const { limits } = input
  const services: Record<string, (components: any) => unknown> = {
    // Identify starts with the connection; in a private federation its stream waits at the
    // membership gate (both ends) until the HELLO settles, so it overlaps the handshake and an
    // outsider gets nothing. Its timeout outlasts the handshake's (10 s).
    identify: identify({ timeout: 15_000 }),
    // Tells connected peers when this node's addresses change (libp2p 3 ships it as its own
    // service). Without it a peer knew only the addresses of the moment identify ran: a member
    // behind NAT that got its relay reservation a moment after identifying with the relay stayed
    // known there by its private addresses only, and the relay's DHT answers handed those out —
    // in about half the NAT test runs one home never learned the other's relayed address.
    identifyPush: identifyPush({ timeout: 15_000 }),
    // The latency service's background pings and `fedmesh ping` may overlap on one connection
    // (a ping stream lingers until both ends close it; on a loaded machine a peer that answers
    // seconds late holds each one that long: with room for 4, CI saw `fedmesh ping` refused
    // locally while background pings were still closing). A stream costs a few hundred bytes.
    ping: ping({ maxOutboundStreams: 16, maxInboundStreams: 16 }),
    pubsub: gossipsub({
      globalSignaturePolicy: 'StrictSign',
      fallbackToFloodsub: false,
      allowedTopics: [CACHE_TOPIC, FEDERATION_TOPIC, EVIDENCE_TOPIC],
      // A node alone (solo mode) must still be able to publish; gossip catches up on heal.
      allowPublishToZeroTopicPeers: true,
      ignoreDuplicatePublishError: true,
      emitSelf: false,
      maxInboundDataLength: limits.maxGossipDataBytes,
      // Without a fast id, gossipsub verifies a message's signature before it sees it is a
      // duplicate: every copy from every mesh peer (D ≈ 6) costs an Ed25519 verify. This id is
      // the default message id (publisher + seqno); only validated messages enter its cache.
      fastMsgIdFn: fastMessageId,
      maxInboundStreams: 4,
      maxOutboundStreams: 4,
      // Reputation feeds gossipsub's score: bad peers drop out of meshes and get graylisted.
      // Without topic parameters a Reject costs the sender nothing; with these, each invalid
      // message costs (count² × 10) until it decays, so three forgeries graylist a peer.
      scoreParams: {
        appSpecificScore: input.appScore,
        appSpecificWeight: 1,
        topics: {
          [CACHE_TOPIC]: TOPIC_SCORE,
          [FEDERATION_TOPIC]: TOPIC_SCORE,
          [EVIDENCE_TOPIC]: TOPIC_SCORE
        }
      }
    }),
    ...input.services
  }
  if (input.dht) {
    services.dht = kadDHT({
      protocol: input.kadProtocol,
      // Server mode until the NAT service finds the node private (then client: peers could not
      // dial it back to ask).
      clientMode: false,
      // The default mapper drops private and loopback addresses, which makes a LAN federation
      // (or several daemons on one host) invisible to each other; passing everything would send
      // peers elsewhere dialling into their own LANs. A peer with a public or relayed address is
      // handed out with those only, a LAN-only peer with all of its own. Discovery results are
      // hints: membership caps them and the connection gater filters them.
      peerInfoMapper: hygienicPeerInfo
    })
  }
  const nat = input.transport === 'tcp' ? input.nat : undefined
  if (nat != null) {
    // Asks members to dial this node's public addresses back (confirming them) and answers theirs.
    if (nat.autonat) services.autonat = autoNATv2()
    // No DCUtR: its TCP hole punch cannot work from Node.js, and its unilateral upgrade closed a
    // working relayed connection as soon as a WebRTC dial "succeeded" (the listener's side opens
    // before ICE connects): behind symmetric NATs the homes lost each other every few seconds.
    // The NAT service makes both kinds of direct dial and keeps the relayed one until a ping
    // crossed the new path (protocols/nat.md).
    if (nat.relay !== false) {
      // The hop protocol is gated like every other: only members get reservations and circuits.
      services.relay = circuitRelayServer({
        reservations: {
          maxReservations: nat.relay.maxReservations,
          defaultDurationLimit: nat.relay.durationLimitMs,
          defaultDataLimit: BigInt(nat.relay.dataLimitBytes)
        }
      })
    }
    if (nat.upnp && input.natModules.uPnPNAT != null) services.upnp = input.natModules.uPnPNAT({ autoConfirmAddress: false })
  }
  if (input.mdns !== false) {
    services.mdns = mdns({ interval: input.mdns.intervalMs, serviceTag: input.mdns.serviceTag })
  }
  if (input.bootstrap.length > 0) {
    services.bootstrap = bootstrap({ list: input.bootstrap, timeout: 0 })
  }

  return {
    // FederationNode.start() wires discovery listeners first, then starts libp2p.
    start: false,
    privateKey: input.privateKey,
    nodeInfo: { name: 'fedmesh', version: VERSION, userAgent: `fedmesh/${VERSION}` },
    datastore: input.datastore,
    addresses: { listen: input.listen, appendAnnounce: nat?.announce ?? [] },
    transports: nat == null
      ? [typeof input.transport === 'function' ? input.transport : input.transport === 'memory' ? memory() : tcp()]
      : [
          tcp(),
          // Dial and listen through relays; listening starts once the NAT service finds the node private.
          circuitRelayTransport(),
          // The hole-punched path: WebRTC data channels, signalled over the relayed connection.
          // ICE servers are only ever the configured ones (the package's default is public STUN
          // servers on the internet).
          ...(nat.webrtc && input.natModules.webRTC != null ? [input.natModules.webRTC({ rtcConfiguration: () => ({ iceServers: nat.stun.map(urls => ({ urls })) }) })] : [])
        ],
    // Noise without two per-message costs: a second write, an exception per read (lean-noise.ts).
    connectionEncrypters: [leanNoise()],
    // Window updates at half a window, not after every data frame (yamux-window.ts).
    streamMuxers: [yamuxDeferredWindows({
      maxInboundStreams: limits.maxInboundStreams,
      streamOptions: {
        maxWriteBufferLength: limits.maxStreamWriteBufferBytes,
        maxReadBufferLength: limits.maxStreamReadBufferBytes
      }
    })],
    // libp2p's monitor pings every connection every 10 s on a stream of its own and aborts the
    // connection when a ping times out, which happens to healthy links on a saturated machine.
    // fedmesh's latency service already pings each peer (RTT, Vivaldi) and its connectivity
    // service detects dead links faster (missed heartbeats, then a ping): the monitor is off.
    connectionMonitor: { enabled: false },
    connectionGater: {
      denyDialPeer: (peer) => input.isDenied(peer.toString()),
      denyInboundEncryptedConnection: (peer) => input.isDenied(peer.toString()),
      denyOutboundEncryptedConnection: (peer) => input.isDenied(peer.toString())
    },
    connectionManager: {
      maxConnections: limits.maxConnections,
      maxIncomingPendingConnections: limits.maxIncomingPendingConnections,
      inboundConnectionThreshold: limits.inboundConnectionThreshold,
      // A dial by peer id takes the plain relayed path before a WebRTC one (see dialOrder).
      addressSorter: dialOrder
    },
    // The event-loop lag histogram samples once a second, not prom-client's default every 10 ms:
    // a hundred wake-ups a second were a visible share of an idle daemon's CPU, and lag that
    // matters (a stall) still shows in a 1 s sample.
    metrics: input.metricsRegistry != null
      ? keepHelpText(prometheusMetrics({ registry: input.metricsRegistry, collectDefaultMetrics: true, defaultMetrics: { eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS } }), input.metricsRegistry)
      : undefined,
    logger: input.logger,
    services
  }
}
