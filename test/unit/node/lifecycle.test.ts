import { describe, expect, it } from 'vitest'
import { createFederationNode } from '../../../src/node/create-node.js'
import { FedStore } from '../../../src/store/store.js'

/** Handles of kinds a node could leak (timers, sockets, servers); vitest's own are counted before. */
function handles (): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1
  return counts
}

describe('a federation node', () => {
  it('starts and stops idempotently and leaves no timers or sockets behind', async () => {
    const before = handles()
    const store = await FedStore.memory()
    const node = await createFederationNode({ store, transport: 'memory', listen: [`/memory/lifecycle-${process.pid}`], mdns: false, dht: true, journal: true })
    await node.start()
    await node.start()
    expect(node.isStarted()).toBe(true)
    expect(node.status().mode).toBe('solo')
    await node.run({ kind: 'echo', input: new TextEncoder().encode('"x"') })
    await node.cachePut('k', 'v')
    await node.stop()
    await node.stop()
    await store.close()
    // libp2p's address manager debounces a peer-store update for up to a second after stop;
    // anything still there after that is a leak.
    const kinds = ['Timeout', 'TCPServerWrap', 'TCPSocketWrap', 'UDPWrap']
    await expect.poll(() => kinds.filter(k => (handles()[k] ?? 0) > (before[k] ?? 0)), { timeout: 3_000, interval: 100 }).toEqual([])
  })
})
