import { createHash, randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createFederationNode } from '../src/node/create-node.js'
import { signEntry } from '../src/services/cache/entry.js'
import { SyncChannel } from '../src/services/cache-sync/channel.js'
import { MAX_ENTRIES_PER_MESSAGE, maxEntryBytes, maxMessageBytes } from '../src/services/cache-sync/codec.js'
import { compareVersions } from '../src/core/cache/version.js'
import { FedStore } from '../src/store/store.js'
import { CacheEntry } from '../src/wire/cache.js'
import { round } from './bench-util.js'
import type { FederationNode } from '../src/node/federation-node.js'
import type { StoredEntry } from '../src/services/cache/entry.js'
import type { PeerId, Stream } from '@libp2p/interface'

const SHARED = 100_000
/** Keys on one side only (half each side), and keys written on both sides in different versions. */
const ONLY_ONE_SIDE = 8_000
const CONFLICTING = 2_000
const VALUE_BYTES = 100
const ENTRIES_BYTES_PER_MESSAGE = 256 * 1024
const FULL_STATE_PROTOCOL = '/fedmesh-bench/full-state/1'
const TIMEOUT_MS = 120_000

interface Dataset {
  a: StoredEntry[]
  b: StoredEntry[]
  /** Bytes that must cross for the two to converge: each one-sided entry, and the newer version of each conflicting key. */
  divergentBytes: number
  entryBytesMean: number
  signMs: number
}

/**
 * `npm run bench -- sync`: two nodes in one process over TCP on 127.0.0.1 hold 100,000 shared
 * keys and 10,000 divergent ones (4,000 only on A, 4,000 only on B, 2,000 written on both in
 * different versions, keys spread over the whole key space), and reconcile over
 * /fedmesh/cache-sync/1.0.0 when they connect. Measured: time from the dial until both stores
 * hold the same set, and the bytes on the sync stream against the bytes of the divergent
 * entries. Baseline in the same run, from the same starting stores: a full-state transfer in
 * which each node sends every entry it holds to the other (same framing and connection), and the
 * receiver verifies and merges what it does not hold byte for byte.
 */
export async function benchSync (): Promise<Record<string, unknown>> {
  const data = await dataset()

  const sync = await measurePair(data, async (a, b) => {
    await a.libp2p.dial(multiaddr(b.libp2p.getMultiaddrs()[0].toString()))
  }, (a, b) => a.libp2p.services.cacheSync.stats().sessionsCompleted > 0 && b.libp2p.services.cacheSync.stats().sessionsCompleted > 0)
  const syncStats = [sync.a.libp2p.services.cacheSync.stats(), sync.b.libp2p.services.cacheSync.stats()]
  await stopPair(sync.a, sync.b)
  const syncBytes = syncStats[0].bytesSent + syncStats[1].bytesSent
  const entryBytes = syncStats[0].entryBytesSent + syncStats[1].entryBytesSent

  // The baseline moves 20x the bytes for several seconds: on a loaded machine the link can be
  // judged silent and closed under it. Report that rather than lose the run's figures.
  let full: { ms: number, bytes: number } | { error: string }
  try {
    full = await fullStateTransfer(data)
  } catch (err) {
    full = { error: (err as Error).message }
  }
  return {
    bench: 'sync',
    setup: { sharedKeys: SHARED, divergentKeys: ONLY_ONE_SIDE + CONFLICTING, onlyOnOneSide: ONLY_ONE_SIDE, conflicting: CONFLICTING, entryBytesMean: round(data.entryBytesMean, 1), divergentBytes: data.divergentBytes, transport: 'tcp 127.0.0.1', signMs: Math.round(data.signMs) },
    fedmesh: {
      convergeMs: sync.ms,
      bytes: syncBytes,
      bytesVsDivergent: round(syncBytes / data.divergentBytes, 2),
      entryBytes,
      reconcileAndFramingBytes: syncBytes - entryBytes,
      entriesPushed: syncStats[0].entriesSent + syncStats[1].entriesSent,
      sessions: syncStats[0].sessionsCompleted
    },
    baseline: 'error' in full
      ? { name: 'full-state-transfer', error: full.error }
      : { name: 'full-state-transfer', convergeMs: full.ms, bytes: full.bytes, bytesVsDivergent: round(full.bytes / data.divergentBytes, 2) },
    bytesRatioVsFullState: 'error' in full ? null : round(syncBytes / full.bytes, 4),
    timeRatioVsFullState: 'error' in full ? null : round(sync.ms / full.ms, 2),
    goals: { convergeMs: 5_000, bytesVsDivergent: 2 }
  }
}

/** The baseline: each node sends every entry it holds to the other over a stream of its own. */
async function fullStateTransfer (data: Dataset): Promise<{ ms: number, bytes: number }> {
  let bytes = 0
  let received = 0
  let failure: Error | undefined
  const pair = await measurePair(data, async (a, b) => {
    for (const n of [a, b]) {
      await n.libp2p.handle(FULL_STATE_PROTOCOL, (stream, conn) => {
        receiveAll(n, stream, conn.remotePeer).then(() => { received++ }, (err: Error) => { failure = err })
      })
    }
    const there = await a.libp2p.dialProtocol(multiaddr(b.libp2p.getMultiaddrs()[0].toString()), FULL_STATE_PROTOCOL)
    const back = await b.libp2p.dialProtocol(a.peerId, FULL_STATE_PROTOCOL)
    const sent = await Promise.all([sendAll(a, there), sendAll(b, back)])
    bytes = sent[0] + sent[1]
  }, () => {
    if (failure != null) throw failure
    return received === 2
  }, false)
  await stopPair(pair.a, pair.b)
  return { ms: pair.ms, bytes }
}

async function dataset (): Promise<Dataset> {
  const started = performance.now()
  const keys = [await generateKeyPair('Ed25519'), await generateKeyPair('Ed25519')]
  const origins = keys.map(k => ({ key: k, id: peerIdFromPrivateKey(k) }))
  const now = Date.now()
  let n = 0
  const write = async (o: number, key: string, ageMs: number): Promise<StoredEntry> => signEntry(origins[o].key, origins[o].id, {
    key, value: randomBytes(VALUE_BYTES), ts: { wallMs: now - 60_000 - ageMs, counter: n++ & 0xffff }, ttlSeconds: 0, tombstone: false
  })
  // Keys hashed from their number: the divergent ones land all over the key space, the worst case for reconciliation.
  const key = (i: number): string => `obj/${createHash('sha256').update(String(i)).digest('hex').slice(0, 16)}`
  const a: StoredEntry[] = []
  const b: StoredEntry[] = []
  let divergentBytes = 0
  let i = 0
  for (; i < SHARED; i++) {
    const e = await write(i % 2, key(i), i % 600_000)
    a.push(e)
    b.push(e)
  }
  for (let j = 0; j < ONLY_ONE_SIDE; j++, i++) {
    const e = await write(j % 2, key(i), j)
    ;(j % 2 === 0 ? a : b).push(e)
    divergentBytes += e.wire.byteLength
  }
  for (let j = 0; j < CONFLICTING; j++, i++) {
    const k = key(i)
    const ea = await write(0, k, j % 2 === 0 ? 1_000 : 2_000)
    const eb = await write(1, k, j % 2 === 0 ? 2_000 : 1_000)
    a.push(ea)
    b.push(eb)
    divergentBytes += (compareVersions(ea.version, eb.version) > 0 ? ea : eb).wire.byteLength
  }
  const all = [...a, ...b]
  return { a, b, divergentBytes, entryBytesMean: all.reduce((s, e) => s + e.wire.byteLength, 0) / all.length, signMs: performance.now() - started }
}

/** Two fresh nodes with the dataset written straight into their stores; `connect` starts the transfer. */
async function measurePair (data: Dataset, connect: (a: FederationNode, b: FederationNode) => Promise<void>, ready: (a: FederationNode, b: FederationNode) => boolean, antiEntropy = true): Promise<{ a: FederationNode, b: FederationNode, ms: number }> {
  const [a, b] = await Promise.all([node(data.a, antiEntropy), node(data.b, antiEntropy)])
  try {
    return await converge(a, b, connect, ready)
  } catch (err) {
    await stopPair(a, b)
    throw err
  }
}

async function converge (a: FederationNode, b: FederationNode, connect: (a: FederationNode, b: FederationNode) => Promise<void>, ready: (a: FederationNode, b: FederationNode) => boolean): Promise<{ a: FederationNode, b: FederationNode, ms: number }> {
  const t0 = performance.now()
  await connect(a, b)
  const ia = a.libp2p.services.cache.store.index
  const ib = b.libp2p.services.cache.store.index
  const expected = SHARED + ONLY_ONE_SIDE + CONFLICTING
  // Settling the index costs O(n) per look while entries arrive: look only when one may be done.
  while (!(await done())) {
    if (performance.now() - t0 > TIMEOUT_MS) throw new Error(`no convergence within ${TIMEOUT_MS} ms (${ia.size} vs ${ib.size} keys)`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
  return { a, b, ms: Math.round(performance.now() - t0) }

  async function done (): Promise<boolean> {
    if (!ready(a, b)) return false
    return ia.size === expected && ib.size === expected && Buffer.compare(ia.fingerprint('').xor, ib.fingerprint('').xor) === 0
  }
}

async function node (entries: StoredEntry[], antiEntropy: boolean): Promise<FederationNode> {
  const store = await FedStore.memory()
  const cache = store.sublevel('cache')
  for (let i = 0; i < entries.length; i += 10_000) {
    await cache.batch(entries.slice(i, i + 10_000).map(e => ({ type: 'put' as const, key: e.key, value: e.wire })))
  }
  const n = await createFederationNode({
    open: true,
    store, mdns: false, dht: false, profile: 'local', journal: false, listen: ['/ip4/127.0.0.1/tcp/0'],
    // The full-state baseline pair runs without anti-entropy: the baseline alone moves the data.
    cacheSync: antiEntropy ? undefined : { syncOnConnect: false, intervalMs: 3_600_000 }
  })
  await n.start()
  return n
}

async function stopPair (a: FederationNode, b: FederationNode): Promise<void> {
  await Promise.all([a.stop(0), b.stop(0)])
  await Promise.all([a.store.close(), b.store.close()])
}

const LIMITS = { maxEntryBytes: maxEntryBytes(), maxMessageBytes: maxMessageBytes() }

/** Baseline sender: every entry held, in ENTRIES messages of the same size as the sync's. */
async function sendAll (from: FederationNode, stream: Stream): Promise<number> {
  const channel = new SyncChannel(stream, LIMITS)
  let batch: Uint8Array[] = []
  let bytes = 0
  for await (const e of from.libp2p.services.cache.store.entries()) {
    if (batch.length > 0 && (bytes + e.wire.byteLength > ENTRIES_BYTES_PER_MESSAGE || batch.length >= MAX_ENTRIES_PER_MESSAGE)) {
      await channel.send({ type: 'entries', entries: batch })
      batch = []
      bytes = 0
    }
    batch.push(e.wire)
    bytes += e.wire.byteLength
  }
  if (batch.length > 0) await channel.send({ type: 'entries', entries: batch })
  await channel.close()
  return channel.bytesSent
}

/** Baseline receiver: skips what it holds byte for byte, verifies and merges the rest. */
async function receiveAll (to: FederationNode, stream: Stream, from: PeerId): Promise<void> {
  const channel = new SyncChannel(stream, LIMITS)
  const { cache } = to.libp2p.services
  for await (const frame of channel.frames()) {
    if (frame.type !== 'entries') continue
    for (let i = 0; i < frame.entries.length; i += 48) {
      // Yield between slices, as the sync service does, so heartbeats keep flowing.
      await new Promise(resolve => setImmediate(resolve))
      const differing: Uint8Array[] = []
      for (const wire of frame.entries.slice(i, i + 48)) {
        const held = await cache.store.lookup(CacheEntry.decode(wire).key)
        if (held == null || Buffer.compare(held.entry.wire, wire) !== 0) differing.push(wire)
      }
      if (differing.length > 0) await cache.importEntries(differing, from, 'sync')
    }
  }
  await channel.close()
}
