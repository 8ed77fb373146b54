import { noise } from '@chainsafe/libp2p-noise'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p, PrivateKey } from '@libp2p/interface'

/**
 * A stock libp2p peer built only from libp2p packages (no fedmesh code), for tests that play a
 * misbehaving or foreign peer against real daemons. Listens on 127.0.0.1 only.
 */
export async function createRawPeer (options: { signaturePolicy?: 'StrictSign' | 'StrictNoSign', privateKey?: PrivateKey } = {}): Promise<Libp2p<{ pubsub: GossipSub, identify: unknown, ping: unknown }>> {
  return createLibp2p({
    privateKey: options.privateKey,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false, globalSignaturePolicy: options.signaturePolicy ?? 'StrictSign' }) as any
    }
  }) as any
}

export { multiaddr }
