import { multiaddr } from '@multiformats/multiaddr'
import { MAX_WALL_MS } from '../../core/hlc.js'
import { isValidKind } from '../tasks/frame-limits.js'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { CapacityAd } from '../../wire/capacity.js'

/**
 * Remote capacity claims are bounded before anything uses them: a peer claiming 10,000 cores is
 * clamped (and loses reputation later when it cannot deliver); nonsense is rejected outright.
 */
export const CAPACITY_BOUNDS = {
  cores: 1_024,
  concurrency: 4_096,
  queueDepth: 1_000_000,
  queueLimit: 1_000_000,
  freeMemoryMb: 16 * 1024 * 1024,
  load: 1_000,
  nameLength: 64,
  meanRunMs: 3_600_000,
  firstFreeMs: 86_400_000,
  /** Advertisement interval accepted, ms: entries expire a few intervals after the last ad. */
  minIntervalMs: 200,
  maxIntervalMs: 60_000
} as const

export const MAX_AD_BYTES = 4 * 1024

export interface ValidatedAd {
  seq: number
  name: string
  cores: number
  freeMemoryMb: number
  load: number
  queueDepth: number
  running: number
  concurrency: number
  queueLimit: number
  kinds: string[]
  coordinate?: CapacityAd['coordinate']
  meanRunMs: Map<string, number>
  /** While every slot is taken: the sender's estimate of how long until one frees, ms (0 or absent: a slot is free, or unknown). */
  firstFreeMs?: number
  intervalMs: number
  /** Dialable addresses the peer announced (hints: bad ones are dropped). */
  addrs: Multiaddr[]
  /** The sender's wall clock when it sent the ad (ms since the epoch); absent when not sent or not a plausible time. */
  wallMs?: number
  /** Fields that were out of bounds and clamped. */
  clamped: string[]
  /** The sender takes no work from peers now (its owner's policy): never routed to. */
  paused?: boolean
  /** Why it offers fewer slots than it has, or none (a reason code, e.g. `on-battery`); absent when it offers all. */
  servingReason?: string
}

/** A clamped copy of the ad, or a reason to reject it. */
export function validateAd (ad: CapacityAd): ValidatedAd | string {
  const clamped: string[] = []
  const clamp = (field: string, v: number, max: number): number => {
    if (!Number.isFinite(v) || v < 0) { clamped.push(field); return 0 }
    if (v > max) { clamped.push(field); return max }
    return v
  }
  if (!Number.isSafeInteger(ad.seq) || ad.seq <= 0) return 'bad seq'
  if (ad.name.length > CAPACITY_BOUNDS.nameLength) return 'name too long'
  if (/[\u0000-\u001f\u007f]/.test(ad.name)) return 'control characters in name'
  if (!ad.kinds.every(isValidKind)) return 'bad kind name'
  if (new Set(ad.kinds).size !== ad.kinds.length) return 'duplicate kinds'
  // A code shown in tables and route reasons: short, lower case, no control characters.
  if (ad.servingReason !== '' && !/^[a-z][a-z0-9-]{0,31}$/.test(ad.servingReason)) return 'bad serving reason'
  const meanRunMs = new Map<string, number>()
  for (const s of ad.stats) {
    if (!isValidKind(s.kind)) return 'bad kind name in stats'
    meanRunMs.set(s.kind, clamp('stats', s.meanRunMs, CAPACITY_BOUNDS.meanRunMs))
  }
  const concurrency = clamp('concurrency', ad.concurrency, CAPACITY_BOUNDS.concurrency)
  const addrs: Multiaddr[] = []
  for (const bytes of ad.addrs) {
    if (bytes.byteLength > 256) continue
    try { addrs.push(multiaddr(bytes)) } catch {}
  }
  return {
    seq: ad.seq,
    name: ad.name,
    cores: clamp('cores', ad.cores, CAPACITY_BOUNDS.cores),
    freeMemoryMb: clamp('freeMemoryMb', ad.freeMemoryMb, CAPACITY_BOUNDS.freeMemoryMb),
    load: clamp('load', ad.load, CAPACITY_BOUNDS.load),
    queueDepth: clamp('queueDepth', ad.queueDepth, CAPACITY_BOUNDS.queueDepth),
    running: Math.min(clamp('running', ad.running, CAPACITY_BOUNDS.concurrency), concurrency),
    concurrency,
    queueLimit: clamp('queueLimit', ad.queueLimit, CAPACITY_BOUNDS.queueLimit),
    kinds: ad.kinds,
    coordinate: ad.coordinate,
    meanRunMs,
    firstFreeMs: clamp('firstFreeMs', ad.firstFreeMs, CAPACITY_BOUNDS.firstFreeMs),
    intervalMs: Math.min(CAPACITY_BOUNDS.maxIntervalMs, Math.max(CAPACITY_BOUNDS.minIntervalMs, ad.intervalMs || 1000)),
    addrs,
    ...(Number.isSafeInteger(ad.wallMs) && ad.wallMs > 0 && ad.wallMs <= MAX_WALL_MS ? { wallMs: ad.wallMs } : {}),
    clamped,
    ...(ad.paused ? { paused: true } : {}),
    ...(ad.servingReason !== '' ? { servingReason: ad.servingReason } : {})
  }
}
