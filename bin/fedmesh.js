#!/usr/bin/env node
// The CLI entry: compiled JavaScript (npm ci builds it), so commands start fast. It checks the
// Node version before loading anything: libp2p 3 needs Node 22 or newer, and on an older Node
// it would fail later with an obscure error (`Promise.withResolvers is not a function`).
import { statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const MIN_NODE_MAJOR = 22
const major = Number(process.versions.node.split('.')[0])
if (major < MIN_NODE_MAJOR) {
  process.stderr.write(`fedmesh needs Node.js ${MIN_NODE_MAJOR} or newer; this is Node.js ${process.versions.node} (${process.execPath}).
Install Node.js ${MIN_NODE_MAJOR}+ (https://nodejs.org, or: nvm install ${MIN_NODE_MAJOR}) and run fedmesh with it,
or from a checkout of fedmesh run \`npm ci\` and then \`npx fedmesh …\`, which uses the Node 24 it pins.
`)
  process.exit(1)
}

const daemon = process.argv[2] === 'daemon'

// The daemon's malloc settings (glibc reads them only at process start, so the daemon re-executes
// itself once with them, same pid, where Node can: process.execve, Node 23.11+ on Linux). Without
// them an idle daemon keeps 8-15 MB of freed start-up memory (module parsing and compiling)
// resident: glibc's brk heap is never trimmed below its highest live block, large blocks stop
// being mmapped once one was freed, and every thread gets an arena of its own. A GLIBC_TUNABLES
// the user set is left alone.
// Blocks from 32 KiB up are mmapped (not from 128 KiB): freed blocks of 32-64 KiB (which ones was
// not traced) left holes in the heap that glibc keeps resident. Side by side, 3-daemon meshes:
// 93.0 -> 82.9 MB, settled 91.0 -> 83.4 MB (64 KiB: no gain; 16 KiB: no more); a lone daemon
// 12 s after start 80.7-84.0 -> 72.2-72.5 MB. The price is paid by large socket reads: a plain
// Node echo server spent 49 -> 82 us of CPU per 60 KB message (per 300-byte one the same,
// ~21 us); start-up CPU the same.
const TUNED = 'FEDMESH_MALLOC_TUNED'
const MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=32768:glibc.malloc.trim_threshold=262144:glibc.malloc.arena_max=2'
if (daemon && process.platform === 'linux' && typeof process.execve === 'function' && process.env.GLIBC_TUNABLES == null && process.env[TUNED] == null) {
  try {
    process.execve(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], { ...process.env, GLIBC_TUNABLES: MALLOC_TUNABLES, [TUNED]: '1' })
  } catch {} // not possible here: run untuned
}
if (process.env[TUNED] != null) {
  // Read by glibc at start; tasks the daemon runs as child processes must not inherit them.
  delete process.env[TUNED]
  if (process.env.GLIBC_TUNABLES === MALLOC_TUNABLES) delete process.env.GLIBC_TUNABLES
}

// `fedmesh daemon` runs from the bundle (dist/bundle/daemon.cjs, scripts/bundle-daemon.mjs): one
// minified file holds less in an idle daemon's heap than hundreds of modules. It is used only
// when built after the last compile (dist/.tsbuildinfo): a `tsc` run alone leaves it stale, and
// then the compiled modules run, as for every other command.
function bundled () {
  try {
    const bundle = new URL('../dist/bundle/daemon.cjs', import.meta.url)
    return statSync(bundle).mtimeMs >= statSync(new URL('../dist/.tsbuildinfo', import.meta.url)).mtimeMs ? bundle : undefined
  } catch {
    return undefined
  }
}
const bundle = daemon ? bundled() : undefined
// The simulation harness lives beside src (it imports src, never the other way round): it is
// handed in here.
const { main } = bundle != null ? createRequire(import.meta.url)(fileURLToPath(bundle)) : await import('../dist/src/cli/main.js')
process.exitCode = await main(process.argv, {
  simulator: async () => (await import('../dist/simulations/cli.js')).simulator
})
