import { Counter, Gauge } from 'prom-client'
import { STORE_OPS } from '../store/storage-health.js'
import { VERSION } from '../version.js'
import type { ControlApi } from './api/server.js'
import type { DaemonLog } from './log.js'
import type { ProcessGuards } from './process-guards.js'
import type { StorageHealth } from '../store/storage-health.js'
import type { Registry } from 'prom-client'

export interface DaemonMetricSources {
  log: DaemonLog
  storage: StorageHealth
  api: ControlApi
  guards?: ProcessGuards
}

/** A counter that mirrors a total kept elsewhere, read at scrape time. */
function mirroredCounter (registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect () {
      this.reset()
      this.inc(read())
    }
  })
}

/**
 * The daemon's own health series (the node's services register theirs through libp2p): what
 * the log could not write, the store's disk condition, the control API's refusals, and faults
 * the process kept running through.
 */
export function registerDaemonMetrics (registry: Registry, s: DaemonMetricSources): void {
  mirroredCounter(registry, 'fedmesh_log_dropped_total', 'Log lines and other output dropped because stdout/stderr could not be written', () => s.log.dropped)
  new Counter({
    name: 'fedmesh_store_errors_total',
    help: 'Store writes that failed on the disk (ENOSPC, EIO...), by operation',
    labelNames: ['op'],
    registers: [registry],
    collect () {
      this.reset()
      for (const op of STORE_OPS) this.inc({ op }, s.storage.errors[op])
    }
  })
  mirroredCounter(registry, 'fedmesh_store_writes_refused_total', 'Writes refused (HTTP 507) while the store could not write', () => s.storage.writesRefused)
  mirroredCounter(registry, 'fedmesh_store_reopens_total', 'Times the store was reopened to recover from a disk error', () => s.storage.reopens)
  new Gauge({
    name: 'fedmesh_store_failed',
    help: '1 while the store refuses writes because its disk is full or failing, else 0',
    registers: [registry],
    collect () { this.set(s.storage.ok ? 0 : 1) }
  })
  new Gauge({
    name: 'fedmesh_build_info',
    help: 'Always 1; the labels say which fedmesh version runs on which Node.js version.',
    labelNames: ['version', 'node'],
    registers: [registry],
    collect () { this.set({ version: VERSION, node: process.versions.node }, 1) }
  })
  new Gauge({
    name: 'fedmesh_api_event_streams',
    help: 'Event streams (GET /v1/events, the dashboard, fedmesh monitor) open now.',
    registers: [registry],
    collect () { this.set(s.api.openStreams) }
  })
  mirroredCounter(registry, 'fedmesh_api_connections_refused_total', 'Control API connections closed at once because the connection cap was reached', () => s.api.connectionsRefused)
  if (s.guards != null) {
    const guards = s.guards
    new Counter({
      name: 'fedmesh_daemon_faults_survived_total',
      help: 'Unhandled rejections and uncaught exceptions the daemon kept running through (disk and output errors only)',
      labelNames: ['kind'],
      registers: [registry],
      collect () {
        this.reset()
        this.inc({ kind: 'rejection' }, guards.survived.rejection)
        this.inc({ kind: 'exception' }, guards.survived.exception)
      }
    })
  }
}
