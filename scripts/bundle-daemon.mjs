// Writes dist/bundle/daemon.cjs: the daemon (the CLI's `main`, dist/src/cli/main.js, with every
// dependency) as one minified CommonJS file, which bin/fedmesh.js loads for `fedmesh daemon`.
// An idle daemon's heap held ~9 MB of module source text and module records: bundled, its
// V8 heap is ~25 MB instead of ~35 MB and it starts on ~25 % less CPU (README, "What an idle
// daemon costs"). Run by `npm run build`, `prepare` and `pretest`, after tsc.
//
// Kept outside: classic-level (a native addon found by path at run time), and the NAT packages
// loaded only when configured (@libp2p/webrtc, @libp2p/upnp-nat: bundled, their native parts
// would load with everything else). The simulator is never used by the daemon and stays out.
// Two rewrites of libraries, in the bundle only: libp2p's peer store sorts with an ordinal
// comparison instead of localeCompare (scripts/bundle-ordinal-compare.ts: no ICU collation data
// in an idle daemon), and prom-client's push-gateway client (https, tls, zlib) loads only if
// used (scripts/bundle-lazy-exports.ts).
import { build } from 'esbuild'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
// Compiled by tsc, which runs first (build, prepare, pretest, Dockerfile).
import { lazyExportsPlugin } from '../dist/scripts/bundle-lazy-exports.js'
import { ordinalComparePlugin } from '../dist/scripts/bundle-ordinal-compare.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

await build({
  entryPoints: [join(root, 'dist', 'src', 'cli', 'main.js')],
  outfile: join(root, 'dist', 'bundle', 'daemon.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  minify: true,
  external: ['classic-level', '@libp2p/webrtc', '@libp2p/upnp-nat', '../../simulations/*'],
  // CommonJS has no import.meta: the modules that use it (paths from the package root) get the
  // bundle's own URL.
  define: { 'import.meta.url': '__bundleUrl' },
  banner: { js: 'var __bundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  plugins: [ordinalComparePlugin(), lazyExportsPlugin()],
  logLevel: 'warning'
})
