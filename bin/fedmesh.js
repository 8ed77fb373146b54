#!/usr/bin/env node
// The CLI entry: compiled JavaScript (npm ci builds it), so commands start fast. It checks the
// Node version before loading anything: libp2p 3 needs Node 22 or newer, and on an older Node
// it would fail later with an obscure error (`Promise.withResolvers is not a function`).
const MIN_NODE_MAJOR = 22
const major = Number(process.versions.node.split('.')[0])
if (major < MIN_NODE_MAJOR) {
  process.stderr.write(`fedmesh needs Node.js ${MIN_NODE_MAJOR} or newer; this is Node.js ${process.versions.node} (${process.execPath}).
Install Node.js ${MIN_NODE_MAJOR}+ (https://nodejs.org, or: nvm install ${MIN_NODE_MAJOR}) and run fedmesh with it,
or from a checkout of fedmesh run \`npm ci\` and then \`npx fedmesh …\`, which uses the Node 24 it pins.
`)
  process.exit(1)
}
// The simulation harness lives beside src (it imports src, never the other way round): it is
// handed in here.
const { main } = await import('../dist/src/cli/main.js')
process.exitCode = await main(process.argv, {
  simulator: async () => (await import('../dist/simulations/cli.js')).simulator
})
