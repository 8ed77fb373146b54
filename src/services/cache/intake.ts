/**
 * The one way a cache entry gets stored. Local writes (API put/del) and entries from peers
 * (gossip, anti-entropy sessions, full resync, read-through fetch) all pass the same checks, in
 * the same order, before anything reaches the store:
 *
 *   remote: size, schema, signature → publisher/asked-key checks → skew bound → authorize →
 *           HLC receive → merge
 *   local:  write range (clock skew) → HLC stamp → sign → authorize → store (above what is held)
 *
 * The HLC receive on every remote path is what makes a local write always supersede what the
 * node holds: every version held went through the clock first. Outcomes are typed (accepted,
 * stale, refused with a reason) and counted per path, per reason, and per sending peer.
 *
 * A write made while the node knows no peer's clock has no range to check: it is stored
 * unshared (see CacheStore) until settle.ts releases or re-dates it. The intake also keeps the
 * clock's floor: the newest version received or shared, below which the clock never goes back.
 */
import { LRUCache } from 'lru-cache'
import { writeRefusal } from '../../core/cache/skew.js'
import { ClockDriftError, compareTimestamps } from '../../core/hlc.js'
import { CacheWriteRefusedError, ClockSkewError } from '../../util/errors.js'
import { InvalidEntryError, signEntry, verifyEntry } from './entry.js'
import type { CacheStore } from './cache-store.js'
import type { StoredEntry } from './entry.js'
import type { CacheTime } from '../../core/cache/skew.js'
import type { HybridLogicalClock, Timestamp } from '../../core/hlc.js'
import type { MeshTimeView } from '../../core/mesh-time.js'
import type { Logger, PeerId, PrivateKey } from '@libp2p/interface'

/** Where an entry came from. `resync`: a session run as a full resync after a long absence. */
export type IntakePath = 'local' | 'gossip' | 'sync' | 'resync' | 'fetch'
export type RemotePath = Exclude<IntakePath, 'local'>

/** Why the intake itself refuses an entry (an authorizer adds its own reasons). */
export const RefusalReason = {
  /** Undecodable, over a limit, or breaking the schema. */
  Invalid: 'invalid',
  /** The signature does not verify against the origin. */
  Forged: 'forged',
  /** Gossip published by another peer than the entry's origin. */
  NotOrigin: 'not-origin',
  /** A fetch answered with an entry for another key. */
  WrongKey: 'wrong-key',
  /** Dated further ahead of this node's reference time than the drift bound. */
  ClockSkew: 'clock-skew',
  /** Older than the tombstone horizon, for a key not held (it may be a forgotten delete). */
  BeyondHorizon: 'beyond-horizon'
} as const

export interface Refusal {
  reason: string
  /** The sender is at fault (gossip rejects the message, reputation is charged). */
  penalize: boolean
  detail: string
}

export type IntakeResult =
  | { outcome: 'accepted', entry: StoredEntry }
  | { outcome: 'stale', entry: StoredEntry }
  | { outcome: 'refused', refusal: Refusal }

/** Where an entry is being taken in from: what an authorizer gets to see. */
export interface IntakeContext {
  path: IntakePath
  /** The peer that sent the entry (for gossip its publisher, which must be its origin); absent for local writes. */
  from?: PeerId
}

/**
 * Decide whether an entry may be stored: undefined to allow, else a refusal reason (counted per
 * reason and per sending peer) and whether the sender is at fault. Called after the signature,
 * publisher and skew checks, before the clock moves or anything is stored; on local writes too
 * (a refusal then fails the write with CacheWriteRefusedError, HTTP 403). Must not throw (a throw
 * counts as a refusal, reason "authorizer-error", no penalty).
 */
export type CacheAuthorizer = (entry: StoredEntry, ctx: IntakeContext) => undefined | { reason: string, penalize: boolean, detail?: string }

/** The clock state the intake checks against, read fresh for every entry. */
export interface IntakeTime {
  view: MeshTimeView
  time: CacheTime
}

/** Counters the intake feeds (Prometheus in the daemon; see cache-metrics.ts). */
export interface IntakeCounters {
  outcome: (path: IntakePath, outcome: IntakeResult['outcome']) => void
  refused: (reason: string) => void
}

export interface CacheIntakeInit {
  store: CacheStore
  hlc: HybridLogicalClock
  time: () => IntakeTime
  maxValueBytes: number
  peerId: PeerId
  privateKey: PrivateKey
  authorize?: CacheAuthorizer
  /** A peer sent a forged entry or published another's (reputation). */
  onForged?: (peer: PeerId, why: string) => void
  /** A peer sent garbage, or an entry its authorizer refusal blames it for (reputation). */
  onInvalid?: (peer: PeerId, why: string) => void
  /** An entry became what the node holds for its key, in place of `replaced` (quota accounting). */
  onApplied?: (entry: StoredEntry, path: IntakePath, replaced?: StoredEntry) => void
  counters?: IntakeCounters
  /** The clock's floor to resume from (persisted across restarts). Default (0, 0). */
  floor?: Timestamp
  /** Peers whose refusals are counted at most (the least recently refused are forgotten). Default 1,024. */
  maxRefusingPeers?: number
  log: Logger
}

export interface LocalWrite {
  key: string
  value: Uint8Array
  ttlSeconds: number
  tombstone: boolean
}

export class CacheIntake {
  private readonly byPeer: LRUCache<string, Record<string, number>>
  private floorTs: Timestamp

  constructor (private readonly init: CacheIntakeInit) {
    this.byPeer = new LRUCache({ max: init.maxRefusingPeers ?? 1_024 })
    this.floorTs = init.floor ?? { wallMs: 0, counter: 0 }
  }

  /**
   * The newest version this node received or shared: peers may hold versions up to it, so the
   * clock must stay above it (re-dating moves the clock back no further).
   */
  get floor (): Timestamp {
    return this.floorTs
  }

  raiseFloor (ts: Timestamp): void {
    if (compareTimestamps(ts, this.floorTs) > 0) this.floorTs = ts
  }

  /**
   * Take in an entry from a peer. Never throws for anything the peer sent.
   *
   * @param expectedKey for a fetch: the key that was asked for
   */
  async receive (wire: Uint8Array, ctx: IntakeContext & { path: RemotePath, from: PeerId, publisher?: PeerId, expectedKey?: string }): Promise<IntakeResult> {
    const result = await this.check(wire, ctx)
    this.count(ctx, result)
    return result
  }

  /**
   * A local put or delete. Stamped above everything the node holds for the key and stored
   * before it resolves; refused (nothing stored, the clock unmoved) when the version would be
   * one the peers refuse. `shared` is false when the node knew no peer's clock: the entry is
   * stored unshared (not to be published).
   *
   * @throws ClockSkewError when this node's clock disagrees with its peers'
   * @throws CacheWriteRefusedError when the authorizer refuses it
   */
  async write (fields: LocalWrite): Promise<{ entry: StoredEntry, shared: boolean }> {
    const { hlc, store } = this.init
    try {
      const { entry, shared, replaced } = await store.writeLocal(fields.key, async (held) => {
        const { view, time } = this.init.time()
        // Where the next stamp will fall: checked before the clock moves.
        const last = held != null && compareTimestamps(held.version.ts, hlc.peek()) > 0 ? held.version.ts : hlc.peek()
        const refusal = writeRefusal(Math.max(time.stampFromMs, last.wallMs), time, view)
        if (refusal != null) throw new ClockSkewError(refusal)
        // The clock is above everything held (every remote version went through receive); a
        // version loaded from before a lost clock checkpoint is caught up with here.
        if (last !== hlc.peek()) hlc.rebase(last)
        const entry = await signEntry(this.init.privateKey, this.init.peerId, { ...fields, ts: hlc.now() })
        const denied = this.authorize(entry, { path: 'local' })
        if (denied != null) throw new CacheWriteRefusedError(denied.reason, denied.detail)
        return { entry, shared: time.writeRange != null }
      })
      if (shared) this.raiseFloor(entry.version.ts)
      this.count({ path: 'local' }, { outcome: 'accepted', entry })
      this.init.onApplied?.(entry, 'local', replaced)
      return { entry, shared }
    } catch (err) {
      const reason = err instanceof ClockSkewError ? RefusalReason.ClockSkew : err instanceof CacheWriteRefusedError ? err.reason : undefined
      if (reason != null) this.count({ path: 'local' }, { outcome: 'refused', refusal: { reason, penalize: false, detail: (err as Error).message } })
      throw err
    }
  }

  /** Refusals of entries sent by a peer, by reason (for `peers`). */
  refusals (peer: PeerId | string): Record<string, number> {
    return { ...this.byPeer.get(peer.toString()) }
  }

  private async check (wire: Uint8Array, ctx: IntakeContext & { from: PeerId, publisher?: PeerId, expectedKey?: string }): Promise<IntakeResult> {
    let entry: StoredEntry
    try {
      entry = await verifyEntry(wire, this.init.maxValueBytes)
    } catch (err) {
      const forged = err instanceof InvalidEntryError && err.forged
      return refused(forged ? RefusalReason.Forged : RefusalReason.Invalid, true, (err as Error).message)
    }
    // Only an origin publishes its own writes: an entry re-signed (published) by someone else is refused.
    if (ctx.publisher != null && entry.version.origin !== ctx.publisher.toString()) {
      return refused(RefusalReason.NotOrigin, true, 'published an entry whose origin is another peer')
    }
    if (ctx.expectedKey != null && entry.key !== ctx.expectedKey) {
      return refused(RefusalReason.WrongKey, true, 'answered GET with an entry for another key')
    }
    try {
      this.init.hlc.checkDrift(entry.version.ts)
    } catch (err) {
      if (err instanceof ClockDriftError) return refused(RefusalReason.ClockSkew, false, err.message)
      throw err
    }
    const denied = this.authorize(entry, { path: ctx.path, from: ctx.from })
    if (denied != null) return refused(denied.reason, denied.penalize, `refused: ${denied.detail ?? denied.reason}`)
    this.init.hlc.receive(entry.version.ts)
    this.raiseFloor(entry.version.ts)
    const merged = await this.init.store.merge(entry)
    if (merged.outcome === 'beyond-horizon') return refused(RefusalReason.BeyondHorizon, false, 'older than the tombstone horizon for a key not held')
    if (merged.outcome === 'stale') return { outcome: 'stale', entry }
    this.init.onApplied?.(entry, ctx.path, merged.replaced)
    return { outcome: 'accepted', entry }
  }

  private authorize (entry: StoredEntry, ctx: IntakeContext): { reason: string, penalize: boolean, detail?: string } | undefined {
    if (this.init.authorize == null) return undefined
    try {
      return this.init.authorize(entry, ctx)
    } catch (err) {
      this.init.log.error('cache authorizer threw - %e', err)
      return { reason: 'authorizer-error', penalize: false }
    }
  }

  private count (ctx: IntakeContext, result: IntakeResult): void {
    this.init.counters?.outcome(ctx.path, result.outcome)
    if (result.outcome !== 'refused') return
    const { reason, penalize, detail } = result.refusal
    this.init.counters?.refused(reason)
    if (ctx.from == null) return
    const id = ctx.from.toString()
    const counts = this.byPeer.get(id) ?? {}
    counts[reason] = (counts[reason] ?? 0) + 1
    this.byPeer.set(id, counts)
    this.init.log('refused a cache entry from %p (%s): %s', ctx.from, ctx.path, detail)
    if (!penalize) return
    if (reason === RefusalReason.Forged || reason === RefusalReason.NotOrigin) this.init.onForged?.(ctx.from, detail)
    else this.init.onInvalid?.(ctx.from, detail)
  }
}

function refused (reason: string, penalize: boolean, detail: string): IntakeResult {
  return { outcome: 'refused', refusal: { reason, penalize, detail } }
}
