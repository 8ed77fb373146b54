/**
 * Round-trip time to one peer from ping samples, for routing (DESIGN.md "Routing": ping EWMA
 * where measured, Vivaldi estimate where not).
 *
 * Two stages, because pings have two kinds of noise:
 * 1. a median of the last `windowSize` samples drops the lone outlier (a ping queued behind a
 *    burst, a GC pause) that a plain average would carry for many samples;
 * 2. an EWMA of those medians smooths the ordinary jitter that remains.
 * The first sample sets the estimate directly, so a peer has a useful value after one ping.
 */

/**
 * Samples in the median window (default 3, as Serf's latency filter): drops any single outlier and
 * costs one sample of lag on a real change. 5 would drop two in a row at three samples of lag.
 */
export const DEFAULT_RTT_WINDOW = 3
/**
 * Weight of each new filtered sample in the EWMA (default 0.3): a step change in the link is 90%
 * reflected after 8 pings (one of median lag, then 1 - 0.7^7 ≈ 92%). Much higher than TCP's 1/8
 * because TCP sees a sample per segment and we see one per ping, seconds apart.
 */
export const DEFAULT_RTT_ALPHA = 0.3
/** Samples above this are not RTTs but a stalled ping (default 60 s); they are refused. */
export const DEFAULT_MAX_RTT_SAMPLE_MS = 60_000

export interface RttEstimatorInit {
  /** See `DEFAULT_RTT_WINDOW` (default 3; 1 disables the median filter). */
  windowSize?: number
  /** See `DEFAULT_RTT_ALPHA` (default 0.3; must be in (0, 1]). */
  alpha?: number
  /** See `DEFAULT_MAX_RTT_SAMPLE_MS` (default 60 s). */
  maxSampleMs?: number
}

export class RttEstimator {
  private readonly windowSize: number
  private readonly alpha: number
  private readonly maxSampleMs: number
  /** Last `windowSize` accepted samples, oldest first. */
  private readonly window: number[] = []
  private estimate: number | undefined
  private accepted = 0
  private refused = 0

  constructor (init: RttEstimatorInit = {}) {
    this.windowSize = Math.max(1, Math.floor(init.windowSize ?? DEFAULT_RTT_WINDOW))
    this.alpha = init.alpha ?? DEFAULT_RTT_ALPHA
    this.maxSampleMs = init.maxSampleMs ?? DEFAULT_MAX_RTT_SAMPLE_MS
    if (!(this.alpha > 0 && this.alpha <= 1)) {
      throw new RangeError(`alpha must be in (0, 1], got ${this.alpha}`)
    }
  }

  /** Smoothed RTT in ms, or undefined before the first accepted sample. */
  get value (): number | undefined {
    return this.estimate
  }

  /** Samples accepted so far. */
  get samples (): number {
    return this.accepted
  }

  /** Samples refused (non-finite, negative or above `maxSampleMs`). */
  get rejected (): number {
    return this.refused
  }

  /**
   * Adds one ping sample (ms) and returns the new estimate. A sample that cannot be an RTT is
   * refused and counted in `rejected`; the estimate stays as it was.
   */
  update (sampleMs: number): number | undefined {
    if (!Number.isFinite(sampleMs) || sampleMs < 0 || sampleMs > this.maxSampleMs) {
      this.refused++
      return this.estimate
    }
    this.accepted++
    this.window.push(sampleMs)
    if (this.window.length > this.windowSize) this.window.shift()
    const filtered = median(this.window)
    this.estimate = this.estimate === undefined
      ? filtered
      : this.estimate + this.alpha * (filtered - this.estimate)
    return this.estimate
  }

  /** Forgets every sample, e.g. when the peer reconnects over a different path. */
  reset (): void {
    this.window.length = 0
    this.estimate = undefined
    this.accepted = 0
    this.refused = 0
  }
}

/** Median; for an even count the mean of the two middle values, so two samples give their mean. */
function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}
