import type { Plugin } from 'esbuild'
import { rewritePlugin } from './bundle-rewrite-plugin.js'

/**
 * An esbuild plugin for the daemon's bundle (scripts/bundle-daemon.mjs): exports of a CommonJS
 * index that the daemon never reads become getters, so the modules behind them, and the Node
 * built-ins those load, are evaluated only if something reads them. prom-client's index loads its
 * push-gateway client, which loads `https` (and with it `tls`) and `zlib` (3.4 MB resident in
 * bare Node), and its cluster aggregator. The build fails when a listed export is no longer
 * written in the expected form (a new version of the library), so nothing changes unnoticed.
 */

/** Per file (path inside node_modules): the exports to evaluate on first read. */
export const LAZY_EXPORTS: Readonly<Record<string, readonly string[]>> = {
  // Pushing to a Prometheus push gateway, aggregating metrics of cluster workers: the daemon
  // serves /metrics itself, from one process.
  'prom-client/index.js': ['Pushgateway', 'AggregatorRegistry']
}

export class LazyExportRewriteError extends Error {
  override name = 'LazyExportRewriteError'
}

/** `source` with each `exports.NAME = require('…');` of `names` turned into a getter. */
export function rewriteLazyExports (source: string, names: readonly string[], file = 'source'): string {
  let out = source
  for (const name of names) {
    const assignment = new RegExp(String.raw`^exports\.${name} = (require\((['"])[^'"]+\2\));$`, 'm')
    const match = assignment.exec(out)
    if (match == null) throw new LazyExportRewriteError(`${file}: no \`exports.${name} = require(…);\` to make lazy`)
    out = out.replace(assignment, `Object.defineProperty(exports, '${name}', { enumerable: true, get: () => ${match[1]} });`)
  }
  return out
}

/** The plugin; its build fails if a file of `lazyExports` was not in the bundle. */
export function lazyExportsPlugin (lazyExports: Readonly<Record<string, readonly string[]>> = LAZY_EXPORTS): Plugin {
  return rewritePlugin('lazy-exports', Object.keys(lazyExports), (source, file, path) => rewriteLazyExports(source, lazyExports[file], path), LazyExportRewriteError)
}
