import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Membership } from '../../../src/services/membership/membership.js'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { PeerId } from '@libp2p/interface'

/**
 * Re-dial by peer id: when the known addresses of a dropped peer fail, membership looks the peer
 * up (the DHT in a node) and dials what the lookup found, before its backoff would try again.
 */

const newPeer = async (): Promise<PeerId> => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
const OLD = multiaddr('/ip4/30.0.0.1/tcp/4102')
const NEW = multiaddr('/ip4/30.0.0.1/tcp/4103')

function fakeNode (self: PeerId, reachable: Multiaddr | (() => Multiaddr), hang?: Multiaddr) {
  const stored = new Map<string, Multiaddr[]>()
  const dials: string[][] = []
  const events = new EventTarget()
  return {
    dials,
    components: {
      peerId: self,
      events,
      logger: defaultLogger(),
      peerStore: {
        merge: async (id: PeerId, data: { multiaddrs?: Multiaddr[] }) => {
          const have = stored.get(id.toString()) ?? []
          stored.set(id.toString(), [...have, ...(data.multiaddrs ?? []).filter(a => !have.some(h => h.equals(a)))])
        },
        get: async (id: PeerId) => ({ id, addresses: (stored.get(id.toString()) ?? []).map(multiaddr => ({ multiaddr })) }),
        all: async () => []
      },
      connectionManager: {
        getConnections: () => [],
        openConnection: async (id: PeerId, options: { signal?: AbortSignal } = {}) => {
          const addrs = stored.get(id.toString()) ?? []
          dials.push(addrs.map(String))
          // An address that is a black hole: the dial hangs until it is aborted.
          if (hang != null && addrs.every(a => a.equals(hang))) {
            return await new Promise((_resolve, reject) => { options.signal?.addEventListener('abort', () => { reject(new Error('aborted')) }) })
          }
          if (addrs.some(a => a.equals(typeof reachable === 'function' ? reachable() : reachable))) return { remotePeer: id }
          throw new Error('connection refused')
        }
      }
    } as any
  }
}

describe('membership: re-dial by peer id', () => {
  let membership: Membership | undefined
  afterEach(async () => { await membership?.stop() })

  it('a failed dial to the old address leads to a lookup and a dial to the new one at once', async () => {
    const self = await newPeer()
    const restarted = await newPeer()
    const node = fakeNode(self, NEW)
    const lookup = vi.fn(async (peer: PeerId) => peer.equals(restarted) ? [NEW] : [])
    membership = new Membership(node.components, { lookup, tickMs: 60_000, redial: { minMs: 60_000, maxMs: 60_000 } })
    await membership.start()
    membership.discovered({ id: restarted, multiaddrs: [OLD] }, 'bootstrap')
    await vi.waitFor(() => { expect(membership?.get(restarted)?.connected).toBe(true) })
    expect(lookup).toHaveBeenCalledTimes(1)
    // The old address failed, then the lookup's address was dialled without waiting for the 60 s backoff.
    expect(node.dials).toEqual([[OLD.toString()], [OLD.toString(), NEW.toString()]])
  })

  it('a lookup that finds nothing new leaves the peer to its backoff (no dial-lookup loop)', async () => {
    const self = await newPeer()
    const gone = await newPeer()
    const node = fakeNode(self, NEW)
    const lookup = vi.fn(async () => [OLD])
    membership = new Membership(node.components, { lookup, tickMs: 60_000, redial: { minMs: 60_000, maxMs: 60_000 } })
    await membership.start()
    membership.discovered({ id: gone, multiaddrs: [OLD] }, 'bootstrap')
    await vi.waitFor(() => { expect(lookup).toHaveBeenCalledTimes(1) })
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(node.dials).toHaveLength(1)
    expect(membership.get(gone)?.connected).toBe(false)
  })
})

/**
 * A peer connected at OLD that goes away and comes back at NEW: membership on a clock the test
 * moves, its re-dial checks run by hand (dialDue), the lookup answering OLD until `back`.
 */
async function lostPeer (init: { redial: { minMs: number, maxMs: number }, lookupWindowMs?: number }) {
  const self = await newPeer()
  const peer = await newPeer()
  let reachable = OLD
  const node = fakeNode(self, () => reachable)
  const state = { now: 1_000, back: false }
  const lookup = vi.fn(async () => state.back ? [NEW] : [OLD])
  const m = new Membership(node.components, { ...init, lookup, tickMs: 3_600_000, clock: { now: () => state.now }, random: () => 0.5 })
  await m.start()
  m.discovered({ id: peer, multiaddrs: [OLD] }, 'bootstrap')
  await vi.waitFor(() => { expect(m.get(peer)?.connected).toBe(true) })
  reachable = NEW
  node.components.events.dispatchEvent(new CustomEvent('peer:disconnect', { detail: peer }))
  const dialDue = (): void => { (m as unknown as { dialDue: () => void }).dialDue() }
  return { m, peer, node, lookup, state, dialDue }
}

describe('membership: lookups between dials', () => {
  let membership: Membership | undefined
  afterEach(async () => { await membership?.stop() })

  it('a lost peer whose dials fail is looked up every 2 s between them, and dialled on its new port at once', async () => {
    // It went away at 1 s and is back on another port; the re-dial waits 7.5 s (10 s nominal, equal jitter).
    const { m, peer: restarted, node, lookup, state, dialDue } = await lostPeer({ redial: { minMs: 10_000, maxMs: 60_000 } })
    membership = m
    state.now = 8_500
    dialDue()
    await vi.waitFor(() => { expect(lookup).toHaveBeenCalledTimes(1) })
    // The next dial is 15 s away; lookups go on every 2 s meanwhile.
    state.now = 10_400
    dialDue()
    expect(lookup).toHaveBeenCalledTimes(1)
    state.back = true
    state.now = 10_500
    dialDue()
    await vi.waitFor(() => { expect(m.get(restarted)?.connected).toBe(true) })
    expect(lookup).toHaveBeenCalledTimes(2)
    expect(node.dials.at(-1)).toContain(NEW.toString())
  })

  it('stops looking once the window since the loss has passed', async () => {
    const { m, node, lookup, state, dialDue } = await lostPeer({ redial: { minMs: 1_000, maxMs: 600_000 }, lookupWindowMs: 10_000 })
    membership = m
    state.now = 1_750
    dialDue()
    await vi.waitFor(() => { expect(lookup).toHaveBeenCalledTimes(1) })
    await new Promise(resolve => setTimeout(resolve, 10))
    for (state.now = 3_750; state.now <= 11_000; state.now += 2_000) {
      dialDue()
      await new Promise(resolve => setTimeout(resolve, 5))
    }
    await vi.waitFor(() => { expect(lookup).toHaveBeenCalledTimes(5) })
    const calls = lookup.mock.calls.length
    const dials = node.dials.length
    for (state.now = 11_750; state.now <= 30_000; state.now += 2_000) {
      dialDue()
      await new Promise(resolve => setTimeout(resolve, 5))
    }
    await new Promise(resolve => setTimeout(resolve, 10))
    // Past the window, a lookup follows a failed dial only (the backoff's dials go on).
    expect(node.dials.length).toBeGreaterThan(dials)
    expect(lookup.mock.calls.length - calls).toBe(node.dials.length - dials)
  })
})

describe('membership: a lookup with new addresses during a hanging dial', () => {
  it('stops the dial to the old addresses and dials the new ones at once', async () => {
    const self = await newPeer()
    const peer = await newPeer()
    const node = fakeNode(self, NEW, OLD)
    const m = new Membership(node.components, { tickMs: 3_600_000, redial: { minMs: 60_000, maxMs: 60_000 } })
    try {
      await m.start()
      m.discovered({ id: peer, multiaddrs: [OLD] }, 'dht')
      await vi.waitFor(() => { expect(node.dials).toHaveLength(1) })
      // The dial to OLD hangs; a lookup (the NAT service's roster lookup, say) finds NEW meanwhile.
      await m.found({ id: peer, multiaddrs: [NEW] })
      await vi.waitFor(() => { expect(m.get(peer)?.connected).toBe(true) })
      expect(node.dials).toEqual([[OLD.toString()], [OLD.toString(), NEW.toString()]])
      // Giving way is not a failure of the peer: no backoff was charged.
      expect(m.get(peer)?.failures).toBe(0)
    } finally {
      await m.stop()
    }
  })
})
