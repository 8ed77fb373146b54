/**
 * One node's memory of how every peer has behaved: a score in [-100, 100] per peer, split into
 * components so its reasons can be shown, decaying toward 0 with a half-life, with time-limited
 * bans. After lodestar's `network/peers/score/`, with the clock injected so tests and the
 * simulation drive it in fake or virtual time.
 *
 * Decay is lazy: a record holds its components as of `updatedAt` and every read multiplies by
 * 2^(-elapsed / halfLife). No timers, so the ledger needs no lifecycle and costs nothing idle.
 */
import { HOUR, MINUTE, type Clock } from '../../util/time.js'
import { ACTION_EFFECTS, REPUTATION_COMPONENTS, type ActionEffect, type ReputationAction, type ReputationComponent } from './actions.js'
import { BAN_BELOW, MAX_SCORE, MIN_SCORE, clampScore, decayFactor, scoreToState, type PeerState } from './score.js'
import { REPUTATION_SNAPSHOT_VERSION, parseReputationSnapshot, type PeerReputationRecord, type ReputationSnapshot } from './snapshot.js'

/** Scores halve every 10 minutes: a burst of faults is forgiven within the hour, a steady
 * stream is not (lodestar uses the same figure). */
export const DEFAULT_HALF_LIFE_MS = 10 * MINUTE
/** Peers remembered at once; a node connects to far fewer, so this is a bound against churn
 * (and against peer id churn by a Sybil), not a limit normal use reaches. */
export const DEFAULT_MAX_PEERS = 2_000
/** How long a ban lasts once earned, whatever the score does meanwhile. An hour outlasts the
 * decay from the floor back to "healthy" (~23 minutes), so a banned peer returns neutral. */
export const DEFAULT_BAN_MS = 1 * HOUR
/** A record whose |score| is below this and that is not banned carries no information worth
 * keeping: it is not persisted and is the first to go when the store is full. */
export const NEGLIGIBLE_SCORE = 0.5

export interface ReputationLedgerInit {
  /** Source of `now` for decay and bans. */
  clock: Clock
  /** Time for a score to halve, ms (default `DEFAULT_HALF_LIFE_MS`, 10 minutes). */
  halfLifeMs?: number
  /** Most peers kept; past it the least informative record is evicted (default 2,000). */
  maxPeers?: number
  /** Duration of a ban, ms (default `DEFAULT_BAN_MS`, 1 hour). */
  banMs?: number
  /** Overrides of the action policy, e.g. for the simulation (default `ACTION_EFFECTS`). */
  effects?: Partial<Record<ReputationAction, ActionEffect>>
}

/** Everything known about one peer's reputation, for display and for "why". */
export interface PeerReputation {
  peer: string
  score: number
  state: PeerState
  components: Record<ReputationComponent, number>
  /** Clock time (ms) the current ban ends; absent when the peer is not banned. */
  bannedUntil?: number
}

/** What `apply` changed, so the caller can act on a transition (e.g. disconnect on a new ban). */
export interface ReputationUpdate {
  peer: string
  score: number
  state: PeerState
  previousState: PeerState
}

interface PeerRecord {
  components: Record<ReputationComponent, number>
  updatedAt: number
  /** 0 when no ban was ever imposed. */
  bannedUntil: number
}

const NEUTRAL_STANDING = Object.freeze({ score: 0, state: 'healthy' as PeerState })

function zeroComponents (): Record<ReputationComponent, number> {
  return { tasks: 0, gossip: 0, promises: 0, latency: 0, operator: 0 }
}

function sum (components: Record<ReputationComponent, number>): number {
  // Indexed: routing and every task's report read it, and a for-of here allocated an iterator each time.
  let total = 0
  for (let i = 0; i < REPUTATION_COMPONENTS.length; i++) total += components[REPUTATION_COMPONENTS[i]]
  return total
}

export class ReputationLedger {
  private readonly clock: Clock
  private readonly halfLifeMs: number
  private readonly maxPeers: number
  private readonly banMs: number
  private readonly effects: Record<ReputationAction, ActionEffect>
  private readonly records = new Map<string, PeerRecord>()

  constructor (init: ReputationLedgerInit) {
    this.clock = init.clock
    this.halfLifeMs = init.halfLifeMs ?? DEFAULT_HALF_LIFE_MS
    this.maxPeers = Math.max(1, init.maxPeers ?? DEFAULT_MAX_PEERS)
    this.banMs = init.banMs ?? DEFAULT_BAN_MS
    this.effects = { ...ACTION_EFFECTS, ...init.effects }
  }

  /** Number of peers remembered. */
  get size (): number {
    return this.records.size
  }

  /**
   * Records that `peer` did `action`, `count` times. The change is booked in the action's
   * component, but only as much of it as fits in [-100, 100], so the components always add up to
   * the score. Ending below `BAN_BELOW` imposes (or extends) a ban of `banMs` from now.
   */
  apply (peer: string, action: ReputationAction, count = 1): ReputationUpdate {
    if (!Number.isFinite(count) || count < 0) {
      throw new RangeError(`reputation count must be a finite non-negative number, got ${count}`)
    }
    const effect = this.effects[action]
    if (effect === undefined) throw new RangeError(`unknown reputation action ${String(action)}`)
    const now = this.clock.now()
    const record = this.current(peer, now)
    const previousState = this.stateOf(record, now)

    const before = sum(record.components)
    let delta = effect.delta * count
    if (effect.floor !== undefined && delta < 0) {
      // Stop at the floor (a component already below it, from a restored snapshot, stays put).
      delta = Math.max(delta, Math.min(0, effect.floor - record.components[effect.component]))
    }
    const after = clampScore(before + delta)
    record.components[effect.component] += after - before
    if (after < BAN_BELOW) {
      // At least banMs, and never shorter than the score takes to decay back over the line, so
      // "banned by score" and "ban running" always agree, whatever banMs and halfLifeMs are.
      const decayBackMs = this.halfLifeMs * Math.log2(after / BAN_BELOW)
      record.bannedUntil = Math.max(record.bannedUntil, now + Math.max(this.banMs, Math.ceil(decayBackMs)))
    }
    return { peer, score: after, state: this.stateOf(record, now), previousState }
  }

  /** The peer's score now, in [-100, 100]; 0 for a peer never seen. */
  score (peer: string, now = this.clock.now()): number {
    const record = this.records.get(peer)
    if (record === undefined) return 0
    return sum(record.components) * decayFactor(now - record.updatedAt, this.halfLifeMs)
  }

  /**
   * `score` and `state` at once, with one look-up and one decay (routing reads both for every
   * candidate of every decision). A peer never seen reads as a shared neutral standing.
   */
  standing (peer: string, now = this.clock.now()): Readonly<{ score: number, state: PeerState }> {
    const record = this.records.get(peer)
    if (record === undefined) return NEUTRAL_STANDING
    const score = sum(record.components) * decayFactor(now - record.updatedAt, this.halfLifeMs)
    return { score, state: record.bannedUntil > now ? 'banned' : scoreToState(score) }
  }

  /** The score split by reason; the values add up to `score(peer)`. */
  components (peer: string, now = this.clock.now()): Record<ReputationComponent, number> {
    const out = zeroComponents()
    const record = this.records.get(peer)
    if (record === undefined) return out
    const factor = decayFactor(now - record.updatedAt, this.halfLifeMs)
    for (const name of REPUTATION_COMPONENTS) out[name] = record.components[name] * factor
    return out
  }

  /** `banned` while a ban runs (or the score is below the ban line), else by score. */
  state (peer: string, now = this.clock.now()): PeerState {
    const record = this.records.get(peer)
    return record === undefined ? 'healthy' : this.stateOf(record, now)
  }

  /** When the peer's current ban ends, or undefined when it is not banned at `now`. */
  bannedUntil (peer: string, now = this.clock.now()): number | undefined {
    const until = this.records.get(peer)?.bannedUntil ?? 0
    return until > now ? until : undefined
  }

  /** True while a ban imposed on the peer runs. */
  isBanned (peer: string, now = this.clock.now()): boolean {
    return this.bannedUntil(peer, now) !== undefined
  }

  /** Score, state, components and ban of one peer: the answer to "why this peer?". */
  describe (peer: string, now = this.clock.now()): PeerReputation {
    const out: PeerReputation = {
      peer,
      score: this.score(peer, now),
      state: this.state(peer, now),
      components: this.components(peer, now)
    }
    const until = this.bannedUntil(peer, now)
    if (until !== undefined) out.bannedUntil = until
    return out
  }

  /** The ids of every remembered peer, in no order (cheaper than `list` when states are enough). */
  peers (): IterableIterator<string> {
    return this.records.keys()
  }

  /** Every remembered peer, worst first. */
  list (now = this.clock.now()): PeerReputation[] {
    return [...this.records.keys()]
      .map(peer => this.describe(peer, now))
      .sort((a, b) => a.score - b.score || (a.peer < b.peer ? -1 : 1))
  }

  /** Forgets a peer entirely (score and ban): an operator's unban. */
  forget (peer: string): boolean {
    return this.records.delete(peer)
  }

  /** Drops records that have decayed to nothing and carry no ban; returns how many. */
  prune (now = this.clock.now()): number {
    let dropped = 0
    for (const [peer, record] of this.records) {
      if (this.isNegligible(record, now)) {
        this.records.delete(peer)
        dropped++
      }
    }
    return dropped
  }

  /** The bounded state worth persisting: every record that is not negligible, decayed to now. */
  snapshot (now = this.clock.now()): ReputationSnapshot {
    const peers: PeerReputationRecord[] = []
    for (const [peer, record] of this.records) {
      if (this.isNegligible(record, now)) continue
      const entry: PeerReputationRecord = { peer, components: this.components(peer, now), updatedAt: now }
      if (record.bannedUntil > now) entry.bannedUntil = record.bannedUntil
      peers.push(entry)
    }
    return { version: REPUTATION_SNAPSHOT_VERSION, savedAt: now, peers }
  }

  toJSON (): ReputationSnapshot {
    return this.snapshot()
  }

  /**
   * A ledger holding what `snapshot()` saved. Scores keep decaying from when they were saved, so
   * time the node was down counts; bans keep their absolute end time. Malformed records are
   * skipped; a value that is not a snapshot at all throws `ReputationSnapshotError`.
   */
  static restore (snapshot: unknown, init: ReputationLedgerInit): ReputationLedger {
    const ledger = new ReputationLedger(init)
    const now = ledger.clock.now()
    for (const saved of parseReputationSnapshot(snapshot)) {
      const components = zeroComponents()
      for (const name of REPUTATION_COMPONENTS) components[name] = saved.components[name] ?? 0
      fitIntoRange(components)
      ledger.insert(saved.peer, {
        components,
        updatedAt: Math.min(saved.updatedAt, now),
        bannedUntil: saved.bannedUntil ?? 0
      }, now)
    }
    return ledger
  }

  /** The peer's record with decay applied up to `now`, created (evicting if full) if new. */
  private current (peer: string, now: number): PeerRecord {
    let record = this.records.get(peer)
    if (record === undefined) {
      record = { components: zeroComponents(), updatedAt: now, bannedUntil: 0 }
      this.insert(peer, record, now)
      return record
    }
    const factor = decayFactor(now - record.updatedAt, this.halfLifeMs)
    for (let i = 0; i < REPUTATION_COMPONENTS.length; i++) record.components[REPUTATION_COMPONENTS[i]] *= factor
    record.updatedAt = Math.max(record.updatedAt, now)
    return record
  }

  private insert (peer: string, record: PeerRecord, now: number): void {
    this.records.delete(peer)
    while (this.records.size >= this.maxPeers) this.evictOne(now)
    this.records.set(peer, record)
  }

  /**
   * Evicts the record whose loss costs least: near-zero, old scores first; offenders are kept
   * over good peers of the same magnitude (forgetting an offender lets it start clean, forgetting
   * a good peer only costs it some credit); banned peers go last, the soonest-expiring first.
   * A linear scan: it runs only when a new peer arrives at a full store.
   */
  private evictOne (now: number): void {
    let victim: string | undefined
    let victimKey: [number, number] = [Infinity, Infinity]
    for (const [peer, record] of this.records) {
      const key = this.evictionKey(record, now)
      if (key[0] < victimKey[0] || (key[0] === victimKey[0] && key[1] < victimKey[1])) {
        victim = peer
        victimKey = key
      }
    }
    if (victim !== undefined) this.records.delete(victim)
  }

  /** [how much the record is worth keeping, tie-break]; the smallest is evicted. */
  private evictionKey (record: PeerRecord, now: number): [number, number] {
    if (record.bannedUntil > now) {
      // Above any unbanned record's worth (at most 2 * 100), ordered by ban end.
      return [1_000 + (record.bannedUntil - now) / this.banMs, 0]
    }
    const score = sum(record.components) * decayFactor(now - record.updatedAt, this.halfLifeMs)
    const worth = score < 0 ? -2 * score : score
    return [worth, record.updatedAt]
  }

  private isNegligible (record: PeerRecord, now: number): boolean {
    if (record.bannedUntil > now) return false
    const score = sum(record.components) * decayFactor(now - record.updatedAt, this.halfLifeMs)
    return Math.abs(score) < NEGLIGIBLE_SCORE
  }

  private stateOf (record: PeerRecord, now: number): PeerState {
    if (record.bannedUntil > now) return 'banned'
    return scoreToState(sum(record.components) * decayFactor(now - record.updatedAt, this.halfLifeMs))
  }
}

/** Scales components read from disk so their sum is a valid score (they normally already are). */
function fitIntoRange (components: Record<ReputationComponent, number>): void {
  // Booking only what fits keeps each component within twice the range; anything beyond is damage.
  for (const name of REPUTATION_COMPONENTS) {
    components[name] = Math.min(2 * MAX_SCORE, Math.max(2 * MIN_SCORE, components[name]))
  }
  const total = sum(components)
  if (total <= MAX_SCORE && total >= MIN_SCORE) return
  const scale = (total > 0 ? MAX_SCORE : MIN_SCORE) / total
  for (const name of REPUTATION_COMPONENTS) components[name] *= scale
}
