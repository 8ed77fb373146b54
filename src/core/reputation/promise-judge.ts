/**
 * When is a peer's refusal a broken promise? Refusing work is what a busy peer must do: BUSY and
 * QUEUE_FULL are truthful answers, and adverts are up to an interval stale, so a refusal alone
 * proves nothing. A peer is only judged to break its promise when it *repeatedly* contradicts
 * its own fresh advert: it advertised free slots (or the kind) within the last `freshMs`, this
 * node's own traffic since does not explain the refusal, and that happened for `threshold`
 * different tasks within `windowMs`. Pure, with the clock injected, so the rule is unit-tested in fake time.
 *
 * What a verdict costs is the ledger's business (`BrokenPromise` has a floor above the ban line:
 * load alone never bans a peer).
 */
import { MINUTE, SECOND, type Clock } from '../../util/time.js'

export interface PromiseJudgeParams {
  /** An advert binds its sender this long after it arrived, ms. Default 1 s (the LAN advert interval). */
  freshMs: number
  /** Contradictions (of different tasks) within `windowMs` that make one broken promise. Default 5. */
  threshold: number
  /** The window those contradictions must fall in, ms. Default 1 min. */
  windowMs: number
  /** Peers tracked at most (the least recently judged go first). Default 2,000. */
  maxPeers: number
}

export const DEFAULT_PROMISE_JUDGE_PARAMS: PromiseJudgeParams = {
  freshMs: 1 * SECOND,
  threshold: 5,
  windowMs: 1 * MINUTE,
  maxPeers: 2_000
}

/** Why the peer refused. `busy` = BUSY, `full` = QUEUE_FULL, `not-served` = KIND_NOT_SERVED; `other` never counts (shutting down, a cancelled reservation). */
export type RefusalReason = 'busy' | 'full' | 'not-served' | 'other'

/** What the peer last advertised, as this node holds it. */
export interface AdvertView {
  /** When this node received the advert (clock ms). */
  receivedAtMs: number
  concurrency: number
  running: number
  queueDepth: number
  /** This node's tasks sent there since the advert, net of those answered (the advert cannot know them). */
  sentSinceAd: number
  /** The advert lists the refused task's kind. */
  servesKind: boolean
}

/** `truthful`: nothing to hold against the peer; `contradiction`: noted, not yet a broken promise. */
export type RefusalVerdict = 'truthful' | 'contradiction' | 'broken-promise'

/** Slots the advert promised free that this node's own traffic since has not used. */
export function promisedFreeSlots (ad: AdvertView): number {
  return ad.concurrency - ad.running - ad.queueDepth - Math.max(0, ad.sentSinceAd)
}

/** Does this refusal contradict the advert? Pure: the rule without the counting. */
export function contradicts (reason: RefusalReason, ad: AdvertView | undefined, now: number, freshMs: number): boolean {
  if (ad == null || reason === 'other') return false
  const age = now - ad.receivedAtMs
  if (age < 0 || age > freshMs) return false
  if (reason === 'not-served') return ad.servesKind
  return promisedFreeSlots(ad) > 0
}

/** One contradiction: when, and of which task (undefined: not known, counted on its own). */
interface Contradiction {
  at: number
  taskId: string | undefined
}

export class PromiseJudge {
  private readonly params: PromiseJudgeParams
  /** Recent contradictions per peer, oldest first (at most `threshold`). */
  private readonly contradictions = new Map<string, Contradiction[]>()

  constructor (private readonly clock: Clock, params: Partial<PromiseJudgeParams> = {}) {
    this.params = { ...DEFAULT_PROMISE_JUDGE_PARAMS, ...params }
  }

  /**
   * Judge one refusal by `peer`, given its advert as held now. A task refused again by the same
   * peer within the window (re-queued, sent there again) counts once: the repeated refusal is
   * one disagreement with the advert, and counting every bounce would let a single busy task
   * make a broken promise of a peer's honest load.
   */
  refused (peer: string, reason: RefusalReason, ad: AdvertView | undefined, taskId?: string): RefusalVerdict {
    const now = this.clock.now()
    if (!contradicts(reason, ad, now, this.params.freshMs)) return 'truthful'
    const recent = (this.contradictions.get(peer) ?? []).filter(c => now - c.at <= this.params.windowMs)
    if (taskId != null && recent.some(c => c.taskId === taskId)) {
      this.contradictions.set(peer, recent)
      return 'contradiction'
    }
    recent.push({ at: now, taskId })
    this.contradictions.delete(peer) // re-insert: Map order = least recently judged first
    if (recent.length >= this.params.threshold) return 'broken-promise'
    this.contradictions.set(peer, recent)
    while (this.contradictions.size > this.params.maxPeers) {
      const oldest = this.contradictions.keys().next().value
      if (oldest === undefined) break
      this.contradictions.delete(oldest)
    }
    return 'contradiction'
  }

  /** Contradictions held against `peer` within the window (for display and tests). */
  pending (peer: string): number {
    const now = this.clock.now()
    return (this.contradictions.get(peer) ?? []).filter(c => now - c.at <= this.params.windowMs).length
  }
}
