/**
 * The intake's Prometheus counters. They have two labels (path and outcome), which libp2p's
 * counter groups cannot express, so they are prom-client counters in the daemon's registry. A
 * node restarted in the same process (a daemon joining a federation) reuses them.
 */
import { Counter } from 'prom-client'
import type { IntakeCounters } from './intake.js'
import type { Registry } from 'prom-client'

export function intakeCounters (registry: Registry | undefined): IntakeCounters | undefined {
  if (registry == null) return undefined
  const intake = counter(registry, 'fedmesh_cache_intake_total', 'Cache entries taken in, by path (local, gossip, sync, resync, fetch) and outcome (accepted, stale, refused)', ['path', 'outcome'])
  const refused = counter(registry, 'fedmesh_cache_refused_total', 'Cache entries and local writes refused, by reason (invalid, forged, not-origin, wrong-key, clock-skew, beyond-horizon, or an authorizer\'s)', ['reason'])
  return {
    outcome: (path, outcome) => { intake.inc({ path, outcome }) },
    refused: (reason) => { refused.inc({ reason }) }
  }
}

/** Entries written alone, once settled: shared as they were, or re-dated first (settle.ts). */
export function settleCounter (registry: Registry | undefined): ((how: 'shared' | 'redated', n: number) => void) | undefined {
  if (registry == null) return undefined
  const c = counter(registry, 'fedmesh_cache_settled_total', 'Cache entries written while no peer clock was known, once peers were heard: shared as they were, or re-dated into the range peers accept', ['how'])
  return (how, n) => { if (n > 0) c.inc({ how }, n) }
}

function counter<L extends string> (registry: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
  const existing = registry.getSingleMetric(name)
  if (existing != null) return existing as Counter<L>
  return new Counter({ name, help, labelNames, registers: [registry] })
}
