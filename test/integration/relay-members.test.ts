import { noise } from '@chainsafe/libp2p-noise'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterAll, describe, expect, it } from 'vitest'
import { startDaemon, stopAll, waitFor } from '../helpers/daemon.js'
import type { Libp2p } from '@libp2p/interface'

/**
 * A relay serves members only: a stock libp2p node (no certificate) asks a private daemon that
 * runs `--relay` for a reservation and is refused; the same node gets one from an open-mesh relay
 * (the control: same request, only the membership differs). Loopback only.
 */

const nodes: Libp2p[] = []

afterAll(async () => {
  await Promise.all(nodes.map(async n => { await n.stop() }))
  await stopAll()
})

async function outsider (): Promise<Libp2p> {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() }
  })
  nodes.push(node)
  return node
}

/** Ask `relay` for a reservation by listening on a circuit address through it. */
async function reserve (node: Libp2p, relay: string): Promise<void> {
  const transports = (node as unknown as { components: { transportManager: { listen(a: unknown[]): Promise<void> } } }).components.transportManager
  await transports.listen([multiaddr(`${relay}/p2p-circuit`)])
}

const hasCircuitAddress = (node: Libp2p): boolean => node.getMultiaddrs().some(a => a.toString().includes('/p2p-circuit'))

describe('relay for members only', () => {
  it('a private relay refuses a non-member reservation; an open-mesh relay grants the same request', async () => {
    const [privateRelay, openRelay] = await Promise.all([
      startDaemon({ name: 'private-relay', open: false, args: ['--relay'] }),
      startDaemon({ name: 'open-relay', args: ['--relay'] })
    ])
    const refused = await outsider()
    await expect(reserve(refused, await privateRelay.address())).rejects.toThrow()
    expect(hasCircuitAddress(refused)).toBe(false)
    expect((await privateRelay.json<{ relay?: { serving?: { reservations: number } } }>('status')).relay?.serving?.reservations).toBe(0)

    const granted = await outsider()
    await reserve(granted, await openRelay.address())
    await waitFor(() => hasCircuitAddress(granted), 10_000, 'a reservation on the open-mesh relay')
    expect((await openRelay.json<{ relay?: { serving?: { reservations: number } } }>('status')).relay?.serving?.reservations).toBe(1)
  })
})
