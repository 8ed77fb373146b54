/**
 * Settling the entries a node wrote alone. With no peer's clock to compare with, a node cannot
 * tell whether its own clock is a day off, so what it writes alone is acknowledged and served
 * but not shared (CacheStore keeps it out of gossip, anti-entropy and fetch answers). Once it
 * hears peers (protocols/cache.md, "Clock skew"), each such entry is
 *
 * - shared as it is when its version falls in the range every peer accepts, or else
 * - re-dated: signed again, same key, value, TTL and tombstone flag, with a fresh version from
 *   the mesh's time (in the old versions' order), then shared. Nobody else ever held the old
 *   version, so this reorders nothing anyone saw.
 *
 * Before re-dating, the clock moves back to the mesh's time, but never below its floor (the
 * newest version it received or shared): versions up to there may be held elsewhere, and the
 * node's next writes must stay above them. Entries stay unshared while no version in the range
 * can be stamped (one peer whose clock disagrees with this node's: nobody can tell which is
 * wrong; or a clock further off than the node corrects by itself).
 */
import { compareVersions } from '../../core/cache/version.js'
import { compareTimestamps } from '../../core/hlc.js'
import { signEntry } from './entry.js'
import type { CacheStore } from './cache-store.js'
import type { StoredEntry } from './entry.js'
import type { CacheIntake, IntakeTime } from './intake.js'
import type { HybridLogicalClock, Timestamp } from '../../core/hlc.js'
import type { Logger, PeerId, PrivateKey } from '@libp2p/interface'

export interface SettleResult {
  /** Entries shared as they were. */
  shared: number
  /** Entries re-dated, then shared. */
  redated: number
  /** Entries left unshared (no version in the range can be stamped yet). */
  waiting: number
}

export interface SettlerInit {
  store: CacheStore
  hlc: HybridLogicalClock
  intake: CacheIntake
  time: () => IntakeTime
  peerId: PeerId
  privateKey: PrivateKey
  /** An entry is now shared (publish it); `previous` is the unshared version a re-dating replaced. */
  onShared: (entry: StoredEntry, previous?: StoredEntry) => void
  /** A pass finished (persist the clock, count). */
  onDone?: (result: SettleResult) => void
  log: Logger
}

export class Settler {
  private running: Promise<SettleResult> | undefined

  constructor (private readonly init: SettlerInit) {}

  /** True when there are unshared entries and peers' clocks to settle them against. */
  needed (): boolean {
    return this.init.store.unsharedCount > 0 && this.init.time().time.writeRange != null
  }

  /** Settle if needed; concurrent callers share one pass. */
  async run (): Promise<SettleResult | undefined> {
    if (this.running != null) return this.running
    if (!this.needed()) return undefined
    this.running = this.pass().finally(() => { this.running = undefined })
    return this.running
  }

  /** Wait for a pass in progress, if any. */
  async idle (): Promise<void> {
    await this.running?.catch(() => {})
  }

  private async pass (): Promise<SettleResult> {
    const { store, hlc, intake } = this.init
    const { time } = this.init.time()
    const result = { shared: 0, redated: 0, waiting: 0 }
    const range = time.writeRange
    if (range == null) return result
    const inRange = (ms: number): boolean => ms >= range.lo && ms <= range.hi
    const unshared = (await store.unsharedEntries()).sort((a, b) => compareVersions(a.version, b.version))
    const redate: StoredEntry[] = []
    for (const e of unshared) {
      if (!inRange(e.version.ts.wallMs)) {
        redate.push(e)
      } else if (await store.share(e)) {
        result.shared++
        intake.raiseFloor(e.version.ts)
        this.init.onShared(e)
      }
    }
    // Back to the mesh's time, but not below anything peers may hold.
    const meshTs: Timestamp = { wallMs: time.stampFromMs, counter: 0 }
    const resume = compareTimestamps(intake.floor, meshTs) > 0 ? intake.floor : meshTs
    if (redate.length > 0 && !inRange(resume.wallMs)) {
      result.waiting = redate.length
    } else if (redate.length > 0) {
      hlc.rebase(resume)
      for (const e of redate) {
        const next = await signEntry(this.init.privateKey, this.init.peerId, { key: e.key, value: e.value, ttlSeconds: e.ttlSeconds, tombstone: e.tombstone, ts: hlc.now() })
        if (await store.redate(e, next)) {
          result.redated++
          intake.raiseFloor(next.version.ts)
          this.init.onShared(next, e)
        }
      }
    }
    if (result.shared + result.redated + result.waiting > 0) {
      this.init.log('settled entries written alone: %d shared as they were, %d re-dated into the range peers accept, %d still waiting', result.shared, result.redated, result.waiting)
    }
    this.init.onDone?.(result)
    return result
  }
}
