/**
 * How honest nodes rate malicious peers over time, sampled every `sampleMs` from the real
 * `ReputationLedger`s the engine feeds. "Excluded" means below the avoid line (state `avoid` or
 * `banned`): routing no longer chooses the peer. `excludedAtMs` is the first sample at which
 * every honest observer excludes every malicious peer it knows (its view); reputation is local
 * to each node, except proof of a wrong result (shared evidence, model/evidence.ts): for liars
 * and black holes this waits for the last node to learn on its own.
 */
import type { ReputationLedger } from '../../src/core/reputation/index.js'
import type { Rng } from '../prng.js'
import type { EventQueue } from './heap.js'
import { HONEST, MALICE_NAMES, peerIndex, positionInView } from './world.js'
import type { World } from './world.js'

export interface ReputationSeries {
  /** Sample times, ms. */
  t: number[]
  /** Mean score honest observers give honest peers (a fixed sample of them). */
  honest: number[]
  /** Mean score they give malicious peers, overall and per kind. */
  malicious: number[]
  byKind: Record<string, number[]>
  /** Fraction of (observer, malicious peer) pairs excluded, overall and per kind. */
  excludedFraction: number[]
  excludedFractionByKind: Record<string, number[]>
  /** (Honest observer, honest peer) pairs excluded: the most at any sample (wrongly excluded). */
  honestExcludedMax: number
  /** First time every pair was excluded, ms after the start (undefined: never in the run). */
  excludedAtMs: number | undefined
  excludedAtMsByKind: Record<string, number | undefined>
  maliciousPeers: number
  observers: number
}

export class ReputationTracker {
  private readonly observers: number[]
  private readonly malicious: number[]
  private readonly honestTargets: number[]
  private readonly ids: string[]
  private readonly out: ReputationSeries
  private readonly kinds: string[]

  constructor (private readonly w: World, private readonly ledgers: Array<ReputationLedger | undefined>, private readonly q: EventQueue, rng: Rng) {
    const honest: number[] = []
    const malicious: number[] = []
    for (let i = 0; i < w.peers; i++) (w.malice[i] === HONEST ? honest : malicious).push(i)
    this.observers = rng.shuffled(honest).slice(0, w.scenario.reputation.maxObservers).sort((a, b) => a - b)
    this.malicious = malicious
    this.honestTargets = rng.shuffled(honest).slice(0, 20)
    this.ids = Array.from({ length: w.peers }, (_, i) => `p${String(i).padStart(5, '0')}`)
    this.kinds = [...new Set(malicious.map(m => MALICE_NAMES[w.malice[m]]))].sort()
    this.out = {
      t: [],
      honest: [],
      malicious: [],
      byKind: Object.fromEntries(this.kinds.map(k => [k, []])),
      excludedFraction: [],
      excludedFractionByKind: Object.fromEntries(this.kinds.map(k => [k, []])),
      excludedAtMs: undefined,
      excludedAtMsByKind: Object.fromEntries(this.kinds.map(k => [k, undefined])),
      honestExcludedMax: 0,
      maliciousPeers: malicious.length,
      observers: this.observers.length
    }
  }

  start (): void {
    if (this.malicious.length === 0) return
    const every = this.w.scenario.reputation.sampleMs
    const tick = (): void => {
      this.sample()
      if (this.q.now + every <= this.w.scenario.durationMs) this.q.after(every, tick)
    }
    this.q.at(0, tick)
  }

  private knows (o: number, p: number): boolean {
    const view = this.w.views?.[o]
    if (view === undefined) return o !== p
    return positionInView(view, p) >= 0
  }

  private sample (): void {
    const now = this.q.now
    let hSum = 0
    let hN = 0
    let mSum = 0
    let mN = 0
    let excluded = 0
    const kSum: Record<string, number> = {}
    const kN: Record<string, number> = {}
    const kExcl: Record<string, number> = {}
    let honestExcluded = 0
    for (const o of this.observers) {
      const ledger = this.ledgers[o]
      if (ledger === undefined) continue
      // Every honest peer this observer has a record of (the others are neutral, never excluded).
      for (const peer of ledger.peers()) {
        const h = peerIndex(peer)
        if (h !== undefined && this.w.malice[h] === HONEST && ledger.state(peer, now) !== 'healthy') honestExcluded++
      }
      for (const h of this.honestTargets) {
        if (h === o || !this.knows(o, h)) continue
        hSum += ledger.score(this.ids[h], now)
        hN++
      }
      for (const m of this.malicious) {
        if (!this.knows(o, m)) continue
        const kind = MALICE_NAMES[this.w.malice[m]]
        const score = ledger.score(this.ids[m], now)
        const out = ledger.state(this.ids[m], now) !== 'healthy'
        mSum += score
        mN++
        kSum[kind] = (kSum[kind] ?? 0) + score
        kN[kind] = (kN[kind] ?? 0) + 1
        if (out) {
          excluded++
          kExcl[kind] = (kExcl[kind] ?? 0) + 1
        }
      }
    }
    const o = this.out
    o.honestExcludedMax = Math.max(o.honestExcludedMax, honestExcluded)
    o.t.push(now)
    o.honest.push(hN > 0 ? hSum / hN : 0)
    o.malicious.push(mN > 0 ? mSum / mN : 0)
    o.excludedFraction.push(mN > 0 ? excluded / mN : 0)
    for (const k of this.kinds) {
      o.byKind[k].push((kN[k] ?? 0) > 0 ? kSum[k] / kN[k] : 0)
      o.excludedFractionByKind[k].push((kN[k] ?? 0) > 0 ? (kExcl[k] ?? 0) / kN[k] : 0)
      if (o.excludedAtMsByKind[k] === undefined && (kN[k] ?? 0) > 0 && kExcl[k] === kN[k]) o.excludedAtMsByKind[k] = now
    }
    if (o.excludedAtMs === undefined && mN > 0 && excluded === mN) o.excludedAtMs = now
  }

  finish (): ReputationSeries {
    return this.out
  }
}
