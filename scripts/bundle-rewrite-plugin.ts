import { readFile } from 'node:fs/promises'
import type { Plugin } from 'esbuild'

/**
 * An esbuild plugin that rewrites listed library files (paths inside node_modules) as they are
 * bundled. Its build fails when a listed file was not bundled at all: a library that moved or
 * dropped it would otherwise leave the rewrite silently undone.
 */
export function rewritePlugin (name: string, files: readonly string[], rewrite: (source: string, file: string, path: string) => string, MissingError: new (message: string) => Error): Plugin {
  return {
    name,
    setup (build) {
      const seen = new Set<string>()
      build.onLoad({ filter: /[\\/]node_modules[\\/].*\.js$/ }, async ({ path }) => {
        const file = files.find(f => path.replaceAll('\\', '/').endsWith(`/node_modules/${f}`))
        if (file == null) return undefined
        seen.add(file)
        return { contents: rewrite(await readFile(path, 'utf8'), file, path), loader: 'js' }
      })
      build.onEnd((result) => {
        const missing = files.filter(f => !seen.has(f))
        if (result.errors.length === 0 && missing.length > 0) throw new MissingError(`${name}: not in the bundle any more (drop them from the list): ${missing.join(', ')}`)
      })
    }
  }
}
