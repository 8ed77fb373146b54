import { Registry } from 'prom-client'
import { createFederationNode } from '../node/create-node.js'
import { FedStore } from '../store/store.js'
import { SECOND } from '../util/time.js'
import { removeApiFiles, newToken, writeApiFiles } from './api-files.js'
import { controlRoutes } from './api/routes.js'
import { ControlApi } from './api/server.js'
import { parseHostPort } from './config.js'
import { registerDaemonMetrics } from './daemon-metrics.js'
import { createDaemonLog } from './log.js'
import type { DaemonConfig } from './config.js'
import type { DaemonLog } from './log.js'
import type { ProcessGuards } from './process-guards.js'
import type { StorageEvent } from '../store/storage-health.js'
import type { FederationNode } from '../node/federation-node.js'

/** SIGINT/SIGTERM must end the process within this (CONTRACT.md: 10 s). */
export const SHUTDOWN_BUDGET_MS = 9 * SECOND

export interface RunningDaemon {
  node: FederationNode
  apiUrl: string
  shutdown(reason: string): Promise<void>
}

/**
 * Start a daemon from a validated config: open the store (refusing a data dir another daemon
 * holds), start the node, serve the control API, then announce readiness by writing `api`.
 */
export async function runDaemon (config: DaemonConfig, log: DaemonLog = createDaemonLog(), guards?: ProcessGuards): Promise<RunningDaemon> {
  const store = await FedStore.open(config.dataDir)
  store.health.onChange(event => { logStorageEvent(log, event) })
  // We hold the lock now: files left by a daemon that was killed are stale.
  await removeApiFiles(config.dataDir)

  const registry = new Registry()
  let node: FederationNode
  try {
    node = await createFederationNode({
      store,
      name: config.name,
      listen: config.listen,
      bootstrap: config.bootstrap,
      mdns: config.mdns,
      dht: config.dht,
      profile: config.profile,
      limits: { maxConnections: config.maxConnections },
      concurrency: config.concurrency,
      admissionQueueLimit: config.admissionQueueLimit,
      commandKinds: config.tasks,
      metricsRegistry: registry
    })
    await node.start()
  } catch (err) {
    await store.close()
    throw err
  }

  const { host, port } = parseHostPort(config.api) as { host: string, port: number }
  const token = newToken()
  const api = new ControlApi({
    host,
    port,
    token,
    routes: controlRoutes(node, registry),
    ...config.apiLimits,
    onError: (err, req) => { log.error('api request failed', { method: req.method, url: req.url, error: String(err) }) }
  })
  registerDaemonMetrics(registry, { log, storage: store.health, api, guards })
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

  return { node, apiUrl, shutdown }
}

/** One line when the store starts refusing writes, one when it takes them again. */
function logStorageEvent (log: DaemonLog, event: StorageEvent): void {
  if (event.type === 'failed') {
    log.error('storage failed, refusing writes until it recovers', { error: event.fault.reason, op: event.op, detail: event.fault.detail })
  } else {
    log.info('storage recovered, writes accepted again', { after: `${event.downMs}ms`, writesRefused: event.writesRefused })
  }
}

/** The start banner: what a user needs to reach this node. */
export function banner (daemon: RunningDaemon, config: DaemonConfig): string {
  const status = daemon.node.status()
  return [
    `fedmesh ${status.version} daemon running`,
    `  peer id   ${status.peerId}`,
    `  name      ${status.name}`,
    ...status.addresses.map((a, i) => `  ${i === 0 ? 'listen   ' : '         '} ${a}`),
    `  api       ${daemon.apiUrl}`,
    `  data dir  ${config.dataDir}`,
    ''
  ].join('\n')
}
