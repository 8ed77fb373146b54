import type { Plugin } from 'esbuild'
import { rewritePlugin } from './bundle-rewrite-plugin.js'

/**
 * An esbuild plugin for the daemon's bundle (scripts/bundle-daemon.mjs): kad-dht's table of
 * 65,536 precomputed key prefixes (one per 16-bit bucket prefix, read when a routing-table bucket
 * is refreshed) is packed. As an array literal it was 397 KB of the bundle's source, which the
 * heap keeps, plus a 512 KB array of it built at load. Packed, every prefix is 3 bytes of one
 * base64 string (262 KB of source) and is decoded when read; nothing else is built. The build
 * fails when the module is not a list of 65,536 integers below 2^24.
 */

export const KAD_PREFIX_LIST = '@libp2p/kad-dht/dist/src/routing-table/generated-prefix-list.js'

export class KadPrefixesRewriteError extends Error {
  override name = 'KadPrefixesRewriteError'
}

const COUNT = 65_536
const BYTES_PER_PREFIX = 3

/** The integers of `export default [ … ];`. */
function parseList (source: string, file: string): number[] {
  const match = /^export default \[([\d,\s]*)\];\s*(\/\/# sourceMappingURL=\S+\s*)?$/.exec(source)
  const values = match?.[1].split(',').map(v => v.trim()).filter(v => v !== '').map(Number) ?? []
  if (values.length !== COUNT || !values.every(v => Number.isInteger(v) && v >= 0 && v < 2 ** (8 * BYTES_PER_PREFIX))) {
    throw new KadPrefixesRewriteError(`${file}: not a list of ${COUNT} integers below 2^${8 * BYTES_PER_PREFIX}`)
  }
  return values
}

/** The module, with the same default export read through a packed string. */
export function packPrefixes (source: string, file = KAD_PREFIX_LIST): string {
  const values = parseList(source, file)
  const bytes = Buffer.alloc(COUNT * BYTES_PER_PREFIX)
  values.forEach((v, i) => bytes.writeUIntBE(v, i * BYTES_PER_PREFIX, BYTES_PER_PREFIX))
  // 3 bytes are 4 base64 characters, so prefix i is characters 4i to 4i+3.
  return `const PACKED = ${JSON.stringify(bytes.toString('base64'))};
const DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
function prefixAt (i) {
  let v = 0;
  for (let c = 4 * i; c < 4 * i + 4; c++) v = v * 64 + DIGITS.indexOf(PACKED[c]);
  return v;
}
export default new Proxy([], {
  get (target, key) {
    if (key === 'length') return ${COUNT};
    if (typeof key === 'string' && /^\\d+$/.test(key)) { const i = Number(key); return i < ${COUNT} ? prefixAt(i) : undefined; }
    return Reflect.get(target, key);
  }
});
`
}

export function kadPrefixesPlugin (): Plugin {
  return rewritePlugin('kad-prefixes', [KAD_PREFIX_LIST], (source, _file, path) => packPrefixes(source, path), KadPrefixesRewriteError)
}
