/** `/fedmesh/cache-sync/1.0.0`: anti-entropy and L3 fetch for the replicated cache (protocols/cache-sync.md). */
import { CacheSyncService } from './cache-sync-service.js'
import type { CacheSyncComponents, CacheSyncInit } from './cache-sync-service.js'

export { CACHE_SYNC_PROTOCOL, CacheSyncService, DEFAULT_FETCH_PEERS, DEFAULT_RECONCILER, DEFAULT_MAX_ENTRIES_BYTES_PER_MESSAGE, DEFAULT_MAX_PENDING_IMPORT_BYTES, DEFAULT_MAX_SESSIONS, DEFAULT_SESSION_TIMEOUT_MS, DEFAULT_SYNC_INTERVAL_MS } from './cache-sync-service.js'
export type { CacheSyncComponents, CacheSyncInit, CacheSyncStats, SyncableCache, SyncStore } from './cache-sync-service.js'
export { MAX_ENTRIES_PER_MESSAGE, MAX_SYNC_MESSAGE_BYTES, decodeFrame, encodeFrame, maxEntryBytes, maxMessageBytes } from './codec.js'
export type { SyncFrame } from './codec.js'
export { InvalidSyncMessageError, SessionIncompleteError, SyncBusyError } from './errors.js'
export { LAST_SYNC_KEY } from './full-resync.js'
export type { SessionResult, SessionRole } from './session.js'

export function cacheSync (init: CacheSyncInit): (components: CacheSyncComponents) => CacheSyncService {
  return (components) => new CacheSyncService(components, init)
}
