import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { VERSION } from './version.js'
import { packageRoot } from './util/package-root.js'

/** What `fedmesh version` reports: this build, and the Node it runs on now. */
export interface BuildInfo {
  version: string
  /** Git commit the build was made from; null when built outside a git checkout. */
  commit: string | null
  /** The checkout had uncommitted changes to tracked files. */
  dirty: boolean | null
  /** When `npm run build` (or `npm ci`, `npm pack`) ran, ISO 8601; null when unknown. */
  builtAt: string | null
  /** libp2p's version in the build. */
  libp2p: string | null
  /** The Node running now. */
  node: string
  platform: string
  arch: string
}

/** Read dist/build-info.json (written by scripts/build-info.mjs); missing fields are null. */
export function buildInfo (): BuildInfo {
  let file: Partial<BuildInfo> = {}
  try {
    file = JSON.parse(readFileSync(join(packageRoot(), 'dist', 'build-info.json'), 'utf8')) as Partial<BuildInfo>
  } catch {}
  return {
    version: VERSION,
    commit: file.commit ?? null,
    dirty: file.dirty ?? null,
    builtAt: file.builtAt ?? null,
    libp2p: file.libp2p ?? null,
    node: process.versions.node,
    platform: process.platform,
    arch: process.arch
  }
}
