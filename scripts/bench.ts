import { benchCache } from './bench-cache.js'
import { benchDiscovery } from './bench-discovery.js'
import { benchFederation } from './bench-federation.js'
import { benchFootprint } from './bench-footprint.js'
import { benchRoute } from './bench-route.js'
import { benchRpc } from './bench-rpc.js'
import { benchSync } from './bench-sync.js'

/**
 * `npm run bench [-- NAME...]`: each benchmark prints one JSON document with its figures, the
 * baseline measured in the same run, and the ratio.
 */
const BENCHES: Record<string, () => Promise<Record<string, unknown>>> = {
  rpc: benchRpc,
  route: benchRoute,
  cache: benchCache,
  sync: benchSync,
  discovery: benchDiscovery,
  federation: benchFederation,
  footprint: benchFootprint
}

const asked = process.argv.slice(2)
const names = asked.length > 0 ? asked : Object.keys(BENCHES)
for (const name of names) {
  const bench = BENCHES[name]
  if (bench == null) {
    process.stderr.write(`unknown benchmark "${name}"; known: ${Object.keys(BENCHES).join(', ')}\n`)
    process.exit(2)
  }
  process.stdout.write(JSON.stringify(await bench()) + '\n')
}
process.exit(0)
