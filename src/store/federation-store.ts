import { privateKeyFromProtobuf, privateKeyToProtobuf, publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { DURABLE } from './store.js'
import type { Sublevel } from './store.js'
import type { PrivateKey, PublicKey } from '@libp2p/interface'

/** A pending invite as its issuer keeps it: only the secret's hash is stored. */
export interface StoredInvite {
  /** Hex sha256 of the invite's secret. */
  secretHash: string
  roles: number
  expiresAt: number
  /** Lifetime of the certificate the invite grants, ms. */
  certificateTtlMs: number
  /** Set once redeemed: single use. */
  usedBy?: string
  usedAt?: number
}

/** What a node knows of its federation, as stored. */
export interface StoredFederation {
  rootKey: PublicKey
  name: string
  /** Only on the node that founded the federation. */
  rootPrivateKey?: PrivateKey
  certificates: Uint8Array[]
  revocations: Uint8Array[]
}

/** A certificate or revocation with the subject (and hash) it is stored under. */
export interface Keyed { subject: string, hash: string, bytes: Uint8Array }

const STATE = 'state'
const ROOT_PRIVATE = 'root-private-key'
const CERT = 'cert/'
const REV = 'rev/'
const INVITE = 'invite/'

/**
 * The `federation` sublevel: the federation's root key and name, the founder's root private key,
 * the roster (one certificate per subject, revocations) and pending invites. Revocations and
 * invite use are synced: forgetting either across a crash would let a revoked peer or a used
 * invite back in.
 */
export class FederationStore {
  constructor (private readonly db: Sublevel) {}

  async load (): Promise<StoredFederation | undefined> {
    const state = await this.db.get(STATE)
    if (state == null) return undefined
    const json = JSON.parse(new TextDecoder().decode(state)) as { rootKey: string, name: string }
    const priv = await this.db.get(ROOT_PRIVATE)
    return {
      rootKey: publicKeyFromProtobuf(Buffer.from(json.rootKey, 'base64')),
      name: json.name,
      rootPrivateKey: priv == null ? undefined : privateKeyFromProtobuf(priv),
      certificates: await this.values(CERT),
      revocations: await this.values(REV)
    }
  }

  /** Replace everything: a new federation (founded here or joined). */
  async replace (fed: Omit<StoredFederation, 'certificates' | 'revocations'> & { certificates: Keyed[], revocations: Keyed[] }): Promise<void> {
    // One batch: a crash leaves the old federation or the new one, never a mix.
    const batch = this.db.batch()
    for await (const key of this.db.keys()) batch.del(key)
    batch.put(STATE, new TextEncoder().encode(JSON.stringify({ rootKey: Buffer.from(publicKeyToProtobuf(fed.rootKey)).toString('base64'), name: fed.name })))
    if (fed.rootPrivateKey != null) batch.put(ROOT_PRIVATE, privateKeyToProtobuf(fed.rootPrivateKey))
    for (const c of fed.certificates) batch.put(`${CERT}${c.subject}/${c.hash}`, c.bytes)
    for (const r of fed.revocations) batch.put(`${REV}${r.subject}`, r.bytes)
    await batch.write(DURABLE)
  }

  async putCertificate (subject: string, hash: string, bytes: Uint8Array): Promise<void> {
    await this.db.put(`${CERT}${subject}/${hash}`, bytes)
  }

  async deleteCertificate (subject: string, hash: string): Promise<void> {
    await this.db.del(`${CERT}${subject}/${hash}`)
  }

  async putRevocation (subject: string, bytes: Uint8Array): Promise<void> {
    await this.db.put(`${REV}${subject}`, bytes, DURABLE)
  }

  async putInvite (invite: StoredInvite): Promise<void> {
    await this.db.put(`${INVITE}${invite.secretHash}`, new TextEncoder().encode(JSON.stringify(invite)), DURABLE)
  }

  async getInvite (secretHash: string): Promise<StoredInvite | undefined> {
    const bytes = await this.db.get(`${INVITE}${secretHash}`)
    return bytes == null ? undefined : JSON.parse(new TextDecoder().decode(bytes)) as StoredInvite
  }

  async invites (): Promise<StoredInvite[]> {
    return (await this.values(INVITE)).map(b => JSON.parse(new TextDecoder().decode(b)) as StoredInvite)
  }

  async deleteInvite (secretHash: string): Promise<void> {
    await this.db.del(`${INVITE}${secretHash}`)
  }

  private async values (prefix: string): Promise<Uint8Array[]> {
    const out: Uint8Array[] = []
    for await (const value of this.db.values({ gte: prefix, lt: `${prefix}\xff` })) out.push(value)
    return out
  }
}
