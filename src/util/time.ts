/** Time units in milliseconds, so constants read as `5 * SECOND`. */
export const MILLISECOND = 1
export const SECOND = 1000 * MILLISECOND
export const MINUTE = 60 * SECOND
export const HOUR = 60 * MINUTE
export const DAY = 24 * HOUR

/** A clock that can be replaced by fake or virtual time. */
export interface Clock {
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }
