import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

/**
 * The layering rule (docs/ARCHITECTURE.md), over every import in src/, static or dynamic: a
 * layer imports nothing from the layers above it. (eslint.config.js says the same for editors;
 * this also sees `import()` expressions.)
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const src = join(root, 'src')

/** Layer of a path relative to the repository root, e.g. `src/core` or `simulations`. */
function layerOf (path: string): string {
  const parts = path.split('/')
  return parts[0] === 'src' ? `src/${parts[1]}` : parts[0]
}

/** What each layer must not import. */
const FORBIDDEN: Record<string, string[]> = {
  'src/core': ['src/services', 'src/node', 'src/daemon', 'src/cli', 'simulations'],
  'src/util': ['src/services', 'src/node', 'src/daemon', 'src/cli', 'simulations'],
  'src/wire': ['src/services', 'src/node', 'src/daemon', 'src/cli', 'simulations'],
  'src/store': ['src/services', 'src/node', 'src/daemon', 'src/cli', 'simulations'],
  'src/services': ['src/node', 'src/daemon', 'src/cli', 'simulations'],
  'src/node': ['src/daemon', 'src/cli', 'simulations'],
  'src/daemon': ['simulations'],
  'src/cli': ['simulations']
}

function files (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(e => e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [])
}

/** Relative import specifiers in source text: `from '…'`, `import '…'` and `import('…')`. */
function specifiers (text: string): string[] {
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*|^import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)].map(m => m[1])
}

function imports (file: string): string[] {
  return specifiers(readFileSync(file, 'utf8'))
}

describe('layering', () => {
  it('no file in src imports from a layer above its own (core, util, wire, store < services < node < daemon/cli; simulations import src, never the reverse)', () => {
    const violations: string[] = []
    for (const file of files(src)) {
      const from = relative(root, file)
      const banned = FORBIDDEN[layerOf(from)] ?? []
      for (const spec of imports(file)) {
        const to = relative(root, resolve(dirname(file), spec))
        if (banned.includes(layerOf(to))) violations.push(`${from} imports ${to}`)
      }
    }
    expect(violations).toEqual([])
  })

  it('sees static and dynamic imports (the check would catch a violation)', () => {
    const sample = join(src, 'cli', 'commands', 'sim.ts')
    expect(imports(sample).length + imports(join(src, 'node', 'create-node.ts')).length).toBeGreaterThan(5)
    expect(specifiers("const { run } = await import('../../../simulations/run-sim.js')\nimport type { X } from '../node/config.js'")).toEqual(['../../../simulations/run-sim.js', '../node/config.js'])
  })
})
