/**
 * The persisted form of a reputation ledger. Plain JSON so the store can keep it under one key;
 * read back defensively, because a disk can hold anything: a malformed record is dropped rather
 * than failing the whole restore (which would also forget every ban).
 */
import { REPUTATION_COMPONENTS, type ReputationComponent } from './actions.js'

export const REPUTATION_SNAPSHOT_VERSION = 1

export interface PeerReputationRecord {
  /** Peer id string. */
  peer: string
  /** Score per component at `updatedAt`, before decay; missing components are 0. */
  components: Partial<Record<ReputationComponent, number>>
  /** Clock time (ms) the components were last brought up to date; decay runs from here. */
  updatedAt: number
  /** Clock time (ms) a ban ends, when one was imposed; kept even if the score recovers. */
  bannedUntil?: number
}

export interface ReputationSnapshot {
  version: typeof REPUTATION_SNAPSHOT_VERSION
  /** Clock time (ms) the snapshot was taken. */
  savedAt: number
  peers: PeerReputationRecord[]
}

/** The snapshot is not one this code can read at all (wrong version or not a snapshot). */
export class ReputationSnapshotError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ReputationSnapshotError'
  }
}

/** Longest peer id accepted from a snapshot; real ones are ~52 characters. */
const MAX_PEER_ID_LENGTH = 256

/**
 * Returns the valid records of a snapshot; throws `ReputationSnapshotError` only when the value
 * is not a snapshot of this version at all.
 */
export function parseReputationSnapshot (value: unknown): PeerReputationRecord[] {
  if (typeof value !== 'object' || value === null) {
    throw new ReputationSnapshotError('the reputation snapshot is not an object')
  }
  const { version, peers } = value as Partial<ReputationSnapshot>
  if (version !== REPUTATION_SNAPSHOT_VERSION) {
    throw new ReputationSnapshotError(`the reputation snapshot has version ${String(version)}; this fedmesh reads version ${REPUTATION_SNAPSHOT_VERSION}`)
  }
  if (!Array.isArray(peers)) {
    throw new ReputationSnapshotError('the reputation snapshot has no list of peers')
  }
  const records: PeerReputationRecord[] = []
  for (const raw of peers) {
    const record = parseRecord(raw)
    if (record !== undefined) records.push(record)
  }
  return records
}

function parseRecord (raw: unknown): PeerReputationRecord | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined
  const { peer, components, updatedAt, bannedUntil } = raw as Record<string, unknown>
  if (typeof peer !== 'string' || peer.length === 0 || peer.length > MAX_PEER_ID_LENGTH) return undefined
  if (!Number.isFinite(updatedAt)) return undefined
  if (bannedUntil !== undefined && !Number.isFinite(bannedUntil)) return undefined
  if (typeof components !== 'object' || components === null) return undefined
  const parsed: Partial<Record<ReputationComponent, number>> = {}
  for (const name of REPUTATION_COMPONENTS) {
    const v = (components as Record<string, unknown>)[name]
    if (v === undefined) continue
    if (typeof v !== 'number' || !Number.isFinite(v)) return undefined
    parsed[name] = v
  }
  const record: PeerReputationRecord = { peer, components: parsed, updatedAt: updatedAt as number }
  if (bannedUntil !== undefined) record.bannedUntil = bannedUntil as number
  return record
}
