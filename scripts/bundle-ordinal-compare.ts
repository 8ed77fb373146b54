import type { Plugin } from 'esbuild'
import { rewritePlugin } from './bundle-rewrite-plugin.js'

/**
 * An esbuild plugin for the daemon's bundle (scripts/bundle-daemon.mjs). libp2p's peer store
 * and peer records sort protocol names, metadata and tag keys and addresses with
 * `String.prototype.localeCompare` only so that what they store and compare has one order. The
 * first such call loads ICU's collation data (~4.6 MB resident in bare Node), and an idle daemon
 * makes it on each new stream's peer-store write. In the bundle those calls become an ordinal
 * (UTF-16 code unit) comparison, which gives one fixed order just as well; no global is patched.
 * The build fails when a listed file no longer holds a call of the expected shape (a libp2p
 * upgrade changed it), so the rewrite cannot silently stop happening.
 */

/** Files (path inside node_modules) whose `localeCompare` calls only need some fixed order. */
export const ORDINAL_COMPARE_FILES: readonly string[] = [
  '@libp2p/peer-store/dist/src/utils/to-peer-pb.js',
  '@libp2p/peer-store/dist/src/utils/dedupe-addresses.js',
  '@libp2p/peer-record/dist/src/peer-record/utils.js'
]

/** The comparison put in place of `a.localeCompare(b)`. */
export function ordinalCompare (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

const HELPER = '__fedmeshOrdinalCompare'
// `x.localeCompare(y)` where x and y are a name or a property chain, optionally `.toString()`ed.
const OPERAND = String.raw`[\w$]+(?:\.[\w$]+)*(?:\.toString\(\))?`
const CALL = new RegExp(String.raw`(${OPERAND})\.localeCompare\((${OPERAND})\)`, 'g')

export class OrdinalCompareRewriteError extends Error {
  override name = 'OrdinalCompareRewriteError'
}

/** `source` with every `x.localeCompare(y)` turned into an ordinal comparison of x and y. */
export function rewriteLocaleCompare (source: string, file = 'source'): string {
  let count = 0
  const rewritten = source.replace(CALL, (_call, left: string, right: string) => {
    count++
    return `${HELPER}(${left}, ${right})`
  })
  if (count === 0) throw new OrdinalCompareRewriteError(`${file}: no \`x.localeCompare(y)\` call to rewrite`)
  if (rewritten.includes('localeCompare')) throw new OrdinalCompareRewriteError(`${file}: a localeCompare of another shape is left`)
  return `${rewritten}\nvar ${HELPER} = ${ordinalCompare.toString()};\n`
}

/** The plugin; its build fails if a file of `files` was not in the bundle. */
export function ordinalComparePlugin (files: readonly string[] = ORDINAL_COMPARE_FILES): Plugin {
  return rewritePlugin('ordinal-compare', files, (source, _file, path) => rewriteLocaleCompare(source, path), OrdinalCompareRewriteError)
}
