import { Role } from '../core/federation/roles.js'
import type { CacheAuthorizer } from '../services/cache/intake.js'
import type { WriterUsage } from '../services/cache/writer-usage.js'
import type { FederationService } from '../services/federation/federation-service.js'

/** Refusal reasons (metric label values of fedmesh_cache_refused_total and `peers`). */
export const CacheRefusal = {
  NotAWriter: 'not-a-writer',
  NotKeyOwner: 'not-key-owner',
  WriterQuota: 'writer-quota'
} as const

/**
 * Who may write what to the cache, on every path an entry comes in (local writes, gossip,
 * anti-entropy, fetches): the writer (the entry's signed origin) needs the federation's
 * `cache-write` role; a key `@<peer id>/…` is owned by that peer, only it writes or deletes it;
 * and each writer stays within its quota of entries and bytes here. Over gossip the publisher is
 * the writer, so a refusal costs it; relayed entries (sync, fetch) cost the relayer nothing.
 */
export function cachePolicy (federation: () => FederationService | undefined, usage: WriterUsage): CacheAuthorizer {
  return (entry, ctx) => {
    const writer = entry.version.origin
    const blame = ctx.path === 'gossip'
    const fed = federation()
    if (fed != null && !fed.allows(writer, Role.cacheWrite)) {
      return { reason: CacheRefusal.NotAWriter, penalize: blame, detail: `${ctx.path === 'local' ? 'this node' : 'the writer'} has no cache-write role in the federation` }
    }
    const owner = ownerOf(entry.key)
    if (owner != null && owner !== writer) {
      return { reason: CacheRefusal.NotKeyOwner, penalize: blame, detail: `keys under @${owner}/ belong to that peer` }
    }
    const over = usage.overQuota(entry)
    if (over != null) return { reason: CacheRefusal.WriterQuota, penalize: false, detail: over }
    return undefined
  }
}

/** The owner of a writer-scoped key `@<peer id>/…`, or undefined for a shared key. */
export function ownerOf (key: string): string | undefined {
  if (!key.startsWith('@')) return undefined
  const slash = key.indexOf('/')
  return slash < 0 ? key.slice(1) : key.slice(1, slash)
}
