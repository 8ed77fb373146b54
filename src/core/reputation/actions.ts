/**
 * What a peer can do to change its reputation, and by how much.
 *
 * As in lodestar's `PeerAction`, callers report *what happened* and this table alone decides the
 * weight, so the policy is in one place and can be tuned without touching the services. Each
 * action also names the component it counts against, so a user asking "why is this peer
 * avoided?" sees e.g. `gossip -80` rather than a bare `-80`.
 *
 * Scale: scores live in [-100, 100] (see `score.ts`); the node avoids a peer below -20 and bans
 * it below -60. The deltas are chosen against those two lines:
 * - honest noise (a failed or timed-out task, a stale capacity advert) costs little, so a peer has
 *   to misbehave persistently, many times within a half-life, before it is avoided;
 * - proof of malice (a forged signature, a verified wrong result) costs 40: one gets a peer
 *   avoided, two get it banned from a neutral start, and even a peer at +100 is banned after four.
 */

/** Everything the node reports to the ledger. String values so logs and snapshots read well. */
export enum ReputationAction {
  /** A task the peer ran for us completed with a result. */
  TaskSucceeded = 'task-succeeded',
  /** A task the peer accepted ended in an error it reported (could be the task's own fault). */
  TaskFailed = 'task-failed',
  /** A task dispatched to the peer got no answer in time ("maybe executed": could be the link). */
  TaskTimedOut = 'task-timed-out',
  /** As `TaskTimedOut`, but the peer's adverts kept arriving after the request reached it and
   * showed free slots: it was up, said it was idle, and neither answered nor said the task started. */
  TaskIgnored = 'task-ignored',
  /** A result the peer returned was checked and is wrong: broken or malicious, either way avoid. */
  WrongResult = 'wrong-result',
  /** A frame from the peer did not decode or broke the protocol's schema or size limits. */
  InvalidMessage = 'invalid-message',
  /** A cache entry the peer sent carries a forged or invalid signature: deliberate, or a peer
   * relaying forgeries without checking; gossipsub's own validation makes this the sender's act. */
  ForgedEntry = 'forged-entry',
  /** The peer advertised free capacity and then refused the task it was offered. */
  BrokenPromise = 'broken-promise',
  /** The peer took markedly longer than its advertised queue and our latency estimate predicted.
   * Report it once per task that was late (the caller decides what "markedly" means). */
  SlowerThanPromised = 'slower-than-promised',
  /** An operator (or another subsystem with proof) banned the peer outright. */
  Banned = 'banned'
}

/** The groups a score is split into, so its reasons can be shown. */
export type ReputationComponent = 'tasks' | 'gossip' | 'promises' | 'latency' | 'operator'

export const REPUTATION_COMPONENTS: readonly ReputationComponent[] = ['tasks', 'gossip', 'promises', 'latency', 'operator']

export interface ActionEffect {
  /** Added to the score (before clamping into [-100, 100]). */
  delta: number
  /** Where the change is booked. */
  component: ReputationComponent
  /**
   * The action never takes its component below this (it only stops adding there). For what a
   * merely overloaded peer can be blamed for: however often it happens, it alone cannot ban.
   */
  floor?: number
}

/**
 * The policy. Positive credit is deliberately small (+1 per task): an honest busy peer reaches the
 * +100 cap only through steady work, and the credit decays like everything else, so it cannot be
 * banked for long and spent on misbehaviour.
 */
export const ACTION_EFFECTS: Readonly<Record<ReputationAction, ActionEffect>> = {
  [ReputationAction.TaskSucceeded]: { delta: 1, component: 'tasks' },
  // Failures are common and often the input's fault: ten within a few minutes are needed to avoid.
  [ReputationAction.TaskFailed]: { delta: -2, component: 'tasks' },
  // A timeout may be the network or a queue longer than the task's budget: repeated ones make
  // the peer useless for routing either way (avoided, -30 < -20), but load alone never bans it
  // (the floor; a peer that said the task runs is not charged at all, see dispatcher.ts).
  [ReputationAction.TaskTimedOut]: { delta: -5, component: 'tasks', floor: -30 },
  // Silence while up and advertising free slots (a black hole) costs twice a plain timeout:
  // three get a peer avoided; a busy peer or a dead link (adverts stop too) still costs -5. The
  // same floor: load alone never bans.
  [ReputationAction.TaskIgnored]: { delta: -10, component: 'tasks', floor: -30 },
  [ReputationAction.WrongResult]: { delta: -40, component: 'tasks' },
  // A malformed frame is either a bug or probing; not proof of malice, so well short of a ban.
  [ReputationAction.InvalidMessage]: { delta: -10, component: 'gossip' },
  [ReputationAction.ForgedEntry]: { delta: -40, component: 'gossip' },
  // Reported only for a peer that refused several times in a minute although its fresh advert
  // showed free slots (see promise-judge.ts); a truthful BUSY or QUEUE_FULL costs nothing. Load
  // alone can get a peer avoided (-30 < -20) but never banned (-60): the floor keeps it above.
  [ReputationAction.BrokenPromise]: { delta: -5, component: 'promises', floor: -30 },
  [ReputationAction.SlowerThanPromised]: { delta: -1, component: 'latency' },
  // Spans the whole range: whatever the score was, it ends at the floor and the peer is banned.
  [ReputationAction.Banned]: { delta: -200, component: 'operator' }
}

/** True for values of the enum, so actions coming from the control API can be checked. */
export function isReputationAction (value: unknown): value is ReputationAction {
  return typeof value === 'string' && Object.hasOwn(ACTION_EFFECTS, value)
}
