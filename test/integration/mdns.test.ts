import { afterAll, describe, expect, it } from 'vitest'
import { startDaemon, stopAll, waitFor } from '../helpers/daemon.js'
import { createLoopbackNamespace, netnsUnavailableReason } from '../helpers/netns.js'

interface PeerDoc { peerId: string, connected: boolean, discoveredVia: string[] }

const unavailable = netnsUnavailableReason()
const ns = unavailable == null ? createLoopbackNamespace(`fm-mdns-${process.pid}`) : undefined

afterAll(async () => {
  await stopAll()
  ns?.destroy()
})

// mDNS multicasts: it runs only inside a namespace this test creates, never on a real interface.
describe.skipIf(unavailable != null)(`mDNS discovery inside a network namespace${unavailable != null ? ` (skipped: ${unavailable})` : ''}`, () => {
  it('two daemons with no bootstrap find and connect to each other', async () => {
    const prefix = ns!.prefix
    const [a, b] = await Promise.all([
      startDaemon({ name: 'a', mdns: true, prefix, args: ['--no-dht'] }),
      startDaemon({ name: 'b', mdns: true, prefix, args: ['--no-dht'] })
    ])
    const idB = await b.peerId()
    const ms = await waitFor(async () => {
      const peers = await a.json<PeerDoc[]>('peers')
      return peers.some(p => p.peerId === idB && p.connected)
    }, 15_000, 'A to connect to B over mDNS', 20)
    console.info(`[mdns] connected ${ms} ms after both daemons answered`)
    const viaA = (await a.json<PeerDoc[]>('peers')).find(p => p.peerId === idB)?.discoveredVia ?? []
    const idA = await a.peerId()
    const viaB = (await b.json<PeerDoc[]>('peers')).find(p => p.peerId === idA)?.discoveredVia ?? []
    expect([...viaA, ...viaB]).toContain('mdns')
  })
})
