/**
 * Seeded randomness for the simulation: the same seed gives the same arrival trace, the same
 * faults and the same decisions, so a failing run is replayed from its seed alone.
 *
 * xoshiro128** (Blackman and Vigna) for the stream, seeded through splitmix32 so that nearby
 * seeds (1, 2, 3) still give unrelated streams. Independent streams come from `fork(label)`:
 * the arrival trace, the faults and each policy's own choices draw from separate streams, so
 * changing a routing decision never changes the tasks that arrive.
 */

/** splitmix32: a good 32-bit mixer; used to expand a seed into xoshiro's 128-bit state. */
function splitmix32 (state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0
  let z = state.s
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  return (z ^ (z >>> 16)) >>> 0
}

/** A 32-bit FNV-1a hash of a label, to derive named sub-streams. */
function hashLabel (label: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

export class Rng {
  private a: number
  private b: number
  private c: number
  private d: number
  readonly seed: number

  constructor (seed: number) {
    this.seed = seed >>> 0
    const st = { s: this.seed }
    this.a = splitmix32(st)
    this.b = splitmix32(st)
    this.c = splitmix32(st)
    this.d = splitmix32(st)
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1
  }

  /** An independent stream named `label`, a pure function of (this seed, label). */
  fork (label: string): Rng {
    return new Rng((Math.imul(this.seed, 0x9e3779b1) ^ hashLabel(label)) >>> 0)
  }

  /** Next 32 random bits. */
  nextU32 (): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0
    const t = this.b << 9
    this.c ^= this.a
    this.d ^= this.b
    this.b ^= this.c
    this.a ^= this.d
    this.c ^= t
    this.d = rotl(this.d, 11)
    return result
  }

  /** Uniform in [0, 1). */
  float (): number {
    return this.nextU32() / 4294967296
  }

  /** Uniform integer in [0, n). */
  int (n: number): number {
    return Math.floor(this.float() * n)
  }

  /** True with probability p. */
  chance (p: number): boolean {
    return this.float() < p
  }

  pick<T> (items: readonly T[]): T {
    return items[this.int(items.length)]
  }

  /** A function returning floats in [0, 1), for code that takes `random: () => number`. */
  asFunction (): () => number {
    return () => this.float()
  }

  /** Exponential with the given mean (Poisson inter-arrival times). */
  exponential (mean: number): number {
    return -Math.log(1 - this.float()) * mean
  }

  /** Standard normal (Box-Muller; one value per call, simplicity over speed). */
  normal (): number {
    const u = 1 - this.float()
    const v = this.float()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }

  /** Lognormal with the given *mean* (not median) and log-space sigma. */
  lognormal (mean: number, sigma: number): number {
    const mu = Math.log(mean) - sigma * sigma / 2
    return Math.exp(mu + sigma * this.normal())
  }

  /** Bounded Pareto on [lo, hi] with shape alpha (heavy-tailed service times). */
  boundedPareto (alpha: number, lo: number, hi: number): number {
    const u = this.float()
    const la = lo ** alpha
    const ha = hi ** alpha
    return (-(u * ha - u * la - ha) / (ha * la)) ** (-1 / alpha)
  }

  /** Fisher-Yates shuffle of a copy. */
  shuffled<T> (items: readonly T[]): T[] {
    const out = [...items]
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const tmp = out[i]
      out[i] = out[j]
      out[j] = tmp
    }
    return out
  }
}

function rotl (x: number, k: number): number {
  return (x << k) | (x >>> (32 - k))
}

/** Mean of a bounded Pareto(alpha, lo, hi), alpha ≠ 1; used to scale it to a target mean. */
export function boundedParetoMean (alpha: number, lo: number, hi: number): number {
  const la = lo ** alpha
  return (la / (1 - (lo / hi) ** alpha)) * (alpha / (alpha - 1)) * (1 / lo ** (alpha - 1) - 1 / hi ** (alpha - 1))
}
