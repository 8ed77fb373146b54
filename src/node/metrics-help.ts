import type { Metrics } from '@libp2p/interface'
import type { Registry } from 'prom-client'

/**
 * @libp2p/prometheus-metrics (5.x) passes each metric's HELP text through the same
 * `normalizeString` as its name (`[^a-zA-Z0-9_]` → `_`, runs of `_` squeezed), so a sentence
 * like "Dials by outcome" reached /metrics as `Dials_by_outcome`. Names need that; HELP text is
 * free text (the exposition format only escapes `\` and newlines). This wrapper lets libp2p
 * register as before and then puts the sentence back on the prom-client metric it created.
 */
export function keepHelpText<C> (factory: (components: C) => Metrics, registry: Registry): (components: C) => Metrics {
  return (components) => {
    const metrics = factory(components)
    return new Proxy(metrics, {
      get (target, prop) {
        const value = Reflect.get(target, prop, target)
        if (typeof value !== 'function') return value
        if (typeof prop !== 'string' || !prop.startsWith('register')) return value.bind(target)
        return (name: string, options?: { help?: string }) => {
          const created = value.call(target, name, options)
          restoreHelp(registry, name, options?.help)
          return created
        }
      }
    })
  }
}

/** The same rule libp2p applies to names, to find the metric it registered. */
function metricName (name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_').replace(/_+/g, '_')
}

function restoreHelp (registry: Registry, name: string, help: string | undefined): void {
  if (help == null || help === '') return
  const metric = registry.getSingleMetric(metricName(name)) as { help?: string } | undefined
  if (metric != null) metric.help = help
}
