/**
 * Re-dating: what a node does with versions it stamped before it knew its clock was ahead.
 *
 * A node alone (or restarted) has nothing to measure its clock against, so it stamps with its own
 * and its writes are acknowledged: nobody can disagree yet. Once a majority of clocks tells it that
 * those versions lie beyond what every peer accepts (reference + 1.5 D, see core/cache/skew.ts),
 * they were accepted by no peer, so giving them new versions reorders nothing anyone saw:
 *
 * - its own such entries are signed again, same key, value, TTL and tombstone flag, with fresh
 *   versions from the mesh's time (in their old order), and published;
 * - such entries of other origins (taken in while this node had no evidence either) are dropped:
 *   their origins re-date them in turn;
 * - the clock is moved back to the newest version it still holds, or the mesh's time, so the
 *   node's next writes are accepted too.
 */
import { compareVersions } from '../../core/cache/version.js'
import { compareTimestamps } from '../../core/hlc.js'
import { signEntry } from './entry.js'
import type { CacheStore } from './cache-store.js'
import type { StoredEntry } from './entry.js'
import type { IntakeTime } from './intake.js'
import type { HybridLogicalClock, Timestamp } from '../../core/hlc.js'
import type { Logger, PeerId, PrivateKey } from '@libp2p/interface'

export interface RedateResult {
  /** Own entries signed again with a new version. */
  redated: number
  /** Entries of other origins dropped. */
  dropped: number
}

export interface RedaterInit {
  store: CacheStore
  hlc: HybridLogicalClock
  time: () => IntakeTime
  peerId: PeerId
  privateKey: PrivateKey
  /** A re-dated entry is held: publish it. */
  onRedated: (entry: StoredEntry) => void
  /** A pass finished (persist the clock, count). */
  onDone?: (result: RedateResult) => void
  log: Logger
}

export class Redater {
  private running: Promise<RedateResult> | undefined

  constructor (private readonly init: RedaterInit) {}

  /** True when the clock (so what the node holds) is past the re-dating threshold. */
  needed (): boolean {
    const above = this.init.time().time.redateAboveMs
    return above != null && this.init.hlc.peek().wallMs > above
  }

  /** Re-date if needed; concurrent callers share one pass. Resolves when nothing is left to do. */
  async run (): Promise<RedateResult | undefined> {
    if (this.running != null) return this.running
    if (!this.needed()) return undefined
    this.running = this.pass().finally(() => { this.running = undefined })
    return this.running
  }

  /** Wait for a pass in progress, if any. */
  async idle (): Promise<void> {
    await this.running?.catch(() => {})
  }

  private async pass (): Promise<RedateResult> {
    const { store, hlc } = this.init
    const { time } = this.init.time()
    const threshold = time.redateAboveMs
    const result = { redated: 0, dropped: 0 }
    if (threshold == null) return result
    const above: StoredEntry[] = []
    let highestKept: Timestamp = { wallMs: time.stampFromMs, counter: 0 }
    for await (const e of store.entries()) {
      if (e.version.ts.wallMs > threshold) above.push(e)
      else if (compareTimestamps(e.version.ts, highestKept) > 0) highestKept = e.version.ts
    }
    // Nothing above the threshold stays, so the clock may resume from what does.
    hlc.rebase(highestKept)
    above.sort((a, b) => compareVersions(a.version, b.version))
    const self = this.init.peerId.toString()
    for (const e of above) {
      if (e.version.origin !== self) {
        if (await store.replace(e, undefined)) result.dropped++
        continue
      }
      const next = await signEntry(this.init.privateKey, this.init.peerId, { key: e.key, value: e.value, ttlSeconds: e.ttlSeconds, tombstone: e.tombstone, ts: hlc.now() })
      if (await store.replace(e, next)) {
        result.redated++
        this.init.onRedated(next)
      }
    }
    this.init.log('re-dated %d own cache entries and dropped %d of others stamped beyond %d (the mesh does not accept them); the clock resumes at %d', result.redated, result.dropped, threshold, highestKept.wallMs)
    this.init.onDone?.(result)
    return result
  }
}
