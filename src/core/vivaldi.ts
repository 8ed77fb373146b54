/**
 * Vivaldi network coordinates, after HashiCorp Serf's `coordinate/` package: every node keeps a
 * point in an 8-dimensional space plus a height, and moves it a little on each RTT measurement so
 * that distances between points predict round-trip times. A node can then estimate its RTT to a
 * peer it never pinged from the coordinate the peer advertises. Units are milliseconds
 * throughout (Serf uses seconds).
 *
 * The pieces, each from the literature Serf cites:
 * - Vivaldi spring model with adaptive timestep and error estimate: Dabek et al., "Vivaldi: A
 *   decentralized network coordinate system", SIGCOMM 2004 [1].
 * - Height vector (access-link delay that no Euclidean position can express), latency filter
 *   (median of the last few samples per peer) and gravity toward the origin (stops the whole
 *   system drifting away): Ledlie et al., "Network Coordinates in the Wild", NSDI 2007 [2].
 * - Adjustment term (a per-node offset averaging what the Euclidean part gets wrong): Lee et al.,
 *   "On suitability of Euclidean embedding for host-based network coordinate systems" [3].
 *
 * Coordinates arrive from remote peers in capacity adverts, so `isValidCoordinate` gates every one
 * before use, and a client that somehow reaches a non-finite state resets itself to the origin.
 */
import { SECOND } from '../util/time.js'

export interface Coordinate {
  /** Euclidean part, ms. */
  vec: number[]
  /** Confidence, dimensionless: ~0 is certain, `errorMax` (1.5) is "knows nothing yet". */
  error: number
  /** Offset added to every distance from this node (may be negative), ms [3]. */
  adjustment: number
  /** Non-Euclidean access-link delay, ms, at least `heightMinMs` [2]. */
  height: number
}

/** Serf's default: Ledlie et al. saw no gain past ~7 dimensions. */
export const DEFAULT_DIMENSIONALITY = 8
/** Error of a node that has made no observation, and the cap on error afterwards (Serf: 1.5). */
export const DEFAULT_ERROR_MAX = 1.5
/** Tuning factor of [1]: the most one observation can move the error estimate (Serf: 0.25). */
export const DEFAULT_VIVALDI_CE = 0.25
/** Tuning factor of [1]: the most one observation can move the coordinate (Serf: 0.25). */
export const DEFAULT_VIVALDI_CC = 0.25
/** Samples averaged into the adjustment term; 0 disables it (Serf: 20). */
export const DEFAULT_ADJUSTMENT_WINDOW = 20
/** Height floor, ms; positive so the height can grow from it, small against real RTTs (Serf:
 * 10 µs). */
export const DEFAULT_HEIGHT_MIN_MS = 0.01
/** RTT samples per peer whose median is used: rides out a single delayed ping (Serf: 3). */
export const DEFAULT_LATENCY_FILTER_SIZE = 3
/**
 * Gravity: each update pulls the coordinate toward the origin by (distance / rho)² ms, Ledlie's
 * form in ms with his rho of 2^11 ms. Negligible at real scale (0.002 ms at 100 ms from the
 * origin) but strong against runaway drift (24 ms per update at 10 s).
 */
export const DEFAULT_GRAVITY_RHO_MS = 2048
/** Peers whose latency-filter samples are kept; the least recently updated goes first. */
export const DEFAULT_MAX_TRACKED_PEERS = 1_000
/** RTT samples above this are rejected as nonsense, as Serf does. */
export const MAX_RTT_MS = 10 * SECOND
/** Largest magnitude accepted for any component of a remote coordinate, ms: far beyond anything
 * an RTT of at most `MAX_RTT_MS` can produce, so only garbage or an attack is refused. */
export const MAX_COORDINATE_MS = 100 * MAX_RTT_MS
/** Largest error accepted from a remote peer (honest ones never exceed their `errorMax`). */
export const MAX_REMOTE_ERROR = 10

/** Distances below this are "on top of each other" (Serf's zeroThreshold in seconds, in ms). */
const ZERO_THRESHOLD_MS = 1e-3

export interface VivaldiInit {
  /** Random source in [0, 1), used only to pick a direction when two points coincide. */
  random: () => number
  /** Dimensions of the Euclidean part (default 8); every peer must use the same. */
  dimensionality?: number
  /** See `DEFAULT_ERROR_MAX` (default 1.5). */
  errorMax?: number
  /** See `DEFAULT_VIVALDI_CE` (default 0.25). */
  ce?: number
  /** See `DEFAULT_VIVALDI_CC` (default 0.25). */
  cc?: number
  /** See `DEFAULT_ADJUSTMENT_WINDOW` (default 20; 0 disables). */
  adjustmentWindow?: number
  /** See `DEFAULT_HEIGHT_MIN_MS` (default 0.01 ms). */
  heightMinMs?: number
  /** See `DEFAULT_LATENCY_FILTER_SIZE` (default 3; 1 disables). */
  latencyFilterSize?: number
  /** See `DEFAULT_GRAVITY_RHO_MS` (default 2048 ms). */
  gravityRhoMs?: number
  /** See `DEFAULT_MAX_TRACKED_PEERS` (default 1,000). */
  maxTrackedPeers?: number
}

export interface VivaldiStats {
  /** Updates refused for an invalid coordinate or RTT. */
  rejected: number
  /** Times the local coordinate went non-finite and was reset to the origin. */
  resets: number
}

/** A fresh coordinate at the origin: no observations, maximal error. */
export function originCoordinate (dimensionality = DEFAULT_DIMENSIONALITY, errorMax = DEFAULT_ERROR_MAX, heightMinMs = DEFAULT_HEIGHT_MIN_MS): Coordinate {
  return { vec: new Array<number>(dimensionality).fill(0), error: errorMax, adjustment: 0, height: heightMinMs }
}

/**
 * True when `c` is a well-formed coordinate of `dimensionality` dimensions whose every number is
 * finite and within bounds. Use it on every coordinate a peer sends before anything else.
 */
export function isValidCoordinate (c: unknown, dimensionality = DEFAULT_DIMENSIONALITY): c is Coordinate {
  if (typeof c !== 'object' || c === null) return false
  const { vec, error, adjustment, height } = c as Partial<Coordinate>
  if (!Array.isArray(vec) || vec.length !== dimensionality) return false
  for (const x of vec) {
    if (!inRange(x, -MAX_COORDINATE_MS, MAX_COORDINATE_MS)) return false
  }
  return inRange(error, 0, MAX_REMOTE_ERROR) &&
    inRange(adjustment, -MAX_COORDINATE_MS, MAX_COORDINATE_MS) &&
    inRange(height, 0, MAX_COORDINATE_MS)
}

function inRange (x: unknown, min: number, max: number): boolean {
  return typeof x === 'number' && Number.isFinite(x) && x >= min && x <= max
}

/** Distance without adjustments: Euclidean part plus both heights. */
function rawDistance (a: Coordinate, b: Coordinate): number {
  let sq = 0
  for (let i = 0; i < a.vec.length; i++) {
    const d = a.vec[i] - b.vec[i]
    sq += d * d
  }
  return Math.sqrt(sq) + a.height + b.height
}

/**
 * Estimated RTT between two coordinates, ms. Adjustments are applied unless they would make the
 * estimate non-positive, as in Serf. Throws `RangeError` on mismatched dimensionality (validate
 * remote coordinates first).
 */
export function estimateRttMs (a: Coordinate, b: Coordinate): number {
  if (a.vec.length !== b.vec.length) {
    throw new RangeError(`coordinate dimensionality does not match (${a.vec.length} vs ${b.vec.length})`)
  }
  const raw = rawDistance(a, b)
  const adjusted = raw + a.adjustment + b.adjustment
  return adjusted > 0 ? adjusted : raw
}

function cloneCoordinate (c: Coordinate): Coordinate {
  return { vec: [...c.vec], error: c.error, adjustment: c.adjustment, height: c.height }
}

export class VivaldiClient {
  private readonly random: () => number
  private readonly dimensionality: number
  private readonly errorMax: number
  private readonly ce: number
  private readonly cc: number
  private readonly adjustmentWindow: number
  private readonly heightMinMs: number
  private readonly latencyFilterSize: number
  private readonly gravityRhoMs: number
  private readonly maxTrackedPeers: number
  private readonly origin: Coordinate

  private coord: Coordinate
  /** Ring of (rtt - raw distance) samples for the adjustment term [3]. */
  private readonly adjustmentSamples: number[]
  private adjustmentIndex = 0
  /** Last RTT samples per peer, in arrival order; Map order doubles as LRU order. */
  private readonly latencySamples = new Map<string, number[]>()
  private readonly counters: VivaldiStats = { rejected: 0, resets: 0 }

  constructor (init: VivaldiInit) {
    this.random = init.random
    this.dimensionality = init.dimensionality ?? DEFAULT_DIMENSIONALITY
    this.errorMax = init.errorMax ?? DEFAULT_ERROR_MAX
    this.ce = init.ce ?? DEFAULT_VIVALDI_CE
    this.cc = init.cc ?? DEFAULT_VIVALDI_CC
    this.adjustmentWindow = Math.max(0, Math.floor(init.adjustmentWindow ?? DEFAULT_ADJUSTMENT_WINDOW))
    this.heightMinMs = init.heightMinMs ?? DEFAULT_HEIGHT_MIN_MS
    this.latencyFilterSize = Math.max(1, Math.floor(init.latencyFilterSize ?? DEFAULT_LATENCY_FILTER_SIZE))
    this.gravityRhoMs = init.gravityRhoMs ?? DEFAULT_GRAVITY_RHO_MS
    this.maxTrackedPeers = Math.max(1, init.maxTrackedPeers ?? DEFAULT_MAX_TRACKED_PEERS)
    if (!Number.isInteger(this.dimensionality) || this.dimensionality < 1) {
      throw new RangeError(`dimensionality must be a positive integer, got ${this.dimensionality}`)
    }
    this.origin = originCoordinate(this.dimensionality, this.errorMax, this.heightMinMs)
    this.coord = cloneCoordinate(this.origin)
    this.adjustmentSamples = new Array<number>(this.adjustmentWindow).fill(0)
  }

  /** A copy of this node's coordinate, to advertise. */
  coordinate (): Coordinate {
    return cloneCoordinate(this.coord)
  }

  get stats (): Readonly<VivaldiStats> {
    return { ...this.counters }
  }

  /**
   * Feeds one RTT measurement to `peer`, whose advertised coordinate is `peerCoord`, and returns
   * the updated local coordinate. An invalid coordinate or RTT (non-finite, negative, above
   * `MAX_RTT_MS`) is refused: counted in `stats.rejected`, the coordinate left as it was.
   */
  update (peer: string, peerCoord: Coordinate, rttMs: number): Coordinate {
    if (!isValidCoordinate(peerCoord, this.dimensionality) || !inRange(rttMs, 0, MAX_RTT_MS)) {
      this.counters.rejected++
      return this.coordinate()
    }
    const rtt = this.latencyFilter(peer, rttMs)
    this.updateVivaldi(peerCoord, rtt)
    this.updateAdjustment(peerCoord, rtt)
    this.updateGravity()
    if (!isValidCoordinate(this.coord, this.dimensionality)) {
      // Cannot happen with valid inputs; if it does, starting over beats poisoning every estimate.
      this.counters.resets++
      this.coord = cloneCoordinate(this.origin)
      this.adjustmentSamples.fill(0)
    }
    return this.coordinate()
  }

  /** Estimated RTT from this node to a node at `other`, ms. */
  estimateRttMs (other: Coordinate): number {
    return estimateRttMs(this.coord, other)
  }

  /** Drops what is remembered about `peer` (its latency samples), e.g. when it disconnects. */
  forget (peer: string): void {
    this.latencySamples.delete(peer)
  }

  /** Median of the last `latencyFilterSize` samples to this peer, including `rttMs` [2]. */
  private latencyFilter (peer: string, rttMs: number): number {
    const samples = this.latencySamples.get(peer) ?? []
    this.latencySamples.delete(peer) // re-inserted below: most recently used goes last
    samples.push(rttMs)
    if (samples.length > this.latencyFilterSize) samples.shift()
    this.latencySamples.set(peer, samples)
    while (this.latencySamples.size > this.maxTrackedPeers) {
      const oldest = this.latencySamples.keys().next().value as string
      this.latencySamples.delete(oldest)
    }
    const sorted = [...samples].sort((a, b) => a - b)
    return sorted[Math.floor(sorted.length / 2)]
  }

  /**
   * The Vivaldi step [1]: weigh the sample by how confident we are relative to the peer, update
   * the error estimate by how wrong the prediction was, then move along the line to the peer by
   * a fraction of the prediction error (away when the RTT is longer than predicted).
   */
  private updateVivaldi (other: Coordinate, rttMs: number): void {
    const rtt = Math.max(rttMs, ZERO_THRESHOLD_MS)
    const dist = estimateRttMs(this.coord, other)
    const wrongness = Math.abs(dist - rtt) / rtt
    const totalError = Math.max(this.coord.error + Math.min(other.error, this.errorMax), ZERO_THRESHOLD_MS)
    const weight = this.coord.error / totalError
    this.coord.error = Math.min(this.errorMax, this.ce * weight * wrongness + this.coord.error * (1 - this.ce * weight))
    const force = this.cc * weight * (rtt - dist)
    this.applyForce(force, other)
  }

  /**
   * The adjustment term [3]: half the mean of recent (rtt - raw distance), so that the two
   * endpoints' adjustments together add back what the Euclidean part systematically misses.
   * Raw distance, because the adjustments themselves must not feed back into the average.
   */
  private updateAdjustment (other: Coordinate, rttMs: number): void {
    if (this.adjustmentWindow === 0) return
    this.adjustmentSamples[this.adjustmentIndex] = rttMs - rawDistance(this.coord, other)
    this.adjustmentIndex = (this.adjustmentIndex + 1) % this.adjustmentWindow
    let total = 0
    for (const s of this.adjustmentSamples) total += s
    this.coord.adjustment = total / (2 * this.adjustmentWindow)
  }

  /** Gravity toward the origin [2], growing with the square of the distance to it. */
  private updateGravity (): void {
    const dist = rawDistance(this.origin, this.coord)
    const force = -((dist / this.gravityRhoMs) ** 2)
    this.applyForce(force, this.origin)
  }

  /**
   * Moves the coordinate by `force` ms along the unit vector from `other` to it (positive pushes
   * away), and the height in proportion, as Serf does: the height absorbs the share of the
   * error that the two heights make up of the distance.
   */
  private applyForce (force: number, other: Coordinate): void {
    const { unit, magnitude } = this.unitVectorAt(this.coord.vec, other.vec)
    for (let i = 0; i < this.dimensionality; i++) this.coord.vec[i] += unit[i] * force
    if (magnitude > ZERO_THRESHOLD_MS) {
      this.coord.height = Math.max(this.heightMinMs, this.coord.height + force * (this.coord.height + other.height) / magnitude)
    }
  }

  /**
   * Unit vector pointing from `b` to `a` and the distance between them. When the points coincide
   * (every node starts at the origin) a random direction is used, which is what lets a system of
   * nodes at the same point spread out at all.
   */
  private unitVectorAt (a: number[], b: number[]): { unit: number[], magnitude: number } {
    const diff = a.map((x, i) => x - b[i])
    const magnitude = Math.hypot(...diff)
    if (magnitude > ZERO_THRESHOLD_MS) return { unit: diff.map(x => x / magnitude), magnitude }
    for (let i = 0; i < diff.length; i++) diff[i] = this.random() - 0.5
    const m = Math.hypot(...diff)
    if (m > ZERO_THRESHOLD_MS) return { unit: diff.map(x => x / m), magnitude: 0 }
    // A random source returning constants: fall back to the first axis.
    const unit = new Array<number>(diff.length).fill(0)
    unit[0] = 1
    return { unit, magnitude: 0 }
  }
}
