import { randomUUID } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { createLibp2p } from 'libp2p'
import { MeshTime } from '../core/mesh-time.js'
import { toGossipsubAppScore, ReputationAction } from '../core/reputation/index.js'
import { cache } from '../services/cache/cache-service.js'
import { CacheStore } from '../services/cache/cache-store.js'
import { cacheSync } from '../services/cache-sync/index.js'
import { capacity } from '../services/capacity/capacity-service.js'
import { host } from '../services/host/host-service.js'
import type { PauseStore } from '../services/host/host-service.js'
import { connectivity } from '../services/connectivity/connectivity-service.js'
import { latency } from '../services/latency/latency-service.js'
import { loadLedger, reputation } from '../services/reputation/reputation-service.js'
import { membership } from '../services/membership/index.js'
import { ATTEMPT_ACTIONS } from '../services/tasks/attempt-reports.js'
import { commandHandler } from '../services/tasks/command-handler.js'
import { Executor } from '../services/tasks/executor.js'
import { builtinHandlers } from '../services/tasks/handlers.js'
import { tasks } from '../services/tasks/task-service.js'
import { ErrorCode } from '../wire/task.js'
import { evidence } from '../services/evidence/evidence-service.js'
import { loadOrCreateIdentity } from '../store/identity.js'
import { FederationStore } from '../store/federation-store.js'
import { Federation } from '../services/federation/federation.js'
import { federationService } from '../services/federation/federation-service.js'
import { Role } from '../core/federation/roles.js'
import { DEFAULT_ALLOW, isSelfOnly } from '../services/tasks/allow-list.js'
import { authorizeTask } from './authorize-task.js'
import { cachePolicy } from './cache-policy.js'
import { DEFAULT_WRITER_QUOTA, WriterUsage } from '../services/cache/writer-usage.js'
import { CACHE_SYNC_PROTOCOL } from '../services/cache-sync/cache-sync-service.js'
import { CAPACITY_PROTOCOL } from '../services/capacity/ad-links.js'
import { TASK_PROTOCOL } from '../services/tasks/task-service.js'
import { ExecutionLog } from '../store/execution-log.js'
import { GroupCommit } from '../store/group-commit.js'
import { TaskJournal } from '../store/task-journal.js'
import { KAD_PROTOCOL, PROFILES, federationKadProtocol, resolveNat } from './config.js'
import { nat } from '../services/nat/nat-service.js'
import { FederationNode } from './federation-node.js'
import { EventWiring } from './event-wiring.js'
import { NodeEvents } from './events.js'
import { libp2pOptions, loadNatModules } from './libp2p-options.js'
import { addConnectedDhtPeers, findPeerAddresses } from './dht-lookup.js'
import type { DhtLookupNode } from './dht-lookup.js'
import type { FedServices } from './federation-node.js'
import type { FederationNodeConfig } from './config.js'
import type { FederationInit, JoinAnswer } from '../services/federation/federation.js'
import type { FedStore } from '../store/store.js'
import type { Clock } from '../util/time.js'
import { fromBytesHandler } from './task-payload.js'
import type { Libp2p } from '@libp2p/interface'
import type { SingleKadDHT } from '@libp2p/kad-dht'

const DEFAULT_LISTEN = ['/ip4/127.0.0.1/tcp/0']

/** Roster members looked up by id per DHT walk (the walk runs while the node is short of connections). */
const ROSTER_LOOKUPS_PER_WALK = 8

/** libp2p's protocols a private federation gates from the start (the rest once registered). */
const LIBP2P_PROTOCOLS = ['/ipfs/id/1.0.0', '/ipfs/id/push/1.0.0', '/ipfs/ping/1.0.0', '/meshsub/1.2.0', '/meshsub/1.1.0', '/meshsub/1.0.0']

/**
 * How each task attempt outcome moves the peer's reputation. A refusal (BUSY, QUEUE_FULL, a
 * refused reservation) is a truthful answer and costs nothing; the task service reports
 * 'broken-promise' only for a peer that repeatedly contradicts its own fresh advert.
 */
/**
 * Compose a federation node: libp2p with fedmesh's services over one store. The node is created
 * stopped; `start()` it. The daemon, the tests and the simulation harness all build nodes here,
 * so what they exercise is the same code.
 */
export async function createFederationNode (config: FederationNodeConfig): Promise<FederationNode> {
  const profile = PROFILES[config.profile ?? 'lan']
  const limits = { ...profile.limits, ...config.limits }
  const privateKey = config.privateKey ?? await loadOrCreateIdentity(config.store.sublevel('identity'))
  const clock = config.clock ?? { now: () => Date.now() }
  const random = config.random ?? Math.random
  const adIntervalMs = config.capacityIntervalMs ?? profile.capacityIntervalMs
  // Ads are the heartbeat: an interval slower than the profile's must not make live peers look silent.
  const livenessMs = config.capacityIntervalMs == null ? profile.livenessMs : Math.max(profile.livenessMs, 2.5 * config.capacityIntervalMs)
  /** A peer advertising less often than this node (idle, core/ad-pace.ts) gets a liveness window scaled by its gap. */
  const livenessWindowMs = (peerIntervalMs: number): number => livenessMs * Math.max(1, peerIntervalMs / adIntervalMs)
  // Virtual time never steps, so it is its own monotonic clock.
  const monotonic = config.monotonic ?? (config.clock ?? { now: () => performance.now() })
  // What the node measures of its peers' clocks (capacity ads carry them): the cache runs on it.
  const meshTime = new MeshTime({ wall: clock, monotonic })

  /** A command kind's allow list (only the owner by default); undefined for other kinds. */
  const allowListOf = (kind: string): readonly string[] | undefined => {
    const spec = config.commandKinds?.[kind]
    return spec == null ? undefined : spec.allow ?? DEFAULT_ALLOW
  }
  const handlers = builtinHandlers()
  for (const [kind, spec] of Object.entries(config.commandKinds ?? {})) handlers.set(kind, commandHandler(spec))
  for (const [kind, handler] of Object.entries(config.handlers ?? {})) handlers.set(kind, fromBytesHandler(handler))
  // The journal and the execution log share one group commit: a task accepted and started in the
  // same tick costs one fsync.
  const commit = new GroupCommit(config.store.db)
  const persist = config.journal !== false
  const executor = new Executor({
    concurrency: config.concurrency ?? availableParallelism(),
    executions: persist ? await ExecutionLog.open(config.store.sublevel('executions'), { commit }) : undefined,
    queueLimit: config.queueLimit,
    handlers,
    maxInputBytes: config.maxTaskBytes,
    maxOutputBytes: config.maxTaskBytes,
    fairShare: config.fairShare,
    // Called only once the node runs (tasks arrive after start).
    authorize: (origin, kind) => authorizeTask(node?.libp2p.services.federation, allowListOf(kind), origin, kind),
    clock,
    onRun: (run) => { wiring.served(run) }
  })
  const journal = persist
    ? new TaskJournal(config.store.sublevel('journal'), config.store.sublevel('results'), commit)
    : undefined

  // Bans must hold from the first connection on: the ledger is loaded before libp2p exists.
  const ledger = await loadLedger(config.store.sublevel('reputation'), { clock })

  // Services reach each other through this late-bound handle: libp2p builds them in order.
  let node: FederationNode | undefined
  const peers = (): FederationNode => node as FederationNode
  const services = (): FedServices => peers().libp2p.services
  const report = (peer: string, action: ReputationAction): void => { services().reputation.report(peer, action) }
  const selfId = peerIdFromPrivateKey(privateKey).toString()
  const name = config.name ?? selfId.slice(-8)
  // What happens, as events: services report through callbacks, the wiring turns them into events.
  const events = config.events ?? new NodeEvents({ clock, recentLimit: config.recentEvents })
  const nameOf = (peer: string): string | undefined => node?.libp2p.services.capacity.table.last(peer)?.ad.name
  events.self = selfId
  events.nameOf = nameOf
  const wiring = new EventWiring(events, {
    name: nameOf,
    ban: (peer) => ({ score: ledger.score(peer), until: ledger.bannedUntil(peer) }),
    isDirect: (conn) => services().nat.isDirect(conn)
  })

  // Membership first: nothing but the membership handshake reaches a peer before it proves it.
  const fedInit: FederationInit = {
    store: new FederationStore(config.store.sublevel('federation')),
    self: { peerId: selfId, privateKey, name },
    clock,
    // Before libp2p exists (the store loading) there are no connections to cut.
    onRevoked: (subject) => {
      node?.libp2p.services.federation.revoked(subject)
      wiring.revoked(subject)
    }
  }
  const federation = config.open === true
    ? undefined
    : config.federation != null ? await Federation.seeded(fedInit, config.federation) : await Federation.open(fedInit)
  const kadProtocol = federation == null ? KAD_PROTOCOL : federationKadProtocol(federation.identity.id)

  // Each writer's share of this node's cache, counted from what is stored and kept exact.
  const writerUsage = new WriterUsage(config.cacheQuota ?? DEFAULT_WRITER_QUOTA)
  // TTLs, the tombstone horizon and collection run on the mesh's time too.
  const cacheStore = new CacheStore({
    db: config.store.sublevel('cache'),
    meta: config.store.sublevel('meta'),
    clock: { now: () => meshTime.view().referenceMs },
    l1Bytes: config.cacheL1Bytes,
    onRemoved: (entry) => { writerUsage.removed(entry.key) }
  })
  await writerUsage.load(cacheStore.entries())
  const policy = cachePolicy(() => node?.libp2p.services.federation, writerUsage)

  /** The DHT and what its lookups need (only called while the node runs with a DHT). */
  const dhtNode = (): DhtLookupNode => ({ dht: services().dht as SingleKadDHT, protocol: kadProtocol, getConnections: () => libp2p.getConnections(), peerStore: libp2p.peerStore })

  /** Up to a few roster members with no connection, looked up by id in parallel. */
  const findRosterMembers = async (signal: AbortSignal): Promise<void> => {
    const { federation, membership } = services()
    const missing = federation.rosterMembers().map(id => peerIdFromString(id)).filter(id => libp2p.getConnections(id).length === 0)
    await Promise.all(missing.slice(0, ROSTER_LOOKUPS_PER_WALK).map(async id => {
      const multiaddrs = await findPeerAddresses(dhtNode(), id, signal)
      await membership.found({ id, multiaddrs })
    }))
  }

  const natOptions = resolveNat(config.nat)
  const tcpTransport = (config.transport ?? 'tcp') === 'tcp'

  const libp2p = await createLibp2p(libp2pOptions({
    privateKey,
    datastore: config.store.datastore,
    listen: config.listen ?? DEFAULT_LISTEN,
    bootstrap: config.bootstrap ?? [],
    mdns: config.mdns === false ? false : { ...profile.mdns, ...config.mdnsOptions },
    dht: config.dht ?? true,
    kadProtocol,
    transport: config.transport ?? 'tcp',
    nat: natOptions,
    natModules: await loadNatModules(natOptions, tcpTransport),
    limits,
    metricsRegistry: config.metricsRegistry,
    logger: config.logger,
    // A revoked peer is not denied here: its handshake is refused with the revocation, so it
    // learns why (membership does not dial it again).
    isDenied: (peer) => ledger.isBanned(peer),
    appScore: (peer) => toGossipsubAppScore(ledger.score(peer)),
    services: {
      federation: federationService({
        federation,
        federationInit: fedInit,
        clock,
        gatedProtocols: [...LIBP2P_PROTOCOLS, kadProtocol, CAPACITY_PROTOCOL, TASK_PROTOCOL, CACHE_SYNC_PROTOCOL],
        onMemberConnect: (conn) => {
          services().membership.memberConnected(conn)
          wiring.memberConnected(conn)
        },
        onRefused: (peer, reason) => {
          // A roster member whose HELLO failed (a connection lost mid-way) stays known: re-dialled.
          if (services().federation.shouldNotDial(peer)) services().membership.refused(peer)
          wiring.refused(peer, reason)
        }
      }),
      membership: membership({
        ...profile.membership,
        ...config.membership,
        clock,
        random,
        isDenied: (p) => ledger.isBanned(p.toString()) || services().federation.shouldNotDial(p),
        // Peers found by the walk reach membership as DHT discoveries. Members behind NATs run
        // the DHT as clients and sit in nobody's routing table: roster members not connected are
        // looked up by id (a DHT server answers with what its peer store knows of them).
        walk: config.dht === false ? undefined : async (signal) => {
          await addConnectedDhtPeers(dhtNode())
          // The walk itself is the point (it discovers peers); the closest peers it ends with say the DHT answered.
          let answered = 0
          for await (const event of dhtNode().dht.getClosestPeers(peerIdFromPrivateKey(privateKey).toMultihash().bytes, { signal })) {
            if (event.name === 'FINAL_PEER') answered++
          }
          await findRosterMembers(signal)
          return answered
        },
        lookup: config.dht === false ? undefined : async (peer, signal) => findPeerAddresses(dhtNode(), peer, signal)
      }),
      nat: nat({
        clock,
        random,
        relayClient: tcpTransport && natOptions.relayClient,
        webrtc: tcpTransport && natOptions.webrtc,
        isMember: (peer) => services().federation.isMember(peer),
        // The other members behind NATs can be found from now on (and they us): look now, not at the next walk.
        onReachableThroughRelay: () => {
          if (config.dht !== false) findRosterMembers(AbortSignal.timeout(5_000)).catch(() => {})
        },
        setDhtMode: async (mode) => {
          const dht = services().dht
          if (dht != null && dht.getMode() !== mode) await dht.setMode(mode)
        },
        relayServing: () => {
          const relay = services().relay
          return relay == null ? undefined : { reservations: relay.reservations.size }
        }
      }),
      reputation: reputation({
        ledger,
        store: config.store.sublevel('reputation'),
        onBan: (peer) => {
          peers().forget(peer)
          wiring.banned(peer)
        }
      }),
      connectivity: connectivity({
        clock,
        livenessMs,
        // A silently dead link: move its tasks now rather than at their timeout.
        onPeerSilent: (peer) => { peers().lost(peer) },
        onTransition: (t) => { wiring.modeChanged(t) }
      }),
      // Before capacity: a pause kept across a restart holds from the first ad on.
      host: host({
        executor,
        store: config.store.sublevel('meta') as unknown as PauseStore,
        clock,
        policy: config.host?.policy,
        onPause: config.host?.onPause,
        watch: config.host?.signals ?? false,
        monitor: config.host?.monitor,
        minuteOfDay: config.host?.minuteOfDay,
        onChange: (next, previous) => {
          // Routers elsewhere must know at once (a paused peer gets no task within one interval).
          node?.libp2p.services.capacity.publish()
          wiring.serving(next, previous, executor.concurrency)
        }
      }),
      capacity: capacity({
        executor,
        serving: () => services().host.serving(),
        name,
        intervalMs: adIntervalMs,
        idleIntervalMs: config.capacityIdleIntervalMs ?? config.capacityIntervalMs ?? profile.capacityIdleIntervalMs,
        minGapMs: profile.capacityMinGapMs,
        clock,
        coordinate: () => services().latency.coordinate(),
        onAdvertisement: (peer, ad) => {
          peers().heard(peer, livenessWindowMs(ad.intervalMs))
          if (ad.wallMs == null) return
          meshTime.record(peer.toString(), ad.wallMs, (services().latency.rttTo(peer.toString())?.rttMs ?? 0) / 2)
          void services().cache.clockChanged()
        },
        onInvalid: (peer) => { report(peer.toString(), ReputationAction.InvalidMessage) },
        mayServe: (peer) => services().federation.allows(peer, Role.serve),
        isDirect: (conn) => services().nat.isDirect(conn),
        // Kinds only the owner may run are not advertised: no router elsewhere should try them.
        advertises: (kind) => !isSelfOnly(allowListOf(kind) ?? ['members'])
      }),
      latency: latency({
        random,
        intervalMs: profile.pingIntervalMs,
        settledIntervalMs: profile.pingSettledIntervalMs,
        coordinateOf: (peerId) => services().capacity.table.last(peerId)?.ad.coordinate
      }),
      cache: cache({
        store: cacheStore,
        meta: config.store.sublevel('meta'),
        clock,
        meshTime,
        // Roles, owned keys and writers' quotas first, then the embedder's own rule if any.
        authorize: (entry, ctx) => {
          const refusal = policy(entry, ctx) ?? config.cacheAuthorize?.(entry, ctx)
          if (refusal != null) wiring.cacheRefused(entry, ctx, refusal)
          return refusal
        },
        registry: config.metricsRegistry,
        maxValueBytes: config.maxCacheValueBytes,
        onForged: (peer) => { report(peer.toString(), ReputationAction.ForgedEntry) },
        onInvalid: (peer) => { report(peer.toString(), ReputationAction.InvalidMessage) },
        onApplied: (entry, source, replaced) => {
          writerUsage.applied(entry)
          wiring.cacheApplied(entry, source, replaced)
          config.onCacheApplied?.(entry, source, replaced)
        },
        fetchRemote: async (key, accept, signal) => services().cacheSync.fetch(key, accept, signal)
      }),
      evidence: evidence({
        clock,
        // Only the owner's command kinds marked deterministic are re-run for others' evidence.
        canRun: (kind) => config.commandKinds?.[kind]?.deterministic === true,
        selfId,
        // As a task from the sender: the kind's allow list, pauses and fair shares apply.
        runHere: async (kind, input, from) => {
          const spec = config.commandKinds?.[kind]
          if (spec == null) return undefined
          const o = await executor.submit({ taskId: randomUUID(), kind, input, deadlineMs: spec.timeoutMs, origin: from, priority: 'batch' })
          return o.error === ErrorCode.NONE ? o.output : undefined
        },
        charge: (peer, why) => { report(peer, why === 'wrong-result' ? ReputationAction.WrongResult : ReputationAction.InvalidMessage) },
        stateOf: (peer) => ledger.state(peer),
        onReport: (r) => { wiring.evidenceExamined(r) }
      }),
      cacheSync: cacheSync({
        cache: () => services().cache,
        meta: config.store.sublevel('meta'),
        clock,
        random,
        maxValueBytes: config.maxCacheValueBytes,
        ...config.cacheSync,
        onInvalid: (peer) => { report(peer.toString(), ReputationAction.InvalidMessage) }
      }),
      tasks: tasks({
        executor,
        table: () => services().capacity.table,
        view: {
          rtt: (peerId) => services().latency.rttTo(peerId),
          reputation: (peerId) => ledger.standing(peerId)
        },
        journal,
        storageRecovered: (listener) => config.store.health.onChange(e => { if (e.type === 'recovered') listener() }),
        clock,
        random,
        admissionQueueLimit: config.admissionQueueLimit,
        // An advert binds its sender for one advert interval (then it is stale, and so is a promise).
        promiseParams: { freshMs: adIntervalMs },
        onAttempt: (peer, event) => {
          const action = ATTEMPT_ACTIONS[event]
          if (action != null) report(peer, action)
        },
        onMalformed: (peer) => { report(peer, ReputationAction.InvalidMessage) },
        onActivity: (peer) => { services().connectivity.heartbeat(peer) },
        maySubmit: () => services().federation.selfAllows(Role.submit),
        onTask: (e) => { wiring.task(e) },
        spotCheck: { fraction: config.spotCheck?.fraction, kinds: spotCheckedKinds(config) },
        onSpotCheck: (r) => { wiring.spotChecked(r) },
        onEvidence: (e) => { services().evidence.publish(e) },
        signsReceipts: (kind) => config.commandKinds?.[kind]?.deterministic === true,
        directConnection: async (peer, options) => services().nat.directConnection(peer, options)
      })
    }
  }) as any) as unknown as Libp2p<FedServices>

  node = new FederationNode({
    libp2p,
    store: config.store,
    name,
    executor,
    clock,
    events: wiring,
    cacheSize: () => writerUsage.total()
  })
  return node
}

/**
 * Make a stopped node's store a member of the federation a verified join answer names
 * (`node.federation.join(token)` gives it): the next node created on the store starts in it.
 */
export async function adoptFederation (store: FedStore, answer: JoinAnswer, clock: Clock = { now: () => Date.now() }): Promise<void> {
  const privateKey = await loadOrCreateIdentity(store.sublevel('identity'))
  await Federation.adopt({ store: new FederationStore(store.sublevel('federation')), self: { peerId: peerIdFromPrivateKey(privateKey).toString(), privateKey, name: '' }, clock }, answer)
}

/** Kinds whose runs must agree: those named in `spotCheck.kinds` and the command kinds marked deterministic. */
function spotCheckedKinds (config: FederationNodeConfig): string[] {
  const marked = Object.entries(config.commandKinds ?? {}).filter(([, spec]) => spec.deterministic === true).map(([kind]) => kind)
  return [...new Set([...(config.spotCheck?.kinds ?? []), ...marked])]
}
