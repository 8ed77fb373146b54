/**
 * A small sketch of one kind's observed run times: counts in log-spaced buckets (each a quarter
 * octave, so a quantile is within about 19 % of the true value), 1 ms to about 9 hours, in a
 * fixed array. Recent runs count more: every `halfLife` runs, all counts halve (workloads change;
 * an old burst of long builds must not set the patience forever). Pure: no clock, no I/O.
 *
 * The dispatcher reads a high quantile of it as the time a run may take there, so an attempt
 * queued behind a long run is not given up on before a long run could end (heavy-tailed kinds:
 * builds, tests, inference), while a kind whose runs are all short keeps the short patience.
 */

/** Buckets per doubling. */
const PER_OCTAVE = 4
const BUCKETS = 25 * PER_OCTAVE
const LOG2_STEP = 1 / PER_OCTAVE

export interface RunTimeSketchParams {
  /** Runs after which every count halves. Default 512. */
  halfLife: number
}

export const DEFAULT_RUN_TIME_SKETCH_PARAMS: RunTimeSketchParams = { halfLife: 512 }

export class RunTimeSketch {
  private readonly counts = new Float64Array(BUCKETS)
  /** Per bucket: counts from it up, and counts × bucket middle from it up (made when read). */
  private readonly countAbove = new Float64Array(BUCKETS + 1)
  private readonly middleSumAbove = new Float64Array(BUCKETS + 1)
  private sumsStale = true
  private total = 0
  private sinceHalving = 0
  private runs = 0

  constructor (private readonly params: RunTimeSketchParams = DEFAULT_RUN_TIME_SKETCH_PARAMS) {}

  /** Runs recorded (before decay). */
  get samples (): number {
    return this.runs
  }

  add (runMs: number): void {
    if (!Number.isFinite(runMs) || runMs < 0) return
    this.counts[bucketOf(runMs)]++
    this.sumsStale = true
    this.total++
    this.runs++
    if (++this.sinceHalving >= this.params.halfLife) {
      this.sinceHalving = 0
      for (let i = 0; i < BUCKETS; i++) this.counts[i] /= 2
      this.total /= 2
    }
  }

  /** The run time below which a share `q` (0-1) of the recent runs ended, ms (the bucket's upper edge); undefined before any run. */
  quantile (q: number): number | undefined {
    if (this.total === 0) return undefined
    const target = Math.min(1, Math.max(0, q)) * this.total
    let seen = 0
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]
      if (seen >= target && this.counts[i] > 0) return upperEdge(i)
    }
    return upperEdge(BUCKETS - 1)
  }

  /**
   * How much longer a run that has lasted `ageMs` is expected to take, ms: the mean of (t − age)
   * over the recent runs longer than `ageMs` (each bucket at its geometric middle, the age's own
   * bucket by the part above the age). Undefined when no recent run lasted that long. For
   * heavy-tailed kinds it grows with the age; for memoryless ones it stays near the mean.
   */
  meanResidualMs (ageMs: number): number | undefined {
    if (this.sumsStale) this.sumAbove()
    const age = Math.max(0, ageMs)
    const first = bucketOf(age)
    const upper = upperEdge(first)
    const lower = first === 0 ? 0 : upperEdge(first - 1)
    // The part of the age's own bucket above the age, at its middle; the buckets above whole.
    const share = Math.max(0, (upper - age) / (upper - lower))
    const own = this.counts[first] * share
    const above = this.countAbove[first + 1]
    const weight = own + above
    const sum = own * ((upper - age) / 2) + this.middleSumAbove[first + 1] - age * above
    return weight > 0 ? sum / weight : undefined
  }

  /** Counts (and counts × bucket middles) from each bucket up: a residual is then O(1). */
  private sumAbove (): void {
    this.countAbove[BUCKETS] = 0
    this.middleSumAbove[BUCKETS] = 0
    for (let i = BUCKETS - 1; i >= 0; i--) {
      this.countAbove[i] = this.countAbove[i + 1] + this.counts[i]
      this.middleSumAbove[i] = this.middleSumAbove[i + 1] + this.counts[i] * MIDDLES[i]
    }
    this.sumsStale = false
  }
}

/** Bucket 0 holds [0, 1 ms); bucket i ≥ 1 holds [2^((i-1)/4), 2^(i/4)) ms. */
function bucketOf (ms: number): number {
  if (ms < 1) return 0
  return Math.min(BUCKETS - 1, 1 + Math.floor(Math.log2(ms) / LOG2_STEP))
}

function upperEdge (bucket: number): number {
  return 2 ** (bucket * LOG2_STEP)
}

/** Each bucket's geometric middle, ms (bucket 0: 0.5). */
const MIDDLES = Float64Array.from({ length: BUCKETS }, (_, i) => i === 0 ? 0.5 : Math.sqrt(upperEdge(i) * upperEdge(i - 1)))

/**
 * One sketch per kind, at most `maxKinds` of them (the kind seen least recently goes first: kinds
 * are names any submitter may use).
 */
export class RunTimesByKind {
  private readonly sketches = new Map<string, RunTimeSketch>()
  /** The kind added last (the Map's last key): adding it again moves nothing. */
  private newest: string | undefined

  constructor (private readonly maxKinds = 256, private readonly params: RunTimeSketchParams = DEFAULT_RUN_TIME_SKETCH_PARAMS) {}

  add (kind: string, runMs: number): void {
    let sketch = this.sketches.get(kind)
    if (sketch == null) {
      if (this.sketches.size >= this.maxKinds) this.sketches.delete(this.sketches.keys().next().value as string)
      sketch = new RunTimeSketch(this.params)
      this.sketches.set(kind, sketch)
    } else if (kind !== this.newest) {
      // Least recently seen goes first: move it to the end (a delete and a set per run of a
      // kind that is already last would make the Map rehash every few runs).
      this.sketches.delete(kind)
      this.sketches.set(kind, sketch)
    }
    this.newest = kind
    sketch.add(runMs)
  }

  /** `kind`'s expected further run time at `ageMs` (RunTimeSketch.meanResidualMs) once it has `minSamples` runs, else undefined. */
  meanResidualMs (kind: string, ageMs: number, minSamples = 20): number | undefined {
    const sketch = this.sketches.get(kind)
    return sketch != null && sketch.samples >= minSamples ? sketch.meanResidualMs(ageMs) : undefined
  }

  /** A quantile of `kind`'s recent run times once it has `minSamples` runs, else undefined. */
  quantile (kind: string, q: number, minSamples = 20): number | undefined {
    const sketch = this.sketches.get(kind)
    return sketch != null && sketch.samples >= minSamples ? sketch.quantile(q) : undefined
  }
}
