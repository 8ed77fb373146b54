import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { DURABLE } from './store.js'
import type { Sublevel } from './store.js'
import type { PrivateKey } from '@libp2p/interface'

const KEY = 'private-key'

/**
 * The node's Ed25519 identity: created once, then read back at every start so the peer id
 * survives restarts. Synced on write: losing it would silently change who this node is.
 */
export async function loadOrCreateIdentity (identity: Sublevel): Promise<PrivateKey> {
  const stored = await identity.get(KEY)
  if (stored != null) {
    return privateKeyFromProtobuf(stored)
  }
  const key = await generateKeyPair('Ed25519')
  await identity.put(KEY, privateKeyToProtobuf(key), DURABLE)
  return key
}
