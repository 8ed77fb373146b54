import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ALL_ROLES } from '../../core/federation/roles.js'
import { HOUR } from '../../util/time.js'
import { federationIdentity, issueCertificate } from './credentials.js'
import type { FederationIdentity } from './credentials.js'
import type { FederationSeed } from './federation.js'
import type { PrivateKey } from '@libp2p/interface'

/**
 * A federation made in one process, its root key signing every member's certificate directly:
 * the simulation harness, benchmarks and tests start nodes in it (`createFederationNode({
 * federation: await fed.seedFor(key) })`) without invites.
 */
export interface LocalFederation {
  identity: FederationIdentity
  root: PrivateKey
  /** A seed for the node with this identity key: a root-signed certificate, every role unless told. */
  seedFor(key: PrivateKey, options?: { roles?: number, ttlMs?: number, name?: string, now?: number }): Promise<FederationSeed>
}

export async function localFederation (name = 'local federation'): Promise<LocalFederation> {
  const root = await generateKeyPair('Ed25519')
  const identity = federationIdentity(root.publicKey, name)
  return {
    identity,
    root,
    seedFor: async (key, options = {}) => {
      const subject = peerIdFromPrivateKey(key).toString()
      const now = options.now ?? Date.now()
      const cert = await issueCertificate(identity, root, undefined, {
        subject, name: options.name ?? subject.slice(-8), roles: options.roles ?? ALL_ROLES, issuedAt: now, expiresAt: now + (options.ttlMs ?? 24 * HOUR)
      })
      return { identity, chain: [cert] }
    }
  }
}
