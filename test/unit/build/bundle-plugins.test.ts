import { spawnSync } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { build } from 'esbuild'
import { afterAll, describe, expect, it } from 'vitest'
import { KAD_PREFIX_LIST, KadPrefixesRewriteError, kadPrefixesPlugin, packPrefixes } from '../../../scripts/bundle-kad-prefixes.js'
import { LazyExportRewriteError, LAZY_EXPORTS, lazyExportsPlugin, rewriteLazyExports } from '../../../scripts/bundle-lazy-exports.js'
import { MORTICE_NODE, MorticeRewriteError, morticeSinglePlugin, singleProcessFirst } from '../../../scripts/bundle-mortice-single.js'
import { NOISE_CRYPTO_INDEX, NoiseCryptoRewriteError, noiseCryptoPlugin, withoutWebAssembly } from '../../../scripts/bundle-noise-crypto.js'
import { ORDINAL_COMPARE_FILES, OrdinalCompareRewriteError, ordinalCompare, ordinalComparePlugin, rewriteLocaleCompare } from '../../../scripts/bundle-ordinal-compare.js'
import { keepEnglishOnly, ZOD_LOCALES_INDEX, ZodLocalesRewriteError, zodEnglishPlugin } from '../../../scripts/bundle-zod-english.js'
import { ROOT, stopAll, tempDir } from '../../helpers/daemon.js'

/**
 * The daemon bundle's library rewrites (scripts/bundle-daemon.mjs), on the installed
 * libraries: libp2p's localeCompare sorts become ordinal, prom-client's push-gateway client loads
 * only when read, zod keeps English only, Noise instantiates no WebAssembly, mortice's
 * single-process locks leave cluster and worker threads alone, kad-dht's prefix table is packed;
 * each fails loudly when the library no longer looks as expected.
 * test/integration/idle-footprint.test.ts checks the real daemon bundle.
 */

afterAll(stopAll) // removes the temporary bundles

const nodeModule = async (file: string): Promise<string> => readFile(join(ROOT, 'node_modules', file), 'utf8')

/** Bundle `source` (CommonJS, or ESM as `entry.mjs`, resolved from the repository) with `plugins`; run it with `args`, return stdout. */
async function bundleAndRun (source: string, plugins: Parameters<typeof build>[0]['plugins'], entry = 'entry.cjs', args: string[] = []): Promise<string> {
  const dir = await tempDir('fedmesh-bundle-test-')
  await writeFile(join(dir, entry), source)
  const outfile = join(dir, 'out.cjs')
  await build({ entryPoints: [join(dir, entry)], nodePaths: [join(ROOT, 'node_modules')], outfile, bundle: true, platform: 'node', format: 'cjs', logLevel: 'silent', plugins })
  const run = spawnSync(process.execPath, [outfile, ...args], { encoding: 'utf8' })
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

describe('Noise without WebAssembly', () => {
  it("takes libp2p-noise's AssemblyScript crypto out and leaves none", async () => {
    const source = await nodeModule(NOISE_CRYPTO_INDEX)
    expect(source).toContain('@chainsafe/as-chacha20poly1305')
    const rewritten = withoutWebAssembly(source)
    expect(rewritten).not.toMatch(/@chainsafe\/as-|newInstance|asImpl/)
    expect(rewritten).toContain('export const defaultCrypto = {')
  })

  it('fails on a module of another shape', () => {
    expect(() => withoutWebAssembly('export const asCrypto = {}\n')).toThrow(NoiseCryptoRewriteError)
  })

  it('seals and opens exactly as the WebAssembly and node:crypto ciphers do, and instantiates no WebAssembly', async () => {
    // Every size around the 1,200-byte switch, against both of the library's own implementations (unbundled).
    // (Counting starts before the module is loaded: a dynamic import, in an async function as CommonJS has no top-level await.)
    const check = `void (async () => {
let instances = 0; const Instance = WebAssembly.Instance; WebAssembly.Instance = function (...a) { instances++; return new Instance(...a) }
const { defaultCrypto } = await import('@chainsafe/libp2p-noise/crypto')
const vectors = JSON.parse(process.argv[2]).map(v => v.map(h => Buffer.from(h, 'hex')))
let same = 0
for (const [pt, nonce, ad, k, asSealed, nodeSealed] of vectors) {
  const sealed = Buffer.from(defaultCrypto.chaCha20Poly1305Encrypt(pt, nonce, ad, k).subarray())
  const opened = Buffer.from(defaultCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, k).subarray())
  if (sealed.equals(asSealed) && sealed.equals(nodeSealed) && opened.equals(pt)) same++
}
const forged = Buffer.from(vectors[0][4]); forged[0] ^= 1
let refused = false; try { defaultCrypto.chaCha20Poly1305Decrypt(forged, vectors[0][1], vectors[0][2], vectors[0][3]) } catch { refused = true }
console.log(same, vectors.length, refused, Buffer.from(defaultCrypto.hashSHA256(Buffer.from('abc'))).toString('hex').slice(0, 8), instances)
})()`
    const { asCrypto, nodeCrypto } = await import('@chainsafe/libp2p-noise/crypto')
    const { randomBytes } = await import('node:crypto')
    const vectors = [0, 1, 64, 300, 1199, 1200, 1201, 4000].map(size => {
      const [pt, nonce, ad, k] = [randomBytes(size), randomBytes(12), randomBytes(32), randomBytes(32)]
      return [pt, nonce, ad, k, asCrypto.chaCha20Poly1305Encrypt(pt, nonce, ad, k), nodeCrypto.chaCha20Poly1305Encrypt(pt, nonce, ad, k)].map(b => Buffer.from(b.subarray()).toString('hex'))
    })
    expect(await bundleAndRun(check, [noiseCryptoPlugin()], 'entry.mjs', [JSON.stringify(vectors)])).toBe('8 8 true ba7816bf 0')
    expect(await bundleAndRun(check, [], 'entry.mjs', [JSON.stringify(vectors)])).toMatch(/^8 8 true ba7816bf [1-9]/)
  })
})

describe('mortice for one process', () => {
  it('loads cluster and worker threads only for a lock that is not single-process', async () => {
    const source = await nodeModule(MORTICE_NODE)
    const rewritten = singleProcessFirst(source)
    expect(rewritten).not.toMatch(/^import (cluster|worker) from/m)
    expect(() => singleProcessFirst('export default () => {}')).toThrow(MorticeRewriteError)
    // As libp2p's peer store takes its per-peer locks.
    const check = "import mortice from 'mortice'; const loaded = () => ['cluster', 'worker_threads'].filter(m => process.moduleLoadList.includes('NativeModule ' + m)).join('+') || 'none'; void (async () => { const lock = mortice({ name: 'p', singleProcess: true }); const order = []; const r1 = await lock.writeLock(); const p2 = lock.readLock().then(r => { order.push('read'); r() }); order.push('write'); r1(); await p2; console.log(loaded(), order.join(',')) })()"
    expect(await bundleAndRun(check, [morticeSinglePlugin()], 'entry.mjs')).toBe('none write,read')
    expect(await bundleAndRun(check, [], 'entry.mjs')).toBe('cluster+worker_threads write,read')
  })
})

describe("kad-dht's key prefixes packed", () => {
  it('reads back every one of the 65,536 prefixes, and keeps no array literal', async () => {
    const source = await nodeModule(KAD_PREFIX_LIST)
    const original = (await import(join(ROOT, 'node_modules', KAD_PREFIX_LIST))).default as number[]
    const packed = packPrefixes(source)
    expect(packed).not.toMatch(/\d+, \d+/)
    expect(packed.length).toBeLessThan(source.length * 0.7)
    // As kad-dht's refresh reads it: by index.
    const check = `import list from ${JSON.stringify(join(ROOT, 'node_modules', KAD_PREFIX_LIST))}; const out = []; for (let i = 0; i < list.length; i++) out.push(list[i]); console.log(JSON.stringify(out))`
    expect(JSON.parse(await bundleAndRun(check, [kadPrefixesPlugin()], 'entry.mjs'))).toEqual(original)
  })

  it('fails on a list of another shape', () => {
    expect(() => packPrefixes('export default [1, 2, 3];\n')).toThrow(KadPrefixesRewriteError)
    expect(() => packPrefixes(`export default [${Array.from({ length: 65_536 }, () => 2 ** 24).join(', ')}];\n`)).toThrow(KadPrefixesRewriteError)
  })
})
