import type { Plugin } from 'esbuild'
import { rewritePlugin } from './bundle-rewrite-plugin.js'

/**
 * An esbuild plugin for the daemon's bundle (scripts/bundle-daemon.mjs): zod's `locales`
 * namespace keeps only English. zod exports error messages in 60-odd languages (`z.locales.*`,
 * 265 KB of the 2.4 MB bundle, source text the daemon's heap holds for as long as it runs); it
 * uses English unless told otherwise (`z.config(z.locales.xx())`), which fedmesh never does.
 */

export const ZOD_LOCALES_INDEX = 'zod/v4/locales/index.js'

export class ZodLocalesRewriteError extends Error {
  override name = 'ZodLocalesRewriteError'
}

/** zod's locales index (`export { default as xx } from "./xx.js";` lines) with only English left. */
export function keepEnglishOnly (source: string, file = ZOD_LOCALES_INDEX): string {
  const lines = source.split('\n')
  const english = lines.filter(l => /^export \{ default as en \} from "\.\/en\.js";$/.test(l))
  const others = lines.filter(l => l.startsWith('export ') && !english.includes(l))
  if (english.length !== 1 || others.length === 0 || !others.every(l => /^export \{ default as \w+ \} from "\.\/[\w-]+\.js";$/.test(l))) {
    throw new ZodLocalesRewriteError(`${file}: not a list of \`export { default as xx } from "./xx.js";\` lines with English among them`)
  }
  return english[0] + '\n'
}

export function zodEnglishPlugin (): Plugin {
  return rewritePlugin('zod-english', [ZOD_LOCALES_INDEX], (source, _file, path) => keepEnglishOnly(source, path), ZodLocalesRewriteError)
}
