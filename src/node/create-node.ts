import { createLibp2p } from 'libp2p'
import { membership } from '../services/membership/index.js'
import { loadOrCreateIdentity } from '../store/identity.js'
import { PROFILES } from './config.js'
import { FederationNode } from './federation-node.js'
import { libp2pOptions } from './libp2p-options.js'
import type { FedServices } from './federation-node.js'
import type { FederationNodeConfig } from './config.js'
import type { Libp2p } from '@libp2p/interface'

const DEFAULT_LISTEN = ['/ip4/127.0.0.1/tcp/0']

/**
 * Compose a federation node: libp2p with fedmesh's services over one store. The node is created
 * stopped; `start()` it. The daemon, the tests and the simulation harness all build nodes here,
 * so what they exercise is the same code.
 */
export async function createFederationNode (config: FederationNodeConfig): Promise<FederationNode> {
  const profile = PROFILES[config.profile ?? 'lan']
  const limits = { ...profile.limits, ...config.limits }
  const privateKey = config.privateKey ?? await loadOrCreateIdentity(config.store.sublevel('identity'))
  const clock = config.clock ?? { now: () => Date.now() }
  const random = config.random ?? Math.random

  const libp2p = await createLibp2p(libp2pOptions({
    privateKey,
    datastore: config.store.datastore,
    listen: config.listen ?? DEFAULT_LISTEN,
    bootstrap: config.bootstrap ?? [],
    mdns: config.mdns === false ? false : { ...profile.mdns, ...config.mdnsOptions },
    dht: config.dht ?? true,
    transport: config.transport ?? 'tcp',
    limits,
    metricsRegistry: config.metricsRegistry,
    logger: config.logger,
    services: {
      membership: membership({ ...profile.membership, ...config.membership, clock, random })
    }
  }) as any, ) as unknown as Libp2p<FedServices>

  return new FederationNode({
    libp2p,
    store: config.store,
    name: config.name ?? libp2p.peerId.toString().slice(-8),
    clock
  })
}
