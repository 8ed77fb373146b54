import { NotFoundCliError, UsageError } from './errors.js'
import { shortId } from './format.js'
import type { ApiClient } from './client.js'
import type { PeerDoc, StatusDoc } from '../node/documents.js'

/** A peer as the user may name it: this node or a known peer. */
export interface PeerChoice { peerId: string, name: string, self: boolean }

/**
 * What `--peer X` (and `ping X`, `rtt X`) means, in this order: a whole peer id; a name; the
 * short form tables print (`12D3Ko…XYZ123`); a unique prefix or suffix of an id; a unique start
 * of a name. Pure, so the
 * rules are unit-tested; `resolvePeer` feeds it this node and the peers it knows.
 */
export function matchPeer (text: string, choices: PeerChoice[]): PeerChoice {
  const given = text.trim()
  if (given === '') throw new UsageError('a peer is a name, a peer id, or a unique part of one (see: fedmesh peers)')
  const exact = choices.find(c => c.peerId === given)
  if (exact != null) return exact
  const ends = shortForm(given)
  const tiers: Array<(c: PeerChoice) => boolean> = [
    c => c.name === given,
    c => ends != null && c.peerId.startsWith(ends[0]) && c.peerId.endsWith(ends[1]),
    c => c.peerId.startsWith(given),
    c => c.peerId.endsWith(given),
    c => c.name.startsWith(given)
  ]
  for (const matches of tiers) {
    const found = unique(choices.filter(matches))
    if (found.length === 1) return found[0]
    if (found.length > 1) {
      const list = found.slice(0, 5).map(c => `${shortId(c.peerId)}${c.name !== '' ? ` (${c.name})` : ''}`).join(', ')
      throw new UsageError(`"${given}" matches ${found.length} peers: ${list}${found.length > 5 ? ', …' : ''}; give more of the id`)
    }
  }
  // A whole id this node does not know (yet): the daemon says what it makes of it.
  if (/^(12D3Koo|Qm)[1-9A-HJ-NP-Za-km-z]{38,}$/.test(given)) return { peerId: given, name: '', self: false }
  throw new NotFoundCliError(`no peer matches "${given}" (by name, id, or the start or end of either; see: fedmesh peers)`)
}

/** `12D3Ko…XYZ123` (or with `...`) → its two ends. */
function shortForm (text: string): [string, string] | undefined {
  // \u2026 is "…", escaped: one non-Latin-1 character in the daemon's bundle makes V8 hold its
  // whole source (2.4 MB) as a two-byte string (scripts/bundle-daemon.mjs).
  const m = /^([^.\u2026]+)(?:\u2026|\.\.\.)([^.\u2026]+)$/.exec(text)
  return m == null ? undefined : [m[1], m[2]]
}

function unique (found: PeerChoice[]): PeerChoice[] {
  return [...new Map(found.map(c => [c.peerId, c])).values()]
}

/** Resolve a peer argument against this node and the peers it knows. */
export async function resolvePeer (client: ApiClient, text: string): Promise<PeerChoice> {
  const [status, peers] = await Promise.all([
    client.request<StatusDoc>('GET', '/v1/status'),
    client.request<PeerDoc[]>('GET', '/v1/peers')
  ])
  return matchPeer(text, [
    { peerId: status.peerId, name: status.name, self: true },
    ...peers.map(p => ({ peerId: p.peerId, name: p.name, self: false }))
  ])
}
