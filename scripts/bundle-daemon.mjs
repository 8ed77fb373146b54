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
// used (scripts/bundle-lazy-exports.ts); zod's error messages are English only
// (scripts/bundle-zod-english.ts: 265 KB less source held in the heap); Noise instantiates no
// WebAssembly (scripts/bundle-noise-crypto.ts); libp2p's per-peer locks (mortice) set nothing up
// for cluster workers (scripts/bundle-mortice-single.ts); kad-dht's table of 65,536 key prefixes
// is one packed string (scripts/bundle-kad-prefixes.ts).
import { build } from 'esbuild'
import { readFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
// Compiled by tsc, which runs first (build, prepare, pretest, Dockerfile).
import { kadPrefixesPlugin } from '../dist/scripts/bundle-kad-prefixes.js'
import { lazyExportsPlugin } from '../dist/scripts/bundle-lazy-exports.js'
import { morticeSinglePlugin } from '../dist/scripts/bundle-mortice-single.js'
import { noiseCryptoPlugin } from '../dist/scripts/bundle-noise-crypto.js'
import { ordinalComparePlugin } from '../dist/scripts/bundle-ordinal-compare.js'
import { zodEnglishPlugin } from '../dist/scripts/bundle-zod-english.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

const outfile = join(root, 'dist', 'bundle', 'daemon.cjs')
await build({
  entryPoints: [join(root, 'dist', 'src', 'cli', 'main.js')],
  outfile,
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
  plugins: [ordinalComparePlugin(), lazyExportsPlugin(), zodEnglishPlugin(), noiseCryptoPlugin(), morticeSinglePlugin(), kadPrefixesPlugin()],
  logLevel: 'warning'
})

// V8 holds the bundle's source in the heap for as long as the daemon runs: as one byte per
// character only if every character is Latin-1. esbuild escapes strings and templates (charset
// ascii) but not regular expression literals, and one "…" in one made the whole 2.4 MB source a
// two-byte string (4.7 MB). Write such characters as \uXXXX in the source.
const source = readFileSync(outfile, 'utf8')
const wide = [...source.matchAll(/[\u0100-\uffff]/g)] // (astral characters are surrogate pairs: in range too)
if (wide.length > 0) {
  rmSync(outfile) // bin/fedmesh.js then runs the compiled modules
  const at = wide.slice(0, 5).map(m => JSON.stringify(source.slice(Math.max(0, m.index - 40), m.index + 20))).join('\n  ')
  throw new Error(`dist/bundle/daemon.cjs has ${wide.length} non-Latin-1 character(s), which double the daemon's heap copy of it; escape them (\\uXXXX) in the source:\n  ${at}`)
}
