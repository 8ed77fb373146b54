import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Membership } from '../../../src/services/membership/membership.js'
import type { PeerId } from '@libp2p/interface'

/**
 * DHT walks of a node short of connections, under fake time: a walk that finds nobody new
 * doubles the gap to the next (up to a cap); a new peer or a lost one brings the usual pace back.
 */
const newPeer = async (): Promise<PeerId> => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))

function fakeComponents (self: PeerId): { components: any, events: EventTarget } {
  const events = new EventTarget()
  return {
    events,
    components: {
      peerId: self,
      events,
      logger: defaultLogger(),
      peerStore: { merge: async () => {}, get: async (id: PeerId) => ({ id, addresses: [] }), all: async () => [] },
      connectionManager: { getConnections: () => [], openConnection: async () => { throw new Error('connection refused') } }
    }
  }
}

describe('membership: DHT walks back off while they find nobody new', () => {
  let membership: Membership | undefined
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(async () => { await membership?.stop(); membership = undefined; vi.useRealTimers() })

  /** A started membership whose walks are timed; `answered(n)`: how many peers answer the n-th walk. */
  async function walking (maxWalkIntervalMs: number, answered: (n: number) => number): Promise<{ walks: number[], t0: number }> {
    const walks: number[] = []
    const { components } = fakeComponents(await newPeer())
    membership = new Membership(components, {
      tickMs: 60_000,
      walkIntervalMs: 15_000,
      maxWalkIntervalMs,
      walk: async () => { walks.push(Date.now()); return answered(walks.length) }
    })
    const t0 = Date.now()
    await membership.start()
    return { walks, t0 }
  }

  it('walks 1 s after start, then 3 and 7 s apart, then 15 s apart, doubling after each fruitless walk up to the cap', async () => {
    const { walks, t0 } = await walking(60_000, () => 0)
    await vi.advanceTimersByTimeAsync(11_000 + 15_000 + 30_000 + 60_000 + 60_000 + 1)
    // Then 15, 30 and 60 s apart (the cap), and 60 s again.
    expect(walks.map(t => t - t0)).toEqual(gaps([1_000, 3_000, 7_000, 15_000, 30_000, 60_000, 60_000]))
  })

  it('quick walks the DHT answered with nobody new count as fruitless: the gaps after them grow sooner', async () => {
    // The first walk finds the DHT empty (the bootstrap peer knows nobody yet); later ones are answered.
    const { walks, t0 } = await walking(300_000, (n) => n > 1 ? 2 : 0)
    await vi.advanceTimersByTimeAsync(11_000 + 60_000 + 120_000 + 1)
    // 1, 4 and 11 s as ever (a peer may join the bootstrap peer meanwhile), then two fruitless
    // answered walks behind: 60 s, then 120 s (without answers: 15, 30, 60 s).
    expect(walks.map(t => t - t0)).toEqual(gaps([1_000, 3_000, 7_000, 60_000, 120_000]))
  })

  it('a walk that finds a new peer keeps the usual pace; a lost peer brings it back', async () => {
    const walks: number[] = []
    const self = await newPeer()
    const { components, events } = fakeComponents(self)
    const found = await newPeer()
    let findOnNext = false
    membership = new Membership(components, {
      tickMs: 60_000,
      walkIntervalMs: 15_000,
      maxWalkIntervalMs: 120_000,
      walk: async () => {
        walks.push(Date.now())
        if (findOnNext) membership?.discovered({ id: found, multiaddrs: [multiaddr('/ip4/127.0.0.1/tcp/1')] }, 'dht')
        findOnNext = false
        return 0
      }
    })
    const t0 = Date.now()
    await membership.start()
    // 1, 4, 11 s; then fruitless walks 15, 30 and 60 s apart: the next one is due 120 s later.
    await vi.advanceTimersByTimeAsync(11_000 + 15_000 + 30_000 + 60_000 + 1)
    expect(walks.map(t => t - t0)).toEqual([1_000, 4_000, 11_000, 26_000, 56_000, 116_000])
    // The found peer disconnects: the mesh changed, the next walk comes at the usual pace.
    membership.discovered({ id: found, multiaddrs: [multiaddr('/ip4/127.0.0.1/tcp/1')] }, 'mdns')
    events.dispatchEvent(new CustomEvent('peer:disconnect', { detail: found }))
    const lostAt = Date.now()
    findOnNext = true
    await vi.advanceTimersByTimeAsync(15_000)
    expect(walks.slice(6).map(t => t - lostAt)).toEqual([15_000])
    // That walk found someone new: the next is 15 s later again, not 30.
    await vi.advanceTimersByTimeAsync(15_000)
    expect(walks.slice(7).map(t => t - lostAt)).toEqual([30_000])
  })
})

/** Walk times from the gaps between them. */
function gaps (between: number[]): number[] {
  let t = 0
  return between.map(g => (t += g))
}
