import type { Plugin } from 'esbuild'
import { rewritePlugin } from './bundle-rewrite-plugin.js'

/**
 * An esbuild plugin for the daemon's bundle (scripts/bundle-daemon.mjs): @chainsafe/libp2p-noise
 * without WebAssembly. Its Node crypto module instantiates two AssemblyScript modules when it is
 * loaded (as-chacha20poly1305 for messages under 1,200 bytes, as-sha256), which keeps their
 * compiled code, memories and V8's WebAssembly compiler resident in every daemon. In the bundle,
 * messages under 1,200 bytes are sealed by the library's own pure-JS ChaCha20-Poly1305
 * (@noble/ciphers, loaded anyway for its handshake helpers) and hashes by `node:crypto`; larger
 * messages keep `node:crypto`, as before. The cipher is the same (RFC 8439): the wire is
 * unchanged. The build fails when the module no longer looks as expected (a new version).
 */

export const NOISE_CRYPTO_INDEX = '@chainsafe/libp2p-noise/dist/src/crypto/index.js'

export class NoiseCryptoRewriteError extends Error {
  override name = 'NoiseCryptoRewriteError'
}

/** Each piece of the module taken out, and what stands in its place. */
const REWRITES: ReadonlyArray<[RegExp, string]> = [
  [/^import \{ newInstance, ChaCha20Poly1305 \} from '@chainsafe\/as-chacha20poly1305';\n/m, ''],
  [/^import \{ digest \} from '@chainsafe\/as-sha256';\n/m, ''],
  [/^const ctx = newInstance\(\);\nconst asImpl = new ChaCha20Poly1305\(ctx\);\n/m, ''],
  // The object literal up to the first line that closes it (`};` at the start of a line).
  [/^export const asCrypto = \{\n[^]*?\n\};\n/m, `export const asCrypto = {
    hashSHA256(data) {
        return nodeCrypto.hashSHA256(data);
    },
    chaCha20Poly1305Encrypt: pureJsCrypto.chaCha20Poly1305Encrypt,
    chaCha20Poly1305Decrypt: pureJsCrypto.chaCha20Poly1305Decrypt
};
`]
]

/** libp2p-noise's Node crypto module with no WebAssembly (see above). */
export function withoutWebAssembly (source: string, file = NOISE_CRYPTO_INDEX): string {
  let out = source
  for (const [piece, replacement] of REWRITES) {
    if (!piece.test(out)) throw new NoiseCryptoRewriteError(`${file}: no ${String(piece)} to rewrite`)
    out = out.replace(piece, replacement)
  }
  // Anything else of the AssemblyScript implementations left would fail at run time instead.
  if (/\basImpl\b|\bnewInstance\b|(?<![.\w])digest\(|@chainsafe\/as-/.test(out)) throw new NoiseCryptoRewriteError(`${file}: a use of the WebAssembly crypto is left`)
  return out
}

export function noiseCryptoPlugin (): Plugin {
  return rewritePlugin('noise-crypto', [NOISE_CRYPTO_INDEX], (source, _file, path) => withoutWebAssembly(source, path), NoiseCryptoRewriteError)
}
