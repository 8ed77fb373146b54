import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The package's root directory (the one holding package.json), found by walking up from this
 * module: the same answer from src/ (tests), dist/src/ (the build) and dist/bundle/ (the
 * bundled daemon, where every module shares one location and relative paths would break).
 */
export function packageRoot (from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) return join(dirname(fileURLToPath(import.meta.url)), '..', '..')
  }
}
