// Writes dist/build-info.json: what `fedmesh version` reports about the build (version, git
// commit, build time, libp2p and Node versions it was built with). Run by `npm run build`,
// `prepare` (npm ci, npm pack) and `pretest`; a checkout without git records commit null.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))

function git (...args) {
  try {
    return execFileSync('git', args, { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()
  } catch {
    return null
  }
}

function installedVersion (name) {
  try {
    return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version
  } catch {
    return null
  }
}

const checkout = git('rev-parse', 'HEAD')
// Outside a checkout (a container build) the builder may pass the commit in FEDMESH_COMMIT.
const commit = checkout ?? (process.env.FEDMESH_COMMIT || null)
const info = {
  version: pkg.version,
  commit,
  dirty: checkout == null ? null : git('status', '--porcelain', '--untracked-files=no') !== '',
  builtAt: new Date().toISOString(),
  libp2p: installedVersion('libp2p'),
  builtWithNode: process.versions.node
}
mkdirSync(join(root, 'dist'), { recursive: true })
writeFileSync(join(root, 'dist', 'build-info.json'), JSON.stringify(info, null, 2) + '\n')
