/** Summary statistics used by the report. Pure functions over plain arrays. */

export function sorted (values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values as ArrayLike<number>).sort()
}

/** Quantile q in [0, 1] of sorted values (nearest rank; NaN when empty). */
export function quantileSorted (s: Float64Array, q: number): number {
  if (s.length === 0) return NaN
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))
  return s[i]
}

export function mean (values: ArrayLike<number>): number {
  if (values.length === 0) return NaN
  let sum = 0
  for (let i = 0; i < values.length; i++) sum += values[i]
  return sum / values.length
}

/** Jain's fairness index: (Σx)² / (n Σx²); 1 when everyone gets the same. */
export function jainIndex (values: ArrayLike<number>): number {
  let sum = 0
  let sq = 0
  for (let i = 0; i < values.length; i++) {
    sum += values[i]
    sq += values[i] * values[i]
  }
  return sq === 0 ? 1 : (sum * sum) / (values.length * sq)
}

export function maxOverMean (values: ArrayLike<number>): number {
  const m = mean(values)
  let max = -Infinity
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i])
  return m > 0 ? max / m : 1
}

/** `points` quantiles (0..1) of sorted values, for CDF plots and compact reports. */
export function quantilePoints (s: Float64Array, points = 101): number[] {
  if (s.length === 0) return []
  const out: number[] = []
  for (let k = 0; k < points; k++) out.push(round(quantileSorted(s, k / (points - 1)), 2))
  return out
}

export function round (v: number, digits = 3): number {
  if (!Number.isFinite(v)) return v
  const f = 10 ** digits
  return Math.round(v * f) / f
}
