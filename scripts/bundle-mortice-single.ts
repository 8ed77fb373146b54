import type { Plugin } from 'esbuild'
import { rewritePlugin } from './bundle-rewrite-plugin.js'

/**
 * An esbuild plugin for the daemon's bundle (scripts/bundle-daemon.mjs): mortice, the lock
 * libp2p's peer store takes per peer (`singleProcess: true`), no longer sets up for a cluster
 * when it is told there is one process. Its Node entry loads `node:cluster` and
 * `node:worker_threads` when it is loaded, and its first lock, single-process or not, listens for
 * cluster messages and opens a BroadcastChannel (Node's worker messaging) to hand locks to workers
 * that a daemon never has. In the bundle both built-ins load only when a lock is not
 * single-process, and a single-process lock gets a plain event target. The build fails when the
 * module no longer looks as expected (a new version).
 */

export const MORTICE_NODE = 'mortice/dist/src/node.js'

export class MorticeRewriteError extends Error {
  override name = 'MorticeRewriteError'
}

const IMPORTS = /^import cluster from 'node:cluster';\nimport worker from 'node:worker_threads';\n/m
const LAZY_IMPORTS = "const lazyCluster = () => require('node:cluster');\nconst lazyWorker = () => require('node:worker_threads');\n"
const FIRST_USE = 'function isMain() {'
const MAIN_TEST = '    if (isMain() || options.singleProcess) {\n'
const SINGLE_FIRST = '    if (options.singleProcess === true) {\n        return new TypedEventEmitter();\n    }\n    if (isMain()) {\n'

/** mortice's Node entry with cluster and worker threads left alone by single-process locks. */
export function singleProcessFirst (source: string, file = MORTICE_NODE): string {
  const at = source.indexOf(FIRST_USE)
  if (!IMPORTS.test(source) || at < 0 || source.split(MAIN_TEST).length !== 2) throw new MorticeRewriteError(`${file}: not the expected imports, isMain() and single-process test`)
  const head = source.slice(0, at).replace(IMPORTS, LAZY_IMPORTS)
  // Past the imports every `cluster.` and `worker.` is a use of the two built-ins.
  const body = source.slice(at).replace(/\bcluster\./g, 'lazyCluster().').replace(/\bworker\./g, 'lazyWorker().').replace(MAIN_TEST, SINGLE_FIRST)
  return head + body
}

export function morticeSinglePlugin (): Plugin {
  return rewritePlugin('mortice-single', [MORTICE_NODE], (source, _file, path) => singleProcessFirst(source, path), MorticeRewriteError)
}
