/**
 * fedmesh as a library: create a node, register task kinds in code, run tasks on the mesh, use
 * the replicated cache. The documents are the ones the control API and the CLI's `--json` give
 * (docs/CONTRACT.md). Task input and output follow one rule on both sides: a Uint8Array travels
 * as raw bytes, any other value as JSON (see `node.run`, `node.handle`, `node.handleJson`).
 */
export { createFederationNode } from './node/create-node.js'
export { FederationNode } from './node/federation-node.js'
export type { RunOptions } from './node/federation-node.js'
export { FedStore } from './store/store.js'
export { PROFILES, CACHE_TOPIC, KAD_PROTOCOL } from './node/config.js'
export { CAPACITY_PROTOCOL } from './services/capacity/ad-links.js'
export { TASK_PROTOCOL } from './services/tasks/task-service.js'
export type { FederationNodeConfig, ConnectionLimits, ProfileName } from './node/config.js'

// Handlers: what a task kind implemented in code receives and returns.
export type { TaskHandler, HandlerContext } from './services/tasks/handlers.js'
export type { BytesHandler, JsonHandler, Payload } from './node/task-payload.js'
export { encodePayload, decodePayload } from './node/task-payload.js'
export { TaskError } from './services/tasks/task-error.js'
export { ErrorCode } from './wire/task.js'

// Requests and documents.
export type { RunRequest } from './services/tasks/task-service.js'
export type {
  StatusDoc, StorageDoc, PeerDoc, CapacityDoc, RunDoc, TaskDoc, TaskDetailDoc, CancelDoc, RouteDoc, ServedDoc,
  CachePutDoc, CacheEntryDoc, CacheDelDoc, CacheListDoc, PingDoc, RttDoc
} from './node/documents.js'
export type { FederationStatusDoc, InviteDoc, JoinDoc, MemberDoc, RevokeDoc } from './node/federation-api.js'

export { VERSION } from './version.js'
export { NodeEvents, EVENT_TYPES } from './node/events.js'
export type { NodeEvent, EventType, EventFields, EventLevel } from './node/events.js'
export { buildInfo } from './build-info.js'
export type { BuildInfo } from './build-info.js'
