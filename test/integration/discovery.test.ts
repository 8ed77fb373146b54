import { afterAll, describe, expect, it } from 'vitest'
import { startDaemon, stopAll, waitFor } from '../helpers/daemon.js'
import type { Daemon } from '../helpers/daemon.js'

interface PeerDoc { peerId: string, connected: boolean, discoveredVia: string[] }

afterAll(stopAll)

describe('discovery through bootstrap and the DHT (three daemons on 127.0.0.1)', () => {
  let a: Daemon, b: Daemon, c: Daemon

  it('C comes to know and connect to B when both know only A', async () => {
    a = await startDaemon({ name: 'a' })
    const addrA = await a.address()
    ;[b, c] = await Promise.all([
      startDaemon({ name: 'b', args: ['--bootstrap', addrA] }),
      startDaemon({ name: 'c', args: ['--bootstrap', addrA] })
    ])
    const idB = await b.peerId()
    const idA = await a.peerId()
    const ms = await waitFor(async () => {
      const peers = await c.json<PeerDoc[]>('peers')
      return peers.some(p => p.peerId === idB && p.connected)
    }, 15_000, 'C to connect to B')
    console.info(`[discovery] C connected to B through the DHT ${ms} ms after both answered`)

    const peersOfC = await c.json<PeerDoc[]>('peers')
    expect(peersOfC.find(p => p.peerId === idA)?.discoveredVia).toContain('bootstrap')
    const viaB = peersOfC.find(p => p.peerId === idB)?.discoveredVia ?? []
    // C learned of B from the DHT, or B (which found C the same way) dialled C first.
    expect(viaB.some(v => v === 'dht' || v === 'inbound')).toBe(true)
    const peersOfA = await a.json<PeerDoc[]>('peers')
    expect(peersOfA.filter(p => p.connected).every(p => p.discoveredVia.includes('inbound'))).toBe(true)
    expect(peersOfA.filter(p => p.connected)).toHaveLength(2)
  })

  it('re-dials a peer that went away once it is back, on its own', async () => {
    const idB = await b.peerId()
    const dataDirB = b.dataDir
    await b.stop()
    await waitFor(async () => {
      const peers = await c.json<PeerDoc[]>('peers')
      return peers.some(p => p.peerId === idB && !p.connected)
    }, 10_000, 'C to see B gone')
    // B comes back on the same identity but a new port; C finds it again (DHT/A) or B re-dials C.
    b = await startDaemon({ name: 'b', dataDir: dataDirB, args: ['--bootstrap', await a.address()] })
    expect(await b.peerId()).toBe(idB)
    await waitFor(async () => {
      const peers = await c.json<PeerDoc[]>('peers')
      return peers.some(p => p.peerId === idB && p.connected)
    }, 20_000, 'C to reconnect to B')
  })
})
