import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { defaultLogger } from '@libp2p/logger'
import { keepHelpText } from '../../../src/node/metrics-help.js'

const components = { logger: defaultLogger() } as any
const SENTENCE = 'Dials of discovered peers, by outcome (ok, failed)'

async function helpLine (registry: Registry, name: string): Promise<string | undefined> {
  return (await registry.metrics()).split('\n').find(l => l.startsWith(`# HELP ${name} `))
}

describe('HELP texts through libp2p\'s Prometheus metrics', () => {
  it('libp2p alone normalises them like names; wrapped, they stay sentences', async () => {
    const bare = new Registry()
    prometheusMetrics({ registry: bare, collectDefaultMetrics: false })(components).registerCounterGroup('fedmesh_x_total', { label: 'outcome', help: SENTENCE })
    expect(await helpLine(bare, 'fedmesh_x_total')).toBe('# HELP fedmesh_x_total Dials_of_discovered_peers_by_outcome_ok_failed_')

    const registry = new Registry()
    const metrics = keepHelpText(prometheusMetrics({ registry, collectDefaultMetrics: false }), registry)(components)
    metrics.registerCounterGroup('fedmesh_x_total', { label: 'outcome', help: SENTENCE }).increment({ ok: true })
    metrics.registerMetric('fedmesh_y', { help: '1 while solo, else 0', calculate: () => 1 })
    metrics.registerCounter('fedmesh_z_total')
    expect(await helpLine(registry, 'fedmesh_x_total')).toBe(`# HELP fedmesh_x_total ${SENTENCE}`)
    expect(await helpLine(registry, 'fedmesh_y')).toBe('# HELP fedmesh_y 1 while solo, else 0')
    // No help given: libp2p's default (the name) stands.
    expect(await helpLine(registry, 'fedmesh_z_total')).toBe('# HELP fedmesh_z_total fedmesh_z_total')
    expect(await registry.metrics()).toContain('fedmesh_x_total{outcome="ok"} 1')
  })
})
