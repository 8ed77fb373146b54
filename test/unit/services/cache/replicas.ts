/**
 * Real cache nodes on fake clocks, joined by a network the test drives one step at a time. Each
 * node is a real CacheService (intake, store, HLC, mesh time, re-dating) and a real
 * CacheSyncService (anti-entropy sessions, full resync, read-through fetch) whose streams are
 * in-memory stream pairs; only gossip is played by the harness: messages sit in a pool until a
 * step delivers (or duplicates, tampers with, or drops) one. Capacity ads happen when a step says
 * so. Every node's wall clock is the true time plus its own skew. One node may run a policy that
 * refuses one writer's entries (a quota, a role, a revocation its peers have not heard of).
 *
 * It also keeps the history a Jepsen-style checker needs: every acknowledged write, which writes
 * each node knew of (held, or refused by its policy) before it wrote, and which version each
 * re-dating gave a write.
 */
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { defaultLogger } from '@libp2p/logger'
import { streamPair } from '@libp2p/utils'
import { compareVersions, versionToBytes } from '../../../../src/core/cache/version.js'
import { MeshTime } from '../../../../src/core/mesh-time.js'
import { CACHE_TOPIC } from '../../../../src/node/config.js'
import { CacheService } from '../../../../src/services/cache/cache-service.js'
import { CacheStore } from '../../../../src/services/cache/cache-store.js'
import { fromStoredBytes } from '../../../../src/services/cache/entry.js'
import { CacheSyncService } from '../../../../src/services/cache-sync/cache-sync-service.js'
import { FedStore } from '../../../../src/store/store.js'
import { ClockSkewError } from '../../../../src/util/errors.js'
import { utf8 } from '../../../helpers/unit-cache.js'
import type { Identity } from '../../../helpers/unit-cache.js'
import type { Version } from '../../../../src/core/cache/version.js'
import type { StoredEntry } from '../../../../src/services/cache/entry.js'
import type { IntakePath } from '../../../../src/services/cache/intake.js'
import type { PeerId, Stream, StreamHandler, Topology } from '@libp2p/interface'

export const T0 = 1_750_000_000_000
/** The cache's drift bound (D): remote versions further ahead of the reference are refused. */
const MAX_DRIFT_MS = 60_000
/** The refusal reason of the harness's policy. */
export const POLICY_REFUSAL = 'policy'

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
  /** Writes (ids) the node knew of (held any version of, or refused by policy) before it issued this one. */
  seenBefore: Set<string>
  /** True time when it was written. */
  at: number
  /** Its version's wall time when acknowledged. */
  wallMs: number
  origin: string
}

/** Who refuses whose entries: node `node`'s policy refuses every entry written by node `writer`. */
export interface PolicyRefusal { node: number, writer: number }

export class Replica {
  readonly service: CacheService
  readonly sync: CacheSyncService
  readonly meshTime: MeshTime
  /** Writes this node knows of: held (any version of them), or refused by its policy. */
  readonly seen = new Set<string>()
  /** Versions (vkey) of each key this node held or refused by policy: its writes must be above them. */
  readonly knownEver = new Map<string, Map<string, Version>>()
  /** The origin whose entries this node's policy refuses, if any. */
  refuses: string | undefined
  /**
   * The node's reference time when its intake's skew check passed a remote version (vkey), read
   * in the authorizer, which the intake calls in the same turn as that check: the moment the
   * bound applies to. The store merge comes later, after awaits; a clock step or ads meanwhile
   * move the reference, but not what the node decided.
   */
  readonly checkedAt = new Map<string, number>()
  handler: StreamHandler | undefined
  topology: Topology | undefined

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
    const logger = defaultLogger()
    this.service = new CacheService({ peerId: who.peerId, privateKey: who.key, pubsub: pubsub as any, logger }, {
      store: new CacheStore({ db: fed.sublevel('cache'), meta: fed.sublevel('meta'), clock: { now: () => this.meshTime.view().referenceMs } }),
      meta: fed.sublevel('meta'),
      clock: wall,
      meshTime: this.meshTime,
      maxDriftMs: MAX_DRIFT_MS,
      collectIntervalMs: 24 * 3600 * 1000,
      // Generous: the answer comes from memory, and a loaded machine must not turn it into a miss.
      fetchTimeoutMs: 60_000,
      authorize: (entry, ctx) => {
        if (ctx.path !== 'local') this.checkedAt.set(vkey(entry.version), this.meshTime.view().referenceMs)
        if (entry.version.origin !== this.refuses) return undefined
        mesh.policyRefused(this, entry)
        return { reason: POLICY_REFUSAL, penalize: false }
      },
      fetchRemote: async (key, accept, signal) => this.sync.fetch(key, mesh.tracked(this, accept), signal),
      onApplied: (entry, source, replaced) => { mesh.applied(this, entry, source, replaced) }
    })
    this.sync = new CacheSyncService({
      peerId: who.peerId,
      logger,
      registrar: {
        handle: async (_protocol: string, handler: StreamHandler) => { this.handler = handler },
        unhandle: async () => { this.handler = undefined },
        register: async (_protocol: string, topology: Topology) => { this.topology = topology; return 'topology' },
        unregister: () => { this.topology = undefined }
      } as any,
      connectionManager: {
        getConnections: () => [],
        openStream: async (peer: PeerId) => mesh.openStream(this, peer)
      } as any,
      peerStore: { get: async () => { throw new Error('not stored') } } as any
    }, {
      cache: () => this.service,
      meta: fed.sublevel('meta'),
      clock: wall,
      random: mesh.random,
      syncOnConnect: false,
      // Sessions run when a step says so (setTimeout's limit is 2^31 - 1 ms).
      intervalMs: 2 ** 30,
      // Every connected peer is asked: the first answer the intake takes in wins.
      fetchPeers: 8,
      onSession: (_peer, result) => { mesh.sessionEnded(result) }
    })
  }

  get peerId (): PeerId { return this.who.peerId }
  wall (now: number): number { return now + this.skewMs }

  validator (): (source: PeerId, msg: any) => Promise<TopicValidatorResult> {
    return (this.service as any).components.pubsub.topicValidators.get(CACHE_TOPIC)
  }

  async start (peers: PeerId[]): Promise<void> {
    await this.service.start()
    await this.sync.start()
    this.service.afterStart()
    await this.sync.afterStart()
    // Every other node speaks the protocol; whether a stream opens depends on the partition.
    for (const p of peers) this.topology?.filter?.add(p)
  }

  async stop (): Promise<void> {
    this.service.beforeStop()
    this.sync.beforeStop()
    await this.sync.stop()
    await this.service.stop()
  }
}

export interface MeshStats {
  acked: number
  refused: number
  redated: number
  delivered: number
  tampered: number
  /** Read-through fetch answers the intake took in. */
  fetched: number
  /** Entries the real sessions pushed to the other side. */
  synced: number
  sessions: number
  /** Entries a node's policy refused (and whose clock moved past them). */
  policyRefused: number
  /** Steps run concurrently with another. */
  concurrent: number
  /** Writes of a key by a node whose policy had refused a version of it (its write must beat that version). */
  overRefused: number
  /** Entries applied, by path. */
  appliedBy: Record<string, number>
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
  /** What each local write replaced where it was written (by node and version). */
  private readonly localReplaced = new Map<string, StoredEntry | undefined>()
  readonly stats: MeshStats = { acked: 0, refused: 0, redated: 0, delivered: 0, tampered: 0, fetched: 0, synced: 0, sessions: 0, policyRefused: 0, concurrent: 0, overRefused: 0, appliedBy: {} }
  readonly violations: string[] = []
  policy: PolicyRefusal | undefined
  /** Fetch answers still being taken in (the first one resolved the read; the others go on). */
  private pendingAccepts = 0
  private nextWrite = 0

  private constructor (readonly random: () => number) {}

  static async create (identities: Identity[], skews: number[], groups: number[], options: { policy?: PolicyRefusal, seed?: number } = {}): Promise<Mesh> {
    const mesh = new Mesh(seededRandom(options.seed ?? 1))
    mesh.groups = groups
    for (let i = 0; i < skews.length; i++) {
      mesh.replicas.push(new Replica(i, identities[i], skews[i], await FedStore.memory(), mesh))
    }
    if (options.policy != null) {
      mesh.policy = options.policy
      mesh.replicas[options.policy.node].refuses = mesh.replicas[options.policy.writer].peerId.toString()
    }
    for (const r of mesh.replicas) await r.start(mesh.replicas.filter(o => o !== r).map(o => o.peerId))
    return mesh
  }

  async close (): Promise<void> {
    await this.idle()
    for (const r of this.replicas) {
      await r.stop()
      await r.fed.close()
    }
  }

  connected (a: number, b: number): boolean {
    return a !== b && this.groups[a] === this.groups[b]
  }

  neighbours (a: number): Replica[] {
    return this.replicas.filter(r => this.connected(a, r.index))
  }

  /** What the fake connection manager does: a fresh in-memory stream to a connected peer's handler. */
  async openStream (from: Replica, peer: PeerId): Promise<Stream> {
    const to = this.replicas.find(r => r.peerId.equals(peer))
    if (to == null || !this.connected(from.index, to.index) || to.handler == null) throw new Error('not connected')
    const [outbound, inbound] = await streamPair({ delay: 0 })
    void to.handler(inbound, { remotePeer: from.peerId } as any)
    return outbound
  }

  publish (from: number, data: Uint8Array): void {
    for (const n of this.neighbours(from)) this.pool.push({ publisher: from, hop: from, to: n.index, data, sentAt: this.t })
  }

  /**
   * Deliver one message (it stays in the pool too when `duplicate`); lost when its link is down.
   * `tamper`: a copy with one byte flipped arrives instead (a faulty relay): it must be refused.
   */
  async deliver (pick: number, duplicate = false, tamper = false): Promise<void> {
    if (this.pool.length === 0) return
    const i = pick % this.pool.length
    const m = this.pool[i]
    if (!duplicate) this.pool.splice(i, 1)
    if (!this.connected(m.hop, m.to) || this.t - m.sentAt > GOSSIP_TTL_MS) return
    const to = this.replicas[m.to]
    const data = tamper ? m.data.map((b, j) => j === pick % m.data.length ? b ^ (1 << (pick % 8)) : b) : m.data
    const msg = { type: 'signed', from: this.replicas[m.publisher].peerId, data, topic: CACHE_TOPIC }
    this.stats.delivered++
    const result = await to.validator()(this.replicas[m.hop].peerId, msg)
    if (tamper) {
      this.stats.tampered++
      if (result === TopicValidatorResult.Accept) this.violations.push(`node ${m.to} accepted a tampered gossip message`)
      return
    }
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

  /**
   * One real anti-entropy session, `a` initiating (`resync`: `a` first drops its entries older
   * than its horizon, as a full resync does). Refused when a session between them already runs.
   */
  async sync (a: number, b: number, resync = false): Promise<void> {
    if (!this.connected(a, b)) return
    const from = this.replicas[a]
    if (resync) await from.service.store.dropOlderThan(from.service.store.horizonMs())
    try {
      await from.sync.syncWith(this.replicas[b].peerId)
    } catch (err) {
      // Busy (a session with that peer, concurrent step) or cut by a partition: nothing was lost.
      if (!['SyncBusyError', 'StreamResetError', 'StreamAbortedError', 'AbortError'].includes((err as Error).name) && (err as Error).message !== 'not connected') throw err
    }
  }

  sessionEnded (result: { entriesSent: number } | Error): void {
    if (result instanceof Error) return
    this.stats.sessions++
    this.stats.synced += result.entriesSent
  }

  /** Fetch answers are counted, and waited for before the mesh is checked. */
  tracked (r: Replica, accept: (from: PeerId, wire: Uint8Array) => Promise<boolean>): (from: PeerId, wire: Uint8Array) => Promise<boolean> {
    return async (from, wire) => {
      this.pendingAccepts++
      try {
        const ok = await accept(from, wire)
        if (ok) this.stats.fetched++
        return ok
      } finally {
        this.pendingAccepts--
      }
    }
  }

  /** Read a key at node `at` (through L3 when it holds nothing for it). */
  async get (at: number, key: string): Promise<void> {
    await this.replicas[at].service.get(key)
  }

  /** Wait until no session runs and no fetch answer is being taken in anywhere. */
  async idle (): Promise<void> {
    for (let i = 0; i < 10_000; i++) {
      await new Promise(resolve => setImmediate(resolve))
      const sessions = this.replicas.reduce((n, r) => n + r.sync.activeSessions, 0)
      if (sessions === 0 && this.pendingAccepts === 0) {
        // A few more turns for answers still travelling in their streams.
        for (let j = 0; j < 5; j++) await new Promise(resolve => setImmediate(resolve))
        if (this.pendingAccepts === 0) return
      }
    }
    throw new Error('the mesh never went idle')
  }

  /**
   * A put (tombstone = del) at node `at`; recorded when acknowledged, counted when refused for
   * clock skew. `concurrent`: other steps run meanwhile (what the node holds right after may
   * already be a newer version they brought).
   */
  async write (at: number, key: string, tombstone: boolean, concurrent = false): Promise<void> {
    const r = this.replicas[at]
    const id = `w${this.nextWrite++}`
    const seenBefore = new Set(r.seen)
    const knownBefore = new Map(r.knownEver.get(key) ?? [])
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
    if (r.refuses != null && [...knownBefore.values()].some(v => v.origin === r.refuses)) this.stats.overRefused++
    this.writeOf.set(vkey(entry.version), id)
    this.currentOf.set(id, entry.version)
    const replacedKey = `${at}/${vkey(entry.version)}`
    const replaced = this.localReplaced.get(replacedKey)
    this.localReplaced.delete(replacedKey)
    if (replaced != null) this.supersede(replaced, id)
    r.seen.add(id)
    this.acked.push({ id, node: at, key, tombstone, seenBefore, at: this.t, wallMs: entry.version.ts.wallMs, origin: entry.version.origin })
    // Read your write, and causality: above every version of the key this node knew of (held,
    // or refused by its policy) that still exists (in a store or a message). Versions written
    // alone and replaced before they were shared (re-dated or overwritten) are gone for good:
    // the clock may go back below them.
    const held = (await r.service.store.lookup(key))?.entry
    const newerArrived = concurrent && held != null && compareVersions(held.version, entry.version) > 0
    if (!newerArrived && (held == null || vkey(held.version) !== vkey(entry.version))) this.violations.push(`${id} at node ${at}: not what the node holds right after it was acknowledged`)
    for (const [vk, v] of knownBefore) {
      if (vk === vkey(entry.version) || compareVersions(entry.version, v) > 0) continue
      if (await this.exists(key, vk)) this.violations.push(`${id} at node ${at}: version not above ${this.writeOf.get(vk) ?? vk}, which the node knew of before and which still exists`)
    }
  }

  /** Called by every replica's onApplied. */
  applied (r: Replica, entry: StoredEntry, source: string, replaced?: StoredEntry): void {
    this.stats.appliedBy[source] = (this.stats.appliedBy[source] ?? 0) + 1
    if (source === 'local') this.localReplaced.set(`${r.index}/${vkey(entry.version)}`, replaced)
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
    if (source !== 'local' && source !== 'redate') this.checkSkewBound(r, entry, source as IntakePath)
    const id = this.writeOf.get(vkey(entry.version))
    if (id != null) r.seen.add(id)
    // (A local write is registered once acknowledged: its version may reuse one of a write made
    // alone and replaced before it was shared.)
    if (source !== 'local' && !entry.tombstone && id != null && JSON.parse(utf8(entry.value)) !== id) this.violations.push(`version of ${id} carries another value`)
    this.know(r, entry)
  }

  /** Node `r`'s policy refused an entry: it knows of the write now (its clock moved past it). */
  policyRefused (r: Replica, entry: StoredEntry): void {
    this.stats.policyRefused++
    const id = this.writeOf.get(vkey(entry.version))
    if (id != null) r.seen.add(id)
    this.know(r, entry)
  }

  /**
   * A remote version is never taken in beyond the drift bound of the node's reference time when
   * its intake checked it. Not the reference now: between the check and the merge (awaits: the
   * key's lock, the store) a step (a clock step, ads, run alongside or after a session whose
   * import goes on in the background) may move it back, and a version the node rightly took in
   * just before that is no violation. One stored without passing the check (no reading) is
   * held to the reference now.
   */
  private checkSkewBound (r: Replica, entry: StoredEntry, path: IntakePath): void {
    const vk = vkey(entry.version)
    const reference = r.checkedAt.get(vk) ?? r.meshTime.view().referenceMs
    r.checkedAt.delete(vk)
    const ahead = entry.version.ts.wallMs - reference
    if (ahead > MAX_DRIFT_MS) this.violations.push(`node ${r.index} took in (${path}) a version ${ahead} ms ahead of its reference time`)
  }

  private know (r: Replica, entry: StoredEntry): void {
    let versions = r.knownEver.get(entry.key)
    if (versions == null) r.knownEver.set(entry.key, versions = new Map())
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

  /** key → the stored entry of replica `i`. */
  async contents (i: number): Promise<Map<string, StoredEntry>> {
    const out = new Map<string, StoredEntry>()
    for await (const e of this.replicas[i].service.store.entries()) out.set(e.key, e)
    return out
  }

  /** The replica whose store every other must match (one not refusing anyone). */
  get reference (): number {
    return this.policy?.node === 0 ? 1 : 0
  }

  /**
   * Do the replicas hold the same? Every node without a policy holds exactly the reference's
   * entries; the refusing node too, except for keys whose entry there is one its policy refuses
   * and it holds nothing newer. (A newer version it holds, e.g. one it wrote while it and others
   * agreed on a clock ahead, is still to reach the others, once their clocks reach it: not
   * converged yet.)
   */
  async converged (): Promise<boolean> {
    const states = await Promise.all(this.replicas.map(async (_, i) => this.contents(i)))
    const ref = states[this.reference]
    return states.every((s, i) => {
      const exempt = (key: string): boolean => {
        const refused = ref.get(key)
        if (refused == null || i !== this.policy?.node || refused.version.origin !== this.replicas[i].refuses) return false
        const held = s.get(key)
        return held == null || compareVersions(held.version, refused.version) < 0
      }
      const keys = new Set([...ref.keys(), ...s.keys()])
      for (const key of keys) {
        if (exempt(key)) continue
        const a = ref.get(key)
        const b = s.get(key)
        if (a == null || b == null || Buffer.compare(Buffer.from(a.wire), Buffer.from(b.wire)) !== 0) return false
      }
      return true
    })
  }
}

/** Mulberry32: the harness's own randomness (which peers a fetch asks first), from the scenario. */
function seededRandom (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = Math.imul(s ^ (s >>> 15), 1 | s)
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}
