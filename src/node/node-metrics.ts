import { Counter, Gauge, Histogram } from 'prom-client'
import type { NodeEvent, NodeEvents } from './events.js'
import type { FederationNode } from './federation-node.js'
import type { Registry } from 'prom-client'

/**
 * Task and routing metrics, counted from the node's events (one stream feeds the log, the API
 * and these), plus the load gauges read at scrape time. Registered once per daemon: the bus and
 * these series outlive a node restarted by a join.
 */

/** Seconds: 1 ms to 10 min, roughly ×2.5 apart (tasks range from an echo to a long build). */
export const TASK_SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]

/** Distinct task kinds given their own label value; later ones count as `other` (kinds are names users type). */
export const MAX_KIND_LABELS = 64

export interface NodeMetricSources {
  events: NodeEvents
  /** The node now (a join restarts it); gauges read its load at scrape time. */
  node: () => FederationNode
}

/** Register the series; returns the function that stops counting events. */
export function registerNodeMetrics (registry: Registry, s: NodeMetricSources): () => void {
  const registers = [registry]
  const kinds = new Set<string>()
  const kindLabel = (kind: string): string => {
    if (kinds.has(kind)) return kind
    if (kinds.size >= MAX_KIND_LABELS) return 'other'
    kinds.add(kind)
    return kind
  }
  const outcome = (status: 'ok' | 'error', errorCode?: string): string => status === 'ok' ? 'ok' : (errorCode ?? 'error').toLowerCase()

  const tasks = new Counter({ name: 'fedmesh_tasks_total', help: 'Tasks submitted on this node that finished, by kind and outcome (ok, or the error code in lower case such as timed_out).', labelNames: ['kind', 'outcome'], registers })
  const served = new Counter({ name: 'fedmesh_tasks_served_total', help: 'Task runs on this node, by kind, outcome and origin (local: submitted here; peer: sent by another node).', labelNames: ['kind', 'outcome', 'origin'], registers })
  const duration = new Histogram({ name: 'fedmesh_task_duration_seconds', help: 'Time from submission to result of tasks submitted on this node, in seconds, including waiting and failovers.', labelNames: ['kind', 'outcome'], buckets: TASK_SECONDS_BUCKETS, registers })
  const admissionWait = new Histogram({ name: 'fedmesh_task_admission_wait_seconds', help: 'Time tasks submitted on this node waited in its admission queue for a free slot in the mesh, in seconds.', labelNames: ['kind'], buckets: TASK_SECONDS_BUCKETS, registers })
  const queueWait = new Histogram({ name: 'fedmesh_task_queue_wait_seconds', help: 'Time tasks run on this node waited in its executor queue before they started, in seconds.', labelNames: ['kind'], buckets: TASK_SECONDS_BUCKETS, registers })
  const run = new Histogram({ name: 'fedmesh_task_run_seconds', help: 'Time tasks run on this node took to run, in seconds.', labelNames: ['kind', 'outcome'], buckets: TASK_SECONDS_BUCKETS, registers })
  const routing = new Counter({ name: 'fedmesh_routing_decisions_total', help: 'Placements of task attempts by reason (free-slot, local, late-binding, only-candidate, pinned, no-candidate) and attempt (first, or retry after a failover).', labelNames: ['reason', 'attempt'], registers })
  const events = new Counter({ name: 'fedmesh_events_total', help: 'Events this node emitted, by type (see GET /v1/events).', labelNames: ['type'], registers })

  const load = (): ReturnType<FederationNode['executor']['load']> => s.node().executor.load()
  new Gauge({ name: 'fedmesh_task_queue_depth', help: 'Tasks and reservations waiting in this node\'s executor queue for one of its slots.', registers, collect () { this.set(load().queueDepth) } })
  new Gauge({ name: 'fedmesh_tasks_running', help: 'Tasks running on this node now.', registers, collect () { this.set(load().running) } })
  new Gauge({ name: 'fedmesh_task_slots', help: 'Tasks this node runs at once (its concurrency).', registers, collect () { this.set(load().concurrency) } })
  new Gauge({ name: 'fedmesh_tasks_waiting', help: 'Tasks submitted on this node waiting in its admission queue for a free slot in the mesh.', registers, collect () { this.set(s.node().libp2p.services.tasks.admission.queued) } })

  new Gauge({ name: 'fedmesh_host_serving_slots', help: 'Slots peers\' tasks may use on this node now, after its owner\'s host policy (battery, presence, quiet hours, the owner\'s load, a pause).', registers, collect () { this.set(Math.min(load().concurrency, s.node().libp2p.services.host.serving().slots)) } })
  new Gauge({ name: 'fedmesh_host_paused', help: 'Whether this node takes no work from peers now (1) or does (0), by its owner\'s host policy.', registers, collect () { this.set(s.node().libp2p.services.host.serving().paused ? 1 : 0) } })

  const count = (e: NodeEvent): void => {
    events.inc({ type: e.type })
    switch (e.type) {
      case 'task:finished': {
        const labels = { kind: kindLabel(e.kind), outcome: outcome(e.status, e.errorCode) }
        tasks.inc(labels)
        duration.observe(labels, e.durationMs / 1000)
        return
      }
      case 'task:started':
        admissionWait.observe({ kind: kindLabel(e.kind) }, e.waitedMs / 1000)
        return
      case 'task:served': {
        const kind = kindLabel(e.kind)
        const result = outcome(e.status, e.errorCode)
        served.inc({ kind, outcome: result, origin: e.origin === 'local' ? 'local' : 'peer' })
        queueWait.observe({ kind }, e.queuedMs / 1000)
        run.observe({ kind, outcome: result }, e.runMs / 1000)
        return
      }
      case 'task:routed':
        routing.inc({ reason: e.reason, attempt: e.attempt > 1 ? 'retry' : 'first' })
    }
  }
  return s.events.subscribe(count)
}
