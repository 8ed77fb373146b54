import { afterEach } from 'vitest'
import { createFederationNode } from '../../src/node/create-node.js'
import { FedStore } from '../../src/store/store.js'
import type { FederationNode } from '../../src/node/federation-node.js'
import type { FederationNodeConfig } from '../../src/node/config.js'

/**
 * Open-mesh nodes over @libp2p/memory for in-process tests (no mDNS, DHT or journal; the local
 * profile), started, and stopped with their stores closed after every test (newest first).
 * `defaults` apply to every node of the file; `over` to one.
 */
export function memoryNodes (name: string, defaults: Partial<FederationNodeConfig> = {}): (over?: Partial<FederationNodeConfig>) => Promise<FederationNode> {
  const stops: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop()
  })
  let n = 0
  return async (over = {}) => {
    const store = await FedStore.memory()
    const node = await createFederationNode({ open: true, store, transport: 'memory', listen: [`/memory/${name}-${process.pid}-${n++}`], mdns: false, dht: false, journal: false, profile: 'local', ...defaults, ...over })
    await node.start()
    stops.push(async () => { await node.stop(0); await store.close() })
    return node
  }
}
