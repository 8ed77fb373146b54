/**
 * Hybrid logical clock (Kulkarni, Demirbas et al., "Logical Physical Clocks", 2014).
 *
 * A timestamp is (wallMs, counter): wallMs follows the physical clock when it moves forward,
 * counter orders events within one millisecond and after the physical clock stepped back. So
 * versions stay close to real time (readable, usable for TTLs and tombstone grace) while still
 * respecting causality: anything stamped after seeing a remote timestamp is greater than it.
 */
import { MINUTE } from '../util/time.js'
import type { Clock } from '../util/time.js'

export interface Timestamp {
  /** Milliseconds since the Unix epoch, an integer in 0..MAX_WALL_MS. */
  readonly wallMs: number
  /** Orders events that share a wallMs; an integer in 0..MAX_COUNTER. */
  readonly counter: number
}

/** Largest counter: the counter takes the low 16 bits of the uint64 wire form. */
export const MAX_COUNTER = 0xffff
/** Largest wallMs: the high 48 bits of the uint64 wire form (the year 10889). */
export const MAX_WALL_MS = 2 ** 48 - 1
/** How far ahead of the reference clock (by default the physical clock) a remote timestamp may be before it is refused. */
export const DEFAULT_MAX_DRIFT_MS = 1 * MINUTE

const COUNTER_RANGE = BigInt(MAX_COUNTER + 1)
const MAX_BIGINT = (BigInt(MAX_WALL_MS) + 1n) * COUNTER_RANGE - 1n

/** A remote timestamp is too far in the future to be believed. */
export class ClockDriftError extends Error {
  constructor (readonly remote: Timestamp, readonly localMs: number, readonly maxDriftMs: number) {
    super(`a remote timestamp is ${remote.wallMs - localMs} ms ahead of the local clock (at most ${maxDriftMs} ms is accepted)`)
    this.name = 'ClockDriftError'
  }
}

/** A timestamp (or its uint64 form, or a physical clock reading) is out of range. */
export class InvalidTimestampError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'InvalidTimestampError'
  }
}

export interface HybridLogicalClockInit {
  /**
   * A remote timestamp whose wallMs is more than this ahead of the reference clock is
   * refused with ClockDriftError, so one peer with a wild clock cannot drag every later version
   * into the future (under last-writer-wins its writes would then beat everyone's for as long as
   * the drift). Default 60 s: far above NTP error, far below "forever".
   */
  maxDriftMs?: number
  /**
   * The last timestamp this node issued before a restart (persist `peek()` now and then), so a
   * physical clock set back across the restart cannot make new writes lose to older ones of
   * our own. Default: (0, 0), nothing issued yet.
   */
  last?: Timestamp
  /**
   * The time remote timestamps are checked against (maxDriftMs ahead of it at most). Default: the
   * clock itself. The cache passes the mesh's time here, so a node whose clock is behind still
   * accepts its peers' versions (protocols/cache.md, "Clock skew").
   */
  reference?: Clock
}

export class HybridLogicalClock {
  private readonly clock: Clock
  private readonly reference: Clock
  private readonly maxDriftMs: number
  /** Starts at (0, 0), which is never returned: it sorts before every timestamp of this clock. */
  private last: Timestamp = { wallMs: 0, counter: 0 }

  constructor (clock: Clock, init: HybridLogicalClockInit = {}) {
    this.clock = clock
    this.reference = init.reference ?? clock
    this.maxDriftMs = init.maxDriftMs ?? DEFAULT_MAX_DRIFT_MS
    if (!(this.maxDriftMs >= 0)) throw new RangeError('maxDriftMs must be >= 0')
    if (init.last !== undefined) {
      if (!isValidTimestamp(init.last)) throw new InvalidTimestampError('the last timestamp to resume from is not valid')
      this.last = { wallMs: init.last.wallMs, counter: init.last.counter }
    }
  }

  /** Timestamp for a local event: strictly greater than every timestamp returned before. */
  now (): Timestamp {
    const physical = this.physicalNow()
    const last = this.last
    this.last = physical > last.wallMs
      ? { wallMs: physical, counter: 0 }
      : tick(last.wallMs, last.counter + 1)
    return this.last
  }

  /**
   * Merge a timestamp seen on a remote message and return the timestamp of the receive event:
   * strictly greater than both `remote` and every timestamp returned before.
   *
   * @throws InvalidTimestampError if `remote` is not a valid timestamp
   * @throws ClockDriftError if `remote` is more than maxDriftMs ahead of the reference clock
   *   (the clock is left unchanged)
   */
  receive (remote: Timestamp): Timestamp {
    this.checkDrift(remote)
    const physical = this.physicalNow()

    const last = this.last
    const wallMs = Math.max(last.wallMs, remote.wallMs, physical)
    let counter: number
    if (wallMs === last.wallMs && wallMs === remote.wallMs) counter = Math.max(last.counter, remote.counter) + 1
    else if (wallMs === last.wallMs) counter = last.counter + 1
    else if (wallMs === remote.wallMs) counter = remote.counter + 1
    else counter = 0
    this.last = tick(wallMs, counter)
    return this.last
  }

  /**
   * Throw what `receive` would throw for `remote`, without changing the clock.
   *
   * @throws InvalidTimestampError if `remote` is not a valid timestamp
   * @throws ClockDriftError if `remote` is more than maxDriftMs ahead of the reference clock
   */
  checkDrift (remote: Timestamp): void {
    if (!isValidTimestamp(remote)) throw new InvalidTimestampError('the remote timestamp is not a valid (wallMs, counter) pair')
    const reference = readMs(this.reference)
    if (remote.wallMs - reference > this.maxDriftMs) throw new ClockDriftError(remote, reference, this.maxDriftMs)
  }

  /**
   * Move the clock back to `to` (or forward). This breaks monotonicity on purpose, so only the
   * cache's re-dating calls it, after removing every version above `to` it holds (versions it
   * issued before it knew its clock was ahead, which no peer accepted).
   */
  rebase (to: Timestamp): void {
    if (!isValidTimestamp(to)) throw new InvalidTimestampError('cannot rebase onto an invalid timestamp')
    this.last = { wallMs: to.wallMs, counter: to.counter }
  }

  /** The last timestamp returned, (0, 0) before the first; does not advance the clock. */
  peek (): Timestamp {
    return this.last
  }

  private physicalNow (): number {
    return readMs(this.clock)
  }
}

function readMs (clock: Clock): number {
  const ms = Math.floor(clock.now())
  if (!Number.isFinite(ms)) throw new InvalidTimestampError('the physical clock returned a non-finite time')
  // A clock before the epoch reads as the epoch: the logical part still keeps order.
  return Math.min(Math.max(ms, 0), MAX_WALL_MS)
}

/**
 * (wallMs, counter) with counter overflow carried into wallMs: 65,536 events in one millisecond
 * move the clock 1 ms ahead of real time instead of wrapping (which would break monotonicity).
 */
function tick (wallMs: number, counter: number): Timestamp {
  if (counter <= MAX_COUNTER) return { wallMs, counter }
  if (wallMs >= MAX_WALL_MS) throw new InvalidTimestampError('the hybrid logical clock reached its largest value')
  return { wallMs: wallMs + 1, counter: 0 }
}

export function isValidTimestamp (ts: unknown): ts is Timestamp {
  if (typeof ts !== 'object' || ts === null) return false
  const { wallMs, counter } = ts as Record<string, unknown>
  return Number.isSafeInteger(wallMs) && (wallMs as number) >= 0 && (wallMs as number) <= MAX_WALL_MS &&
    Number.isSafeInteger(counter) && (counter as number) >= 0 && (counter as number) <= MAX_COUNTER
}

export function compareTimestamps (a: Timestamp, b: Timestamp): -1 | 0 | 1 {
  if (a.wallMs !== b.wallMs) return a.wallMs < b.wallMs ? -1 : 1
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1
  return 0
}

/** The uint64 wire form, wallMs * 65536 + counter: its numeric order is the timestamp order. */
export function timestampToBigInt (ts: Timestamp): bigint {
  if (!isValidTimestamp(ts)) throw new InvalidTimestampError('not a valid (wallMs, counter) timestamp')
  return BigInt(ts.wallMs) * COUNTER_RANGE + BigInt(ts.counter)
}

export function timestampFromBigInt (n: bigint): Timestamp {
  if (typeof n !== 'bigint' || n < 0n || n > MAX_BIGINT) throw new InvalidTimestampError('a timestamp must be a uint64 below 2^64')
  return { wallMs: Number(n / COUNTER_RANGE), counter: Number(n % COUNTER_RANGE) }
}
