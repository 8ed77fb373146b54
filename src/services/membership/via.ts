/** How this node came to know a peer (CONTRACT.md `discoveredVia`). */
export type Via = 'mdns' | 'dht' | 'bootstrap' | 'inbound'

export const VIA_VALUES: readonly Via[] = ['mdns', 'dht', 'bootstrap', 'inbound']

/** Peer store metadata key under which `via` survives restarts. */
export const VIA_METADATA_KEY = 'fedmesh/via'

export function encodeVia (via: Iterable<Via>): Uint8Array {
  return new TextEncoder().encode([...via].sort().join(','))
}

/** Tolerant decoder: unknown words (from a newer version, or corruption) are dropped. */
export function decodeVia (bytes: Uint8Array | undefined): Set<Via> {
  const out = new Set<Via>()
  if (bytes == null || bytes.byteLength > 64) return out
  for (const word of new TextDecoder().decode(bytes).split(',')) {
    if ((VIA_VALUES as readonly string[]).includes(word)) out.add(word as Via)
  }
  return out
}
