/**
 * Real cache services (CacheService: intake, store, HLC, mesh time, re-dating) on fake clocks,
 * joined by a network the test drives one step at a time: gossip messages sit in a pool until a
 * step delivers (or duplicates, or drops) one; anti-entropy, read-through fetch and capacity ads
 * happen when a step says so. Every node's wall clock is the true time plus its own skew.
 *
 * It also keeps the history a Jepsen-style checker needs: every acknowledged write, which writes
 * each node had seen before it wrote, and which version each re-dating gave a write.
 */
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { defaultLogger } from '@libp2p/logger'
import { compareVersions, versionToBytes } from '../../../../src/core/cache/version.js'
import { MeshTime } from '../../../../src/core/mesh-time.js'
import { CACHE_TOPIC } from '../../../../src/node/config.js'
import { CacheService } from '../../../../src/services/cache/cache-service.js'
import { CacheStore } from '../../../../src/services/cache/cache-store.js'
import { fromStoredBytes } from '../../../../src/services/cache/entry.js'
import { withoutStale } from '../../../../src/services/cache-sync/stale-filter.js'
import { FedStore } from '../../../../src/store/store.js'
import { ClockSkewError } from '../../../../src/util/errors.js'
import { utf8 } from '../../../helpers/unit-cache.js'
import type { Identity } from '../../../helpers/unit-cache.js'
import type { Version } from '../../../../src/core/cache/version.js'
import type { StoredEntry } from '../../../../src/services/cache/entry.js'
import type { PeerId } from '@libp2p/interface'

export const T0 = 1_750_000_000_000

/** A version as a map key. */
export const vkey = (v: Version): string => Buffer.from(versionToBytes(v)).toString('hex')

interface Message { publisher: number, hop: number, to: number, data: Uint8Array, sentAt: number }

/** Gossip delivers within seconds or never (gossipsub's message cache is a few heartbeats long). */
export const GOSSIP_TTL_MS = 2 * 60 * 1000

export interface AckedWrite {
  id: string
  node: number
  key: string
  tombstone: boolean
  /** Writes (ids) the node had held, any version, before it issued this one. */
  seenBefore: Set<string>
  /** True time when it was written. */
  at: number
  /** Its version's wall time when acknowledged. */
  wallMs: number
  origin: string
}

export class Replica {
  readonly service: CacheService
  readonly meshTime: MeshTime
  /** Writes this node has held (any version of them). */
  readonly seen = new Set<string>()
  /** Versions (vkey) this node has held, by key. */
  readonly heldEver = new Map<string, Map<string, Version>>()

  constructor (readonly index: number, readonly who: Identity, public skewMs: number, readonly fed: FedStore, mesh: Mesh) {
    const wall = { now: () => mesh.t + this.skewMs }
    const monotonic = { now: () => mesh.t }
    this.meshTime = new MeshTime({ wall, monotonic })
    const pubsub = {
      topicValidators: new Map(),
      subscribe: () => {},
      unsubscribe: () => {},
      publish: async (_topic: string, data: Uint8Array) => { mesh.publish(index, data) }
    }
    this.service = new CacheService({ peerId: who.peerId, privateKey: who.key, pubsub: pubsub as any, logger: defaultLogger() }, {
      store: new CacheStore({ db: fed.sublevel('cache'), clock: { now: () => this.meshTime.view().referenceMs } }),
      meta: fed.sublevel('meta'),
      clock: wall,
      meshTime: this.meshTime,
      collectIntervalMs: 24 * 3600 * 1000,
      fetchRemote: async (key, accept) => mesh.fetch(index, key, accept),
      onApplied: (entry, source, replaced) => { mesh.applied(this, entry, source, replaced) }
    })
  }

  get peerId (): PeerId { return this.who.peerId }
  wall (now: number): number { return now + this.skewMs }

  validator (): (source: PeerId, msg: any) => Promise<TopicValidatorResult> {
    return (this.service as any).components.pubsub.topicValidators.get(CACHE_TOPIC)
  }
}

export interface MeshStats {
  acked: number
  refused: number
  redated: number
  delivered: number
  fetched: number
  synced: number
}

export class Mesh {
  /** True time, ms since the epoch. */
  t = T0
  readonly replicas: Replica[] = []
  /** Partition group of each node: two nodes are connected when their groups are equal. */
  groups: number[] = []
  pool: Message[] = []
  readonly acked: AckedWrite[] = []
  /** Which write each version (vkey) belongs to; re-dated versions map to the write they re-date. */
  readonly writeOf = new Map<string, string>()
  /** Each write's current version: the one it was acknowledged with, or its latest re-dating. */
  readonly currentOf = new Map<string, Version>()
  /** Writes re-dated at least once. */
  readonly redatedWrites = new Set<string>()
  /** Writes that replaced a version of a write at some replica (by merge, not re-dating). */
  readonly replacedBy = new Map<string, Set<string>>()
  private localReplaced: StoredEntry | undefined
  readonly stats: MeshStats = { acked: 0, refused: 0, redated: 0, delivered: 0, fetched: 0, synced: 0 }
  readonly violations: string[] = []
  private nextWrite = 0

  static async create (identities: Identity[], skews: number[], groups: number[]): Promise<Mesh> {
    const mesh = new Mesh()
    mesh.groups = groups
    for (let i = 0; i < skews.length; i++) {
      const r = new Replica(i, identities[i], skews[i], await FedStore.memory(), mesh)
      mesh.replicas.push(r)
      await r.service.start()
      r.service.afterStart()
    }
    return mesh
  }

  async close (): Promise<void> {
    for (const r of this.replicas) {
      r.service.beforeStop()
      await r.service.stop()
      await r.fed.close()
    }
  }

  connected (a: number, b: number): boolean {
    return a !== b && this.groups[a] === this.groups[b]
  }

  neighbours (a: number): Replica[] {
    return this.replicas.filter(r => this.connected(a, r.index))
  }

  publish (from: number, data: Uint8Array): void {
    for (const n of this.neighbours(from)) this.pool.push({ publisher: from, hop: from, to: n.index, data, sentAt: this.t })
  }

  /** Deliver one message (it stays in the pool too when `duplicate`); lost when its link is down. */
  async deliver (pick: number, duplicate = false): Promise<void> {
    if (this.pool.length === 0) return
    const i = pick % this.pool.length
    const m = this.pool[i]
    if (!duplicate) this.pool.splice(i, 1)
    if (!this.connected(m.hop, m.to) || this.t - m.sentAt > GOSSIP_TTL_MS) return
    const to = this.replicas[m.to]
    const msg = { type: 'signed', from: this.replicas[m.publisher].peerId, data: m.data, topic: CACHE_TOPIC }
    this.stats.delivered++
    const result = await to.validator()(this.replicas[m.hop].peerId, msg)
    if (result !== TopicValidatorResult.Accept) return
    // Gossipsub forwards what its validator accepted.
    for (const n of this.neighbours(m.to)) if (n.index !== m.hop) this.pool.push({ ...m, hop: m.to, to: n.index, sentAt: this.t })
  }

  drop (pick: number): void {
    if (this.pool.length > 0) this.pool.splice(pick % this.pool.length, 1)
  }

  /** Capacity ads between every connected pair: each records the other's clock (± `noiseMs`). */
  async ads (noise: () => number): Promise<void> {
    for (const a of this.replicas) {
      for (const b of this.neighbours(a.index)) a.meshTime.record(b.peerId.toString(), Math.round(b.wall(this.t) + noise()))
    }
    for (const r of this.replicas) await r.service.clockChanged()
  }

  /** One anti-entropy exchange: each side pushes what the other holds differently (above its horizon). */
  async sync (a: number, b: number, path: 'sync' | 'resync' = 'sync'): Promise<void> {
    if (!this.connected(a, b)) return
    if (path === 'resync') await this.replicas[a].service.store.dropOlderThan(this.replicas[a].service.store.horizonMs())
    for (const [x, y] of [[a, b], [b, a]].map(([i, j]) => [this.replicas[i], this.replicas[j]])) {
      const horizon = y.service.store.horizonMs()
      const push: Uint8Array[] = []
      for await (const e of x.service.store.entries()) {
        if (e.version.ts.wallMs < horizon || await x.service.store.lookupShared(e.key) == null) continue
        const theirs = (await y.service.store.lookupShared(e.key))?.entry
        if (theirs == null || Buffer.compare(Buffer.from(theirs.wire), Buffer.from(e.wire)) !== 0) push.push(e.wire)
      }
      const fresh = await withoutStale(push, async (key) => y.service.store.lookup(key))
      if (fresh.length > 0) await y.service.importEntries(fresh, x.peerId, path)
      this.stats.synced += fresh.length
    }
  }

  /** L3 for node `at`: ask its connected peers in turn; the first answer taken in wins. */
  async fetch (at: number, key: string, accept: (from: PeerId, wire: Uint8Array) => Promise<boolean>): Promise<boolean> {
    for (const peer of this.neighbours(at)) {
      const held = (await peer.service.store.lookupShared(key))?.entry
      if (held != null && await accept(peer.peerId, held.wire)) {
        this.stats.fetched++
        return true
      }
    }
    return false
  }

  async get (at: number, key: string): Promise<void> {
    await this.replicas[at].service.get(key)
  }

  /** A put (tombstone = del) at node `at`; recorded when acknowledged, counted when refused for clock skew. */
  async write (at: number, key: string, tombstone: boolean): Promise<void> {
    const r = this.replicas[at]
    const id = `w${this.nextWrite++}`
    const seenBefore = new Set(r.seen)
    let entry: StoredEntry
    try {
      entry = tombstone ? await r.service.del(key) : await r.service.put(key, new TextEncoder().encode(JSON.stringify(id)))
    } catch (err) {
      if (err instanceof ClockSkewError) {
        this.stats.refused++
        return
      }
      throw err
    }
    this.stats.acked++
    this.writeOf.set(vkey(entry.version), id)
    this.currentOf.set(id, entry.version)
    if (this.localReplaced != null) this.supersede(this.localReplaced, id)
    this.localReplaced = undefined
    r.seen.add(id)
    this.acked.push({ id, node: at, key, tombstone, seenBefore, at: this.t, wallMs: entry.version.ts.wallMs, origin: entry.version.origin })
    // Read your write, and causality: above every version of the key this node ever held that
    // still exists (in a store or a message). Versions written alone and replaced before they
    // were shared (re-dated or overwritten) are gone for good: the clock may go back below them.
    const held = (await r.service.store.lookup(key))?.entry
    if (held == null || vkey(held.version) !== vkey(entry.version)) this.violations.push(`${id} at node ${at}: not what the node holds right after it was acknowledged`)
    for (const [vk, v] of r.heldEver.get(key) ?? []) {
      if (vk === vkey(entry.version) || compareVersions(entry.version, v) > 0) continue
      if (await this.exists(key, vk)) this.violations.push(`${id} at node ${at}: version not above ${this.writeOf.get(vk) ?? vk}, which the node held before and which still exists`)
    }
  }

  /** Called by every replica's onApplied. */
  applied (r: Replica, entry: StoredEntry, source: string, replaced?: StoredEntry): void {
    if (source === 'local') this.localReplaced = replaced
    else if (source !== 'redate' && replaced != null) this.supersede(replaced, this.writeOf.get(vkey(entry.version)))
    if (source === 'redate' && replaced != null) {
      this.stats.redated++
      const id = this.writeOf.get(vkey(replaced.version))
      if (id != null) {
        this.writeOf.set(vkey(entry.version), id)
        this.currentOf.set(id, entry.version)
        this.redatedWrites.add(id)
      }
    }
    const id = this.writeOf.get(vkey(entry.version))
    if (id != null) r.seen.add(id)
    // (A local write is registered once acknowledged: its version may reuse one of a write made
    // alone and replaced before it was shared.)
    if (source !== 'local' && !entry.tombstone && id != null && JSON.parse(utf8(entry.value)) !== id) this.violations.push(`version of ${id} carries another value`)
    let versions = r.heldEver.get(entry.key)
    if (versions == null) r.heldEver.set(entry.key, versions = new Map())
    versions.set(vkey(entry.version), entry.version)
  }

  private supersede (replaced: StoredEntry, by: string | undefined): void {
    const was = this.writeOf.get(vkey(replaced.version))
    if (was == null || by == null || was === by) return
    let set = this.replacedBy.get(was)
    if (set == null) this.replacedBy.set(was, set = new Set())
    set.add(by)
  }

  /** Is this version of the key held by a replica or carried by a message in flight? */
  async exists (key: string, vk: string): Promise<boolean> {
    for (const r of this.replicas) {
      const e = (await r.service.store.lookup(key))?.entry
      if (e != null && vkey(e.version) === vk) return true
    }
    return this.pool.some(m => {
      const e = fromStoredBytes(m.data)
      return e.key === key && vkey(e.version) === vk
    })
  }

  /** key → signed bytes (hex) held by a replica. */
  async contents (i: number): Promise<Map<string, string>> {
    const out = new Map<string, string>()
    for await (const e of this.replicas[i].service.store.entries()) out.set(e.key, Buffer.from(e.wire).toString('hex'))
    return out
  }
}
