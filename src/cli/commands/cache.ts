import { formatCacheEntry, formatCacheList } from '../format.js'
import { printResult, withClientOptions } from '../output.js'
import { nonEmpty, notFoundAs, UsageError } from '../errors.js'
import type { CommonOptions } from '../output.js'
import type { CacheDelDoc, CacheEntryDoc, CacheListDoc, CachePutDoc } from '../../node/documents.js'
import type { Command } from 'commander'

/** The key's endpoint; an empty KEY is a usage error before any request. */
const path = (key: string): string => `/v1/cache/${encodeURIComponent(nonEmpty('KEY', key))}`

export function registerCacheCommands (program: Command): void {
  const cache = program.command('cache').description('the replicated cache: put, get, del, ls')
  withClientOptions(cache.command('put <key> <value>').description('write a value (a string, or JSON with --json-value); it replicates to every peer'))
    .option('--ttl <seconds>', 'expire after this many seconds')
    .option('--json-value', 'parse VALUE as JSON instead of storing it as a string')
    .action(async (key: string, value: string, opts: CommonOptions & { ttl?: string, jsonValue?: boolean }) => {
      let parsed: unknown = value
      if (opts.jsonValue === true) {
        try { parsed = JSON.parse(value) } catch { throw new UsageError(`VALUE is not valid JSON: ${value}`) }
      }
      const ttlSeconds = opts.ttl != null ? Number(opts.ttl) : undefined
      if (ttlSeconds != null && (!Number.isInteger(ttlSeconds) || ttlSeconds < 0)) throw new UsageError('--ttl must be a whole number of seconds')
      const at = path(key)
      await printResult(opts, async c => c.request<CachePutDoc>('PUT', at, { value: parsed, ttlSeconds }), d => `${d.key} = version ${d.version} by ${d.origin}`)
    })
  withClientOptions(cache.command('get <key>').description('read a value (from memory, disk, or peers); exit 4 when nobody has it'))
    .action(async (key: string, opts: CommonOptions) => {
      const at = path(key)
      await printResult(opts, async c => c.request<CacheEntryDoc>('GET', at), formatCacheEntry).catch(notFoundAs(`not found: ${key}`))
    })
  withClientOptions(cache.command('del <key>').description('delete a key (a tombstone that replicates); exit 4, nothing written, when nobody has it'))
    .action(async (key: string, opts: CommonOptions) => {
      const at = path(key)
      await printResult(opts, async c => c.request<CacheDelDoc>('DELETE', at), d => `${d.key} deleted (version ${d.version})`).catch(notFoundAs(`not found: ${key}`))
    })
  withClientOptions(cache.command('ls').description('list live entries'))
    .option('--prefix <prefix>', 'only keys starting with this')
    .option('--limit <n>', 'at most this many (default 1000)')
    .action(async (opts: CommonOptions & { prefix?: string, limit?: string }) => {
      const q = new URLSearchParams()
      if (opts.prefix != null) q.set('prefix', opts.prefix)
      if (opts.limit != null) q.set('limit', opts.limit)
      const qs = q.size > 0 ? `?${q.toString()}` : ''
      await printResult(opts, async c => c.request<CacheListDoc[]>('GET', `/v1/cache${qs}`), formatCacheList)
    })
}
