import { formatVersion } from '../services/cache/entry.js'
import type { CacheEntryDoc, CapacityDoc, CoordinateDoc, PeerDoc, RouteDoc, RunDoc, ServedDoc, TaskDetailDoc, TaskDoc } from './documents.js'
import type { StoredEntry } from '../services/cache/entry.js'
import type { ReputationState, RttSource, ScoredCandidate } from '../core/routing/score.js'
import type { CapacityEntry } from '../services/capacity/capacity-table.js'
import type { KnownPeer } from '../services/membership/index.js'
import type { ExecutionEntry } from '../store/execution-log.js'
import type { TaskLookup } from '../services/tasks/task-service.js'
import type { TaskRecord } from '../store/task-journal.js'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Coordinate } from '../core/vivaldi.js'
import { decodePayload } from './task-payload.js'
import { outputBytes } from '../services/tasks/task-outcome.js'

/** Internal state → the stable documents of CONTRACT.md. */

export function capacityDoc (e: CapacityEntry): CapacityDoc {
  const a = e.ad
  return {
    cores: a.cores, freeMemoryMb: a.freeMemoryMb, load: Number(a.load.toFixed(2)), queueDepth: a.queueDepth, running: a.running, concurrency: a.concurrency, kinds: a.kinds,
    ...(a.paused === true ? { paused: true } : {}),
    ...(a.servingReason != null ? { servingReason: a.servingReason } : {})
  }
}

/** A coordinate as documents show it: ms to 0.01. */
export function coordinateDoc (c: Pick<Coordinate, 'vec' | 'height' | 'error'>): CoordinateDoc {
  return { vec: c.vec.map(v => round(v, 2)), height: round(c.height, 2), error: round(c.error, 3) }
}

export function toPeerDoc (p: {
  known: KnownPeer
  now: number
  addresses: Multiaddr[]
  connected: boolean
  connection?: 'direct' | 'relayed' | null
  capacity?: CapacityEntry
  rtt?: { rttMs: number, source: RttSource }
  reputation: { score: number, state: ReputationState, components?: Record<string, number> }
}): PeerDoc {
  return {
    peerId: p.known.id.toString(),
    name: p.capacity?.ad.name ?? '',
    addresses: [...new Set(p.addresses.map(String))],
    connected: p.connected,
    connection: p.connected ? (p.connection ?? 'direct') : null,
    discoveredVia: [...p.known.via].sort(),
    rttMs: p.rtt != null ? round(p.rtt.rttMs, 2) : null,
    capacity: p.capacity != null ? capacityDoc(p.capacity) : null,
    reputation: round(p.reputation.score, 1),
    reputationState: p.reputation.state,
    ...(p.reputation.components != null
      ? { reputationComponents: Object.fromEntries(Object.entries(p.reputation.components).map(([k, v]) => [k, round(v, 1)])) }
      : {}),
    lastSeenMs: sinceLastSeen(p.connected, p.known.lastSeenMs, p.now),
    ...(p.capacity?.ad.coordinate != null ? { coordinate: coordinateDoc(p.capacity.ad.coordinate) } : {})
  }
}

/** `lastSeenMs` of a peer document: 0 while connected, null when never heard from (time 0 = never). */
export function sinceLastSeen (connected: boolean, lastSeenAt: number | undefined, now: number): number | null {
  if (connected) return 0
  if (lastSeenAt == null || lastSeenAt <= 0) return null
  return Math.max(0, now - lastSeenAt)
}

/** JSON when the bytes parse as JSON, else the UTF-8 text; empty → null. */
export function decodeJson (bytes: Uint8Array): unknown {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
  if (text === '') return null
  try { return JSON.parse(text) } catch { return text }
}

export function toTaskDoc (r: TaskRecord): TaskDoc {
  return {
    taskId: r.taskId,
    kind: r.kind,
    status: r.status,
    peer: r.peer,
    attempts: r.attempts,
    durationMs: r.durationMs,
    submittedAt: r.submittedAt,
    ...(r.status === 'error' ? { errorCode: r.errorCode, error: r.error } : {})
  }
}

/** A task found by id: still queued or running (from its journal record), or finished. */
export function toTaskDetailDoc (found: TaskLookup, now: number): TaskDetailDoc {
  if (found.state === 'finished') {
    const r = found.result
    return { ...toTaskDoc(r), ...outputOf(r) }
  }
  const r = found.record
  return {
    taskId: r.taskId,
    kind: r.kind,
    status: found.state,
    peer: '',
    attempts: 0,
    durationMs: Math.max(0, now - r.submittedAt),
    submittedAt: r.submittedAt,
    timeoutMs: r.timeoutMs,
    ...(r.peer != null ? { pinnedPeer: r.peer } : {}),
    output: null
  }
}

/** The `run` document: the task document without its submission time, with the output. */
export function toRunDoc (r: TaskRecord): RunDoc {
  // Built field by field (one per task run through the library): no rest or spread copies.
  const base = { taskId: r.taskId, kind: r.kind, status: r.status, peer: r.peer, attempts: r.attempts, durationMs: r.durationMs }
  if (r.status === 'error') return { ...base, errorCode: r.errorCode, error: r.error, output: null }
  const { output, outputBase64 } = outputOf(r)
  return outputBase64 == null ? { ...base, output } : { ...base, output, outputBase64 }
}

/** A finished task's output as documents carry it (null unless it succeeded). */
function outputOf (r: TaskRecord): { output: unknown, outputBase64?: string } {
  return r.status === 'ok' ? decodePayload(outputBytes(r)) : { output: null }
}

/** A run on this node: finished (ok/error), running, or cut by a crash (error INTERRUPTED). */
export function toServedDoc (e: ExecutionEntry, now: number): ServedDoc {
  const base = { taskId: e.taskId, kind: e.kind, origin: e.origin, startedAt: e.startedAt }
  if (e.interrupted === true) return { ...base, runMs: 0, status: 'error', errorCode: 'INTERRUPTED' }
  if (e.error == null) return { ...base, runMs: Math.max(0, now - e.startedAt), status: 'running' }
  return { ...base, runMs: e.runMs ?? 0, status: e.error === 'NONE' ? 'ok' : 'error', ...(e.error === 'NONE' ? {} : { errorCode: e.error }) }
}

export function toRouteDoc (c: ScoredCandidate): RouteDoc {
  return {
    peerId: c.peerId,
    local: c.local,
    score: Number.isFinite(c.score) ? round(c.score, 1) : null,
    load: c.load,
    queueWaitMs: round(c.queueWaitMs, 1),
    rttMs: round(c.rttMs, 2),
    rttSource: c.rttSource,
    dialMs: round(c.dialMs, 1),
    runMs: round(c.runMs, 1),
    reputation: round(c.reputation, 1),
    reputationPenaltyMs: round(c.reputationPenaltyMs, 1),
    eligible: c.eligible,
    reason: c.reason
  }
}

function round (v: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(v * f) / f
}

/** Cache values are JSON documents stored as UTF-8 bytes. */
export function encodeValue (value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value ?? null))
}

export function toCacheEntryDoc (e: StoredEntry): CacheEntryDoc {
  return {
    key: e.key,
    value: decodeJson(e.value),
    version: formatVersion(e.version),
    origin: e.version.origin,
    updatedAt: new Date(e.version.ts.wallMs).toISOString(),
    ...(e.expiresAtMs != null ? { expiresAt: new Date(e.expiresAtMs).toISOString() } : {})
  }
}
