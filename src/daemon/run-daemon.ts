import { Registry } from 'prom-client'
import { adoptFederation, createFederationNode } from '../node/create-node.js'
import { FedStore } from '../store/store.js'
import { readPower } from '../services/host/power.js'
import { serveBenchEcho } from '../services/bench-echo.js'
import { SECOND } from '../util/time.js'
import { removeApiFiles, newToken, writeApiFiles } from './api-files.js'
import { controlRoutes } from './api/routes.js'
import { eventStreamRoute } from './api/event-stream.js'
import { uiRoutes } from './api/ui-routes.js'
import { NodeEvents } from '../node/events.js'
import { registerNodeMetrics } from '../node/node-metrics.js'
import { ControlApi } from './api/server.js'
import { parseHostPort } from './config.js'
import { registerDaemonMetrics } from './daemon-metrics.js'
import { createDaemonLog } from './log.js'
import { DEFAULT_RELAY_LIMITS } from '../node/config.js'
import type { NatOptions } from '../node/config.js'
import type { DaemonConfig } from './config.js'
import type { DaemonLog } from './log.js'
import type { ProcessGuards } from './process-guards.js'
import type { FederationNode } from '../node/federation-node.js'
import type { FederationNodeConfig } from '../node/config.js'
import type { JoinDoc } from '../node/federation-api.js'

/** The daemon's NAT settings; UPnP and WebRTC only when some listen address is not loopback (nothing to map or punch otherwise). */
export function natOptionsOf (config: DaemonConfig): NatOptions {
  const loopbackOnly = config.listen.every(a => /^\/(ip4\/127\.|ip6\/::1\/|dns4?\/localhost\/)/.test(a))
  return {
    relay: config.relay === false ? false : config.relay === true ? DEFAULT_RELAY_LIMITS : config.relay,
    // Nobody behind a NAT listens on loopback only (daemons in tests): no WebRTC to load.
    webrtc: config.webrtc && !loopbackOnly,
    stun: config.stun,
    upnp: config.upnp && !loopbackOnly,
    announce: config.announce
  }
}

/** SIGINT/SIGTERM must end the process within this (CONTRACT.md: 10 s). */
export const SHUTDOWN_BUDGET_MS = 9 * SECOND

/** Daemon settings that are no config key (not for users). */
export interface RunDaemonOptions {
  /** Serve the bench echo protocol (bench-echo.ts; `FEDMESH_BENCH_ECHO=1`, for `bench rpc`). Default false. */
  benchEcho?: boolean
}

export interface RunningDaemon {
  /** The node now: joining a federation restarts it in the new one. */
  readonly node: FederationNode
  apiUrl: string
  /** Redeem an invite and restart the node in that federation (`force`: even as a founder with members). */
  join(token: string, force?: boolean): Promise<JoinDoc>
  shutdown(reason: string): Promise<void>
}

/**
 * Start a daemon from a validated config: open the store (refusing a data dir another daemon
 * holds), start the node, serve the control API, then announce readiness by writing `api`.
 */
export async function runDaemon (config: DaemonConfig, log: DaemonLog = createDaemonLog(), guards?: ProcessGuards, options: RunDaemonOptions = {}): Promise<RunningDaemon> {
  // The store's condition reaches the log as the node's storage:failed / storage:recovered events.
  const store = await FedStore.open(config.dataDir)
  // We hold the lock now: files left by a daemon that was killed are stale.
  await removeApiFiles(config.dataDir)

  // One event stream for the daemon's life: a node restarted by a join emits on it too, so log,
  // metrics and open event streams carry on.
  const events = new NodeEvents()
  events.subscribe(e => { log.event(e) })
  const registry = new Registry()
  /** The daemon's own metrics; everything else in the registry is the node's. */
  const daemonMetrics = new Set<string>()
  const startNode = async (): Promise<FederationNode> => {
    // A restarted node (after a join) registers its metrics again.
    for (const m of registry.getMetricsAsArray()) if (!daemonMetrics.has(m.name)) registry.removeSingleMetric(m.name)
    const n = await createFederationNode({
      store,
      name: config.name,
      open: config.open,
      listen: config.listen,
      bootstrap: config.bootstrap,
      mdns: config.mdns,
      dht: config.dht,
      profile: config.profile,
      limits: { maxConnections: config.maxConnections },
      concurrency: config.concurrency,
      fairShare: config.fairShare,
      cacheQuota: config.cacheQuota,
      admissionQueueLimit: config.admissionQueueLimit,
      host: hostOptions(config.policy, config.profile),
      commandKinds: config.tasks,
      spotCheck: config.spotCheck,
      nat: natOptionsOf(config),
      metricsRegistry: registry,
      events
    })
    await n.start()
    if (options.benchEcho === true) await serveBenchEcho(n.libp2p)
    return n
  }
  let node: FederationNode
  try {
    node = await startNode()
  } catch (err) {
    await store.close()
    throw err
  }

  // One join at a time; the node is stopped before the store changes federation.
  let joining: Promise<unknown> = Promise.resolve()
  const join = async (token: string, force = false): Promise<JoinDoc> => {
    const run = joining.then(async () => {
      const { doc, answer } = await node.federation.join(token, { force })
      log.info('joined a federation, restarting the node in it', { federationId: doc.federationId, roles: doc.roles.join(',') })
      await node.stop(SHUTDOWN_BUDGET_MS / 2)
      try {
        await adoptFederation(store, answer)
        node = await startNode()
      } catch (err) {
        // No node runs now: a supervisor's restart starts cleanly from the store.
        log.error('restarting the node after a join failed; the daemon exits', { error: String(err) })
        void shutdown('restart after join failed').finally(() => process.exit(1))
        throw err
      }
      return doc
    })
    joining = run.catch(() => {})
    return await run
  }

  const { host, port } = parseHostPort(config.api) as { host: string, port: number }
  const token = newToken()
  const api = new ControlApi({
    host,
    port,
    token,
    routes: [...controlRoutes({ node: () => node, join }, registry), eventStreamRoute(events), ...uiRoutes()],
    ...config.apiLimits,
    onError: (err, req) => { log.error('api request failed', { method: req.method, url: req.url, error: String(err) }) }
  })
  const nodeMetrics = new Set(registry.getMetricsAsArray().map(m => m.name))
  registerDaemonMetrics(registry, { log, storage: store.health, api, guards })
  registerNodeMetrics(registry, { events, node: () => node })
  for (const m of registry.getMetricsAsArray()) if (!nodeMetrics.has(m.name)) daemonMetrics.add(m.name)
  let apiUrl: string
  try {
    apiUrl = await api.listen()
    await writeApiFiles(config.dataDir, apiUrl, token)
  } catch (err) {
    await node.stop()
    await store.close()
    throw err
  }

  let stopping: Promise<void> | undefined
  const shutdown = async (reason: string): Promise<void> => {
    stopping ??= (async () => {
      log.info('daemon stopping', { reason })
      await removeApiFiles(config.dataDir)
      // The API keeps answering while the node drains: tasks finishing now reach their callers
      // (new ones get 503).
      // Each step runs even if one before failed (a full disk can fail the last journal flush).
      const step = async (what: string, fn: () => Promise<void>): Promise<void> => {
        await fn().catch(err => { log.error(`${what} failed during shutdown`, { error: String(err) }) })
      }
      await step('stopping the node', async () => { await node.stop(SHUTDOWN_BUDGET_MS / 2) })
      await step('closing the control API', async () => { await api.close() })
      await step('closing the store', async () => { await store.close() })
      log.info('daemon stopped')
    })()
    return stopping
  }

  return { get node () { return node }, apiUrl, join, shutdown }
}

/** The start banner: what a user needs to reach this node. */
export function banner (daemon: RunningDaemon, config: DaemonConfig): string {
  const status = daemon.node.status()
  const fed = daemon.node.federation.status()
  return [
    `fedmesh ${status.version} daemon running`,
    `  peer id   ${status.peerId}`,
    `  name      ${status.name}`,
    ...status.addresses.map((a, i) => `  ${i === 0 ? 'listen   ' : '         '} ${a}`),
    `  api       ${daemon.apiUrl}`,
    `  data dir  ${config.dataDir}`,
    fed.open
      ? '  WARNING   open mesh (--open): any peer that can reach this node joins, reads the cache and runs tasks'
      : `  federation ${fed.federationId} "${fed.name}" (roles ${fed.roles.join(',')}${fed.founder ? '; founder' : ''})`,
    ''
  ].join('\n')
}

/** The daemon's `policy` config as the node takes it. */
function hostOptions (p: DaemonConfig['policy'], profile: DaemonConfig['profile']): FederationNodeConfig['host'] {
  const { onPause, hostSignals, powerSupplyDir, sampleIntervalMs, ...policy } = p
  return {
    policy,
    onPause,
    signals: hostSignals ?? profile === 'lan',
    monitor: { readPower: async () => readPower(powerSupplyDir), sampleIntervalMs }
  }
}
