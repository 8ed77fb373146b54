import { spawnSync } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { build } from 'esbuild'
import { afterAll, describe, expect, it } from 'vitest'
import { LazyExportRewriteError, LAZY_EXPORTS, lazyExportsPlugin, rewriteLazyExports } from '../../../scripts/bundle-lazy-exports.js'
import { ORDINAL_COMPARE_FILES, OrdinalCompareRewriteError, ordinalCompare, ordinalComparePlugin, rewriteLocaleCompare } from '../../../scripts/bundle-ordinal-compare.js'
import { keepEnglishOnly, ZOD_LOCALES_INDEX, ZodLocalesRewriteError, zodEnglishPlugin } from '../../../scripts/bundle-zod-english.js'
import { ROOT, stopAll, tempDir } from '../../helpers/daemon.js'

/**
 * The daemon bundle's library rewrites (scripts/bundle-daemon.mjs), on the installed
 * libraries: libp2p's localeCompare sorts become ordinal, prom-client's push-gateway client loads
 * only when read, zod keeps English only; each fails loudly when the library no longer looks as expected.
 * test/integration/idle-footprint.test.ts checks the real daemon bundle.
 */

afterAll(stopAll) // removes the temporary bundles

const nodeModule = async (file: string): Promise<string> => readFile(join(ROOT, 'node_modules', file), 'utf8')

/** Bundle `source` (CommonJS, or ESM as `entry.mjs`, resolved from the repository) with `plugins`; run it, return stdout. */
async function bundleAndRun (source: string, plugins: Parameters<typeof build>[0]['plugins'], entry = 'entry.cjs'): Promise<string> {
  const dir = await tempDir('fedmesh-bundle-test-')
  await writeFile(join(dir, entry), source)
  const outfile = join(dir, 'out.cjs')
  await build({ entryPoints: [join(dir, entry)], nodePaths: [join(ROOT, 'node_modules')], outfile, bundle: true, platform: 'node', format: 'cjs', logLevel: 'silent', plugins })
  const run = spawnSync(process.execPath, [outfile], { encoding: 'utf8' })
  expect(run.stderr).toBe('')
  return run.stdout.trim()
}

describe('ordinal compare in place of localeCompare', () => {
  it('rewrites every call in the listed libp2p files and leaves none', async () => {
    for (const file of ORDINAL_COMPARE_FILES) {
      const source = await nodeModule(file)
      expect(source).toContain('.localeCompare(')
      const rewritten = rewriteLocaleCompare(source, file)
      expect(rewritten).not.toContain('localeCompare')
      expect(rewritten.split('__fedmeshOrdinalCompare(').length - 1).toBe(source.split('.localeCompare(').length - 1)
    }
  })

  it('orders by code unit, a total order', () => {
    expect(['b', 'B', 'a', '/ip4/10.0.0.1', 'ab', 'a'].sort(ordinalCompare)).toEqual(['/ip4/10.0.0.1', 'B', 'a', 'a', 'ab', 'b'])
    expect(ordinalCompare('x', 'x')).toBe(0)
  })

  it('fails on a file with no call or a call of another shape', () => {
    expect(() => rewriteLocaleCompare('export const x = 1')).toThrow(OrdinalCompareRewriteError)
    expect(() => rewriteLocaleCompare('a.localeCompare(b); c.localeCompare(d, "de")')).toThrow(/another shape/)
  })

  const PEER_RECORD_UTILS = '@libp2p/peer-record/dist/src/peer-record/utils.js'

  it('sorts ordinally in a bundle, and fails a bundle that no longer holds a listed file', async () => {
    // peer-record's arrayEquals sorts with the rewritten compare.
    const source = `const { arrayEquals } = require(${JSON.stringify(join(ROOT, 'node_modules', PEER_RECORD_UTILS))}); ` + "const item = (v) => ({ toString: () => v, equals: (o) => o.toString() === v }); const s = String.prototype.localeCompare; let calls = 0; String.prototype.localeCompare = function (...a) { calls++; return s.apply(this, a) }; console.log(arrayEquals([item('b'), item('A')], [item('A'), item('b')]), calls)"
    expect(await bundleAndRun(source, [ordinalComparePlugin([PEER_RECORD_UTILS])])).toBe('true 0')
    expect(await bundleAndRun(source, [])).toMatch(/^true [1-9]/)
    await expect(bundleAndRun('console.log(1)', [ordinalComparePlugin([PEER_RECORD_UTILS])])).rejects.toThrow(/not in the bundle any more/)
  })
})

describe('lazy exports', () => {
  it("turns prom-client's listed exports into getters", async () => {
    const source = await nodeModule('prom-client/index.js')
    const rewritten = rewriteLazyExports(source, LAZY_EXPORTS['prom-client/index.js'])
    expect(rewritten).toContain("Object.defineProperty(exports, 'Pushgateway', { enumerable: true, get: () => require('./lib/pushgateway') });")
    expect(rewritten).not.toMatch(/^exports\.(Pushgateway|AggregatorRegistry) =/m)
  })

  it('fails when an export is not written as expected', () => {
    expect(() => rewriteLazyExports("exports.Pushgateway = 'x';", ['Pushgateway'])).toThrow(LazyExportRewriteError)
  })

  it('loads TLS and zlib only when the push-gateway client is read', async () => {
    const source = "const p = require('prom-client'); new p.Counter({ name: 'c', help: 'c', registers: [] }); const loaded = () => ['tls', 'zlib'].filter(m => process.moduleLoadList.includes('NativeModule ' + m)).join('+') || 'none'; const before = loaded(); console.log(before, typeof p.Pushgateway, loaded())"
    expect(await bundleAndRun(source, [lazyExportsPlugin()])).toBe('none function tls+zlib')
    expect(await bundleAndRun(source, [])).toBe('tls+zlib function tls+zlib')
  })
})

describe('zod in English only', () => {
  it("keeps only English of zod's locales, and zod still explains a bad value", async () => {
    const source = await nodeModule(ZOD_LOCALES_INDEX)
    expect(keepEnglishOnly(source)).toBe('export { default as en } from "./en.js";\n')
    // As the daemon imports it: ESM (require would take zod's CommonJS build).
    const check = "import { z } from 'zod'; const r = z.object({ port: z.number().int() }).safeParse({ port: 'x' }); console.log(Object.keys(z.locales).join(','), r.error.issues[0].message)"
    expect(await bundleAndRun(check, [zodEnglishPlugin()], 'entry.mjs')).toBe('en Invalid input: expected number, received string')
  })

  it('fails on an index of another shape', () => {
    expect(() => keepEnglishOnly('export { default as de } from "./de.js";\n')).toThrow(ZodLocalesRewriteError)
    expect(() => keepEnglishOnly('export { default as en } from "./en.js";\nexport * from "./all.js";\n')).toThrow(ZodLocalesRewriteError)
  })
})
