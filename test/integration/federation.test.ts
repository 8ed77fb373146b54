import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FedStore } from '../../src/store/store.js'
import { FederationStore } from '../../src/store/federation-store.js'
import { certificateHash } from '../../src/services/federation/credentials.js'
import { startDaemon, stopAll, tempDir, waitFor } from '../helpers/daemon.js'
import { createRawPeer, multiaddr } from '../helpers/raw-peer.js'
import type { Daemon } from '../helpers/daemon.js'

/**
 * Private federations with real daemons: invites, the membership boundary against a stock
 * libp2p peer, revocation (live, across restarts and after a partition), expiry and renewal.
 */

interface PeerDoc { peerId: string, connected: boolean, membership?: string, refusal?: { reason: string, count: number } }
interface MemberDoc { peerId: string, name: string, roles: string[], expiresAt: string, revoked: boolean, standing: string, connected: boolean }
interface FederationDoc { federationId: string, name: string, open: boolean, roles: string[], certificateExpiresAt: string, members: number, founder: boolean }

afterAll(stopAll)

/** Open a (stopped) daemon's store from the test, as the library would. */
async function withStore<T> (dataDir: string, fn: (store: FedStore) => Promise<T>): Promise<T> {
  const store = await FedStore.open(dataDir)
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}

/** A private daemon (a federation of one until it joins). */
async function privateDaemon (name: string, args: string[] = []): Promise<Daemon> {
  return await startDaemon({ name, open: false, args })
}

async function invite (admin: Daemon, ...args: string[]): Promise<string> {
  return (await admin.json<{ token: string }>('federation', 'invite', ...args)).token
}

async function connectedPeers (d: Daemon): Promise<string[]> {
  return (await d.json<PeerDoc[]>('peers')).filter(p => p.connected).map(p => p.peerId)
}

describe('a private federation of real daemons', () => {
  let a: Daemon, b: Daemon
  let aId: string, bId: string

  beforeAll(async () => {
    ;[a, b] = await Promise.all([privateDaemon('a'), privateDaemon('b')])
    ;[aId, bId] = await Promise.all([a.peerId(), b.peerId()])
    const t0 = Date.now()
    await b.json('federation', 'join', await invite(a))
    await waitFor(async () => (await connectedPeers(b)).includes(aId) && (await connectedPeers(a)).includes(bId), 10_000, 'B and A to see each other as members')
    console.info(`[federation] B joined and was connected to A as a member ${Date.now() - t0} ms after join`)
  })

  it('a fresh daemon founds a federation of one, with itself its admin', async () => {
    const s = await a.json<FederationDoc>('federation', 'status')
    expect(s).toMatchObject({ open: false, founder: true, roles: ['submit', 'serve', 'cache-write', 'admin'] })
    expect(s.federationId).toMatch(/^[a-z2-7]{26}$/)
    expect(Date.parse(s.certificateExpiresAt)).toBeGreaterThan(Date.now())
    const joined = await b.json<FederationDoc>('federation', 'status')
    expect(joined).toMatchObject({ federationId: s.federationId, founder: false, roles: ['submit', 'serve', 'cache-write'] })
    const members = await a.json<MemberDoc[]>('federation', 'members')
    expect(members.map(m => m.peerId).sort()).toEqual([aId, bId].sort())
  })

  it('members share work and the cache; the banner of an --open daemon warns', async () => {
    const run = await b.json<{ status: string, peer: string }>('run', 'echo', '--input', '"hi"', '--peer', aId)
    expect(run).toMatchObject({ status: 'ok', peer: aId })
    await a.json('cache', 'put', 'fed-key', 'fed-value')
    await waitFor(async () => (await b.api('GET', '/v1/cache/fed-key')).body?.value === 'fed-value', 10_000, 'B to hold A\'s write')
    const open = await startDaemon({ name: 'lab' })
    expect(open.stdout).toMatch(/WARNING\s+open mesh/)
    await open.stop()
  })

  it('a member with only serve is routed to but cannot submit to others', async () => {
    const s = await privateDaemon('serve-only')
    const sId = await s.peerId()
    await s.json('federation', 'join', await invite(a, '--roles', 'serve'))
    await waitFor(async () => (await connectedPeers(a)).includes(sId), 10_000, 'S to join A')
    const pinned = await s.cli('run', 'echo', '--input', '"x"', '--peer', aId, '--json')
    expect(pinned.code).not.toBe(0)
    expect(pinned.stderr).toMatch(/no submit role/)
    // Its own tasks still run, on itself.
    expect(await s.json<{ status: string, peer: string }>('run', 'echo', '--input', '"mine"')).toMatchObject({ status: 'ok', peer: sId })
    // Others may send it work.
    expect(await a.json<{ status: string, peer: string }>('run', 'echo', '--input', '"to s"', '--peer', sId)).toMatchObject({ status: 'ok', peer: sId })
    await s.stop()
  })

  it('cache writes: refused without cache-write, under another writer\'s @prefix, and past the writer quota', async () => {
    const r = await privateDaemon('reader')
    await r.json('federation', 'join', await invite(a, '--roles', 'submit,serve'))
    const denied = await r.cli('cache', 'put', 'anything', 'x')
    expect(denied.code).not.toBe(0)
    expect(denied.stderr).toMatch(/no cache-write role/)
    const foreign = await b.cli('cache', 'put', `@${aId}/settings`, 'x')
    expect(foreign.code).not.toBe(0)
    expect(foreign.stderr).toMatch(/belong to that peer/)
    expect((await b.json<{ key: string }>('cache', 'put', `@${bId}/settings`, 'mine')).key).toBe(`@${bId}/settings`)
    await waitFor(async () => (await a.api('GET', `/v1/cache/${encodeURIComponent(`@${bId}/settings`)}`)).body?.value === 'mine', 10_000, 'A to hold B\'s own key')
    const q = await startDaemon({ name: 'quota', open: false, config: { cacheQuota: { entries: 2 } } })
    await q.json('federation', 'join', await invite(a))
    await q.json('cache', 'put', 'q1', 'x')
    await q.json('cache', 'put', 'q2', 'x')
    const over = await q.cli('cache', 'put', 'q3', 'x')
    expect(over.code).not.toBe(0)
    expect(over.stderr).toMatch(/quota is 2/)
    expect((await q.api('GET', '/metrics')).body).toMatch(/fedmesh_cache_refused_total\{reason="writer-quota"\} [1-9]/)
    await Promise.all([r.stop(), q.stop()])
  })

  it('a certificate replayed by another peer id is refused', async () => {
    // The thief's data dir holds its own identity but B's certificate (copied while B is down).
    await b.stop()
    const stolen = await withStore(b.dataDir, async store => await new FederationStore(store.sublevel('federation')).load())
    b = await startDaemon({ name: 'b', open: false, dataDir: b.dataDir, args: ['--bootstrap', await a.address()] })
    const thiefDir = await tempDir()
    await withStore(thiefDir, async store => {
      const certs = stolen!.certificates.map(bytes => ({ subject: bId, hash: certificateHash(bytes), bytes }))
      await new FederationStore(store.sublevel('federation')).replace({ rootKey: stolen!.rootKey, name: stolen!.name, certificates: certs, revocations: [] })
    })
    const thief = await startDaemon({ name: 'thief', open: false, dataDir: thiefDir, args: ['--bootstrap', await a.address()] })
    const thiefId = await thief.peerId()
    await waitFor(async () => (await a.json<PeerDoc[]>('peers', '--all')).some(p => p.peerId === thiefId && p.membership === 'refused'), 10_000, 'A to refuse the thief')
    expect(await connectedPeers(a)).not.toContain(thiefId)
    expect(await connectedPeers(thief)).toEqual([])
    await thief.stop()
  })

  it('an invite is single-use: the second redemption is refused with a clear message', async () => {
    const token = await invite(a)
    const c = await privateDaemon('c')
    await c.json('federation', 'join', token)
    const d = await privateDaemon('d')
    const second = await d.cli('federation', 'join', token)
    expect(second.code).not.toBe(0)
    expect(second.stderr).toMatch(/used already/)
    expect((await d.json<FederationDoc>('federation', 'status')).founder).toBe(true)
    await Promise.all([c.stop(), d.stop()])
  })

  it('a stock libp2p peer that reaches the port gets nothing and is not listed', async () => {
    const outsider = await createRawPeer()
    const received: string[] = []
    outsider.services.pubsub.addEventListener('message', (evt: any) => { received.push(evt.detail.topic) })
    try {
      outsider.services.pubsub.subscribe('/fedmesh/cache/1')
      outsider.services.pubsub.subscribe('/fedmesh/federation/1')
      const conn = await outsider.dial(multiaddr(await a.address()))
      const fed = await a.json<FederationDoc>('federation', 'status')
      // Every protocol but the membership handshake is refused: tasks (and with them the
      // owner's command kinds), cache-sync, the federation's DHT, capacity ads, gossip, ping.
      for (const protocol of ['/fedmesh/task/1.0.0', '/fedmesh/cache-sync/1.0.0', `/fedmesh/kad/${fed.federationId}/1.0.0`, '/fedmesh/kad/1.0.0', '/fedmesh/capacity/1.0.0', '/meshsub/1.1.0', '/ipfs/ping/1.0.0', '/ipfs/id/1.0.0']) {
        const answered = await conn.newStream(protocol, { signal: AbortSignal.timeout(15_000) })
          .then(async s => {
            s.send(new Uint8Array([1, 0]))
            for await (const _ of s) return true
            return false
          })
          .catch(() => false)
        expect(answered, `${protocol} answered an outsider`).toBe(false)
      }
      await a.json('cache', 'put', 'secret', 'for members only')
      // Refused at the handshake deadline: listed by `peers --all` only, with the reason.
      await waitFor(async () => (await a.json<PeerDoc[]>('peers', '--all')).some(p => p.peerId === outsider.peerId.toString() && p.membership === 'refused'), 15_000, 'A to refuse the outsider')
      expect((await a.json<PeerDoc[]>('peers')).map(p => p.peerId)).not.toContain(outsider.peerId.toString())
      expect(outsider.getConnections().filter(c => c.remotePeer.toString() === aId)).toHaveLength(0)
      expect(received).toEqual([])
      // A never learnt the outsider's protocols or addresses (identify was refused both ways).
      const metrics = (await a.api('GET', '/metrics')).body as string
      expect(metrics).toMatch(/fedmesh_federation_handshakes_total\{outcome="failed"\} [1-9]/)
    } finally {
      await outsider.stop()
    }
  })

  it('a revoked member is cut off within 10 s and stays refused across restarts of both sides', async () => {
    const e = await privateDaemon('e')
    const eId = await e.peerId()
    await e.json('federation', 'join', await invite(a))
    await waitFor(async () => (await connectedPeers(a)).includes(eId), 10_000, 'E to be connected to A')
    const t0 = Date.now()
    await a.json('federation', 'revoke', eId)
    await waitFor(async () => !(await connectedPeers(a)).includes(eId) && !(await connectedPeers(b)).includes(eId), 10_000, 'A and B to cut E off')
    console.info(`[federation] revoked member cut off by A and B ${Date.now() - t0} ms after revoke`)
    expect((await b.json<MemberDoc[]>('federation', 'members')).find(m => m.peerId === eId)?.revoked).toBe(true)
    // E learns why from the next member that refuses it (its re-dials of A carry on).
    await waitFor(async () => (await e.json<FederationDoc>('federation', 'status')).roles.length === 0, 15_000, 'E to learn it was revoked')
    expect((await e.json<{ problem?: string }>('federation', 'status')).problem).toMatch(/revoked/)

    // Restart both sides: the revocation is durable, E is refused on every reconnection.
    await Promise.all([e.stop(), b.stop()])
    b = await startDaemon({ name: 'b', open: false, dataDir: b.dataDir, args: ['--bootstrap', await a.address()] })
    const e2 = await startDaemon({ name: 'e', open: false, dataDir: e.dataDir, args: ['--bootstrap', await a.address(), '--bootstrap', await b.address()] })
    await waitFor(async () => (await connectedPeers(b)).includes(aId), 10_000, 'B to be back with A')
    await new Promise(resolve => setTimeout(resolve, 3_000))
    expect(await connectedPeers(a)).not.toContain(eId)
    expect(await connectedPeers(b)).not.toContain(eId)
    expect(await connectedPeers(e2)).toEqual([])
    await e2.stop()
  })

  it('a member that was away when a revocation happened learns it from the next handshake', async () => {
    const [f, g] = await Promise.all([privateDaemon('f'), privateDaemon('g')])
    const [fId, gId] = await Promise.all([f.peerId(), g.peerId()])
    await f.json('federation', 'join', await invite(a))
    await g.json('federation', 'join', await invite(a))
    await waitFor(async () => (await connectedPeers(a)).includes(fId) && (await connectedPeers(a)).includes(gId), 10_000, 'F and G to join')
    // Partition: both leave; G is revoked while neither hears of it.
    await Promise.all([f.stop(), g.stop()])
    await a.json('federation', 'revoke', gId)
    // F comes back (through A only): the handshake's roster exchange brings the revocation.
    const f2 = await startDaemon({ name: 'f', open: false, dataDir: f.dataDir, args: ['--bootstrap', await a.address()] })
    await waitFor(async () => (await f2.json<MemberDoc[]>('federation', 'members')).find(m => m.peerId === gId)?.revoked === true, 10_000, 'F to learn G\'s revocation')
    // G, which never heard it, tries F directly: refused.
    const g2 = await startDaemon({ name: 'g', open: false, dataDir: g.dataDir, args: ['--bootstrap', await f2.address()] })
    await waitFor(async () => (await f2.json<PeerDoc[]>('peers', '--all')).some(p => p.peerId === gId && p.membership === 'refused'), 10_000, 'F to refuse G')
    expect(await connectedPeers(f2)).not.toContain(gId)
    await Promise.all([f2.stop(), g2.stop()])
  })

  it('a certificate renews itself while an admin is reachable', async () => {
    const h = await privateDaemon('h')
    await h.json('federation', 'join', await invite(a, '--cert-ttl', '9s'))
    const first = (await h.json<FederationDoc>('federation', 'status')).certificateExpiresAt
    await waitFor(async () => (await h.json<FederationDoc>('federation', 'status')).certificateExpiresAt > first, 15_000, 'H to renew its certificate')
    await new Promise(resolve => setTimeout(resolve, Math.max(0, Date.parse(first) - Date.now() + 1_000)))
    expect((await h.json<FederationDoc>('federation', 'status')).roles).toContain('submit')
    expect(await connectedPeers(a)).toContain(await h.peerId())
    await h.stop()
  })

  it('an expired certificate is refused (no admin reachable to renew it)', async () => {
    const k = await privateDaemon('k')
    const kId = await k.peerId()
    await k.json('federation', 'join', await invite(a, '--cert-ttl', '6s'))
    await waitFor(async () => (await connectedPeers(b)).includes(kId), 10_000, 'K to reach B')
    // The only admin goes away: K cannot renew, and its certificate runs out.
    await a.stop()
    await waitFor(async () => !(await connectedPeers(b)).includes(kId), 15_000, 'B to cut K off at expiry')
    expect((await b.json<MemberDoc[]>('federation', 'members')).find(m => m.peerId === kId)?.standing).toBe('expired')
    await k.stop()
    const k2 = await startDaemon({ name: 'k', open: false, dataDir: k.dataDir, args: ['--bootstrap', await b.address()] })
    await waitFor(async () => (await b.json<PeerDoc[]>('peers', '--all')).some(p => p.peerId === kId && p.membership === 'refused'), 10_000, 'B to refuse K after its restart')
    expect(await connectedPeers(b)).not.toContain(kId)
    await k2.stop()
  })
})
