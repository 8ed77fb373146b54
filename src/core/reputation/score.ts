/**
 * Score arithmetic: bounds, thresholds, decay and the mapping to gossipsub. Pure functions, so
 * the ledger, the router and the simulation all read scores the same way.
 */

/** Scores are clamped into [MIN_SCORE, MAX_SCORE]. A new or forgiven peer scores 0. */
export const MAX_SCORE = 100
export const MIN_SCORE = -100

/**
 * Below this the router stops choosing the peer (it stays connected, its gossip still flows, and
 * it can earn its way back as the score decays). Crossing it takes e.g. five timeouts, three
 * invalid frames or one forgery within a few minutes: more than bad luck, less than proof of
 * malice.
 */
export const AVOID_BELOW = -20

/**
 * Below this the node disconnects the peer and refuses it for `banMs`. -60 takes two proofs of
 * malice (forged entries, wrong results) from a neutral start, or a long run of lesser faults
 * faster than they decay; honest peers on a bad link stay above it (timeouts alone would need 13
 * within a few minutes).
 */
export const BAN_BELOW = -60

export type PeerState = 'healthy' | 'avoid' | 'banned'

/** The state a score alone implies (a ledger also keeps a ban for `banMs` once it is earned). */
export function scoreToState (score: number): PeerState {
  if (score < BAN_BELOW) return 'banned'
  if (score < AVOID_BELOW) return 'avoid'
  return 'healthy'
}

export function clampScore (score: number): number {
  if (Number.isNaN(score)) return 0
  return Math.min(MAX_SCORE, Math.max(MIN_SCORE, score))
}

/**
 * The factor a score is multiplied by after `elapsedMs`: exactly one half per half-life, so
 * decay can be computed lazily at read time from the last update with no timers. A negative
 * elapsed time (clock stepped back, a snapshot from "the future") decays nothing.
 */
export function decayFactor (elapsedMs: number, halfLifeMs: number): number {
  if (!(elapsedMs > 0)) return 1
  if (!(halfLifeMs > 0)) return 0
  return 2 ** (-elapsedMs / halfLifeMs)
}

/**
 * gossipsub's peer-score thresholds with its defaults, for reference: a peer whose total score is
 * below gossipThreshold gets no gossip, below publishThreshold none of our publishes, below
 * graylistThreshold all its RPCs are ignored.
 */
export const GOSSIPSUB_DEFAULT_THRESHOLDS = { gossipThreshold: -10, publishThreshold: -50, graylistThreshold: -80 } as const

/**
 * Weight on negative scores in `toGossipsubAppScore`. With gossipsub's `appSpecificWeight: 1` and
 * its default thresholds, 1.5 puts our lines on its lines: an avoided peer (-20 → -30) gets no
 * gossip from us, and a peer at the ban line (-60 → -90) is graylisted even before the node gets
 * around to disconnecting it.
 */
export const GOSSIPSUB_NEGATIVE_WEIGHT = 1.5

/**
 * Weight on positive scores. Small on purpose: task credit says nothing about a peer's gossip,
 * so it must not be able to cancel gossipsub's own penalties for invalid deliveries; +100 is +10,
 * enough to favour good peers when gossipsub prunes or grafts its mesh.
 */
export const GOSSIPSUB_POSITIVE_WEIGHT = 0.1

/**
 * Maps a ledger score to gossipsub's application-specific score (which gossipsub multiplies by
 * `appSpecificWeight`, expected to be 1; see the weights above for why these numbers).
 */
export function toGossipsubAppScore (score: number): number {
  const s = clampScore(score)
  return s < 0 ? s * GOSSIPSUB_NEGATIVE_WEIGHT : s * GOSSIPSUB_POSITIVE_WEIGHT
}
