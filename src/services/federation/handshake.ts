/**
 * `/fedmesh/federation/1.0.0`: one request and one response per stream, length-prefixed
 * protobuf (federation.proto). HELLO is how every connection between members starts; JOIN
 * redeems an invite; RENEW asks an admin for a fresh certificate. See protocols/federation.md.
 */
import { pbStream } from '@libp2p/utils'
import { Hello, Request, RequestType, Response, Roster, Status } from '../../wire/federation.js'
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { certificateWire, revocationWire, InvalidCredentialError } from './credentials.js'
import type { Federation } from './federation.js'
import type { Standing } from '../../core/federation/roster.js'
import type { AbortOptions, Stream } from '@libp2p/interface'

export const FEDERATION_PROTOCOL = '/fedmesh/federation/1.0.0'
/**
 * Largest frame before membership is proved (a Hello with 8 certificates, a join or renewal
 * answer): an outsider can make a node buffer this much per stream, no more.
 */
export const MAX_HANDSHAKE_FRAME_BYTES = 64 * 1024
/** Largest Roster frame (4,096 certificates and 4,096 revocations fit), read only from an accepted member. */
export const MAX_FEDERATION_FRAME_BYTES = 4 * 1024 * 1024
const MAX_MESSAGE_CHARS = 256

/** The other side refused us, or its credentials are not good enough for us. */
export class MembershipRefusedError extends Error {
  constructor (readonly status: Status, message: string) {
    super(message)
    this.name = 'MembershipRefusedError'
  }
}

/** A full Hello: root key and this node's certificate chain. */
export function helloOf (fed: Federation, now: number): Hello {
  return {
    rootKey: publicKeyToProtobuf(fed.identity.rootKey) as Uint8Array<ArrayBuffer>,
    chain: fed.selfChain().map(certificateWire),
    rosterDigest: fed.roster.digest() as Uint8Array<ArrayBuffer>,
    nowMs: now,
    federation: fed.identity.hash as Uint8Array<ArrayBuffer>
  }
}

/** The dialer's opening Hello: only which federation, no key, no certificate. */
function openingHelloOf (fed: Federation, now: number): Hello {
  return { rootKey: new Uint8Array(0), chain: [], rosterDigest: fed.roster.digest() as Uint8Array<ArrayBuffer>, nowMs: now, federation: fed.identity.hash as Uint8Array<ArrayBuffer> }
}

export function rosterOf (fed: Federation): Roster {
  return { certificates: fed.roster.certificates().map(certificateWire), revocations: fed.roster.revocations().map(revocationWire) }
}

/**
 * Check a peer's Hello: same federation, a chain that opens, and the Noise-authenticated peer
 * (`remote`) a member now. Its chain's certificates are kept (they are admin-signed facts).
 */
export async function checkHello (fed: Federation, hello: Hello | undefined, remote: string): Promise<Standing & { status: Status, why: string }> {
  if (hello == null) return { member: false, reason: 'unknown', status: Status.REFUSED, why: 'no hello' }
  if (!sameBytes(hello.rootKey, publicKeyToProtobuf(fed.identity.rootKey))) {
    return { member: false, reason: 'unknown', status: Status.NOT_MEMBER, why: 'a member of another federation' }
  }
  if (hello.chain.length === 0) return { member: false, reason: 'unknown', status: Status.NOT_MEMBER, why: 'no certificate' }
  await fed.acceptCertificates(hello.chain)
  const standing = fed.standing(remote)
  if (standing.member) return { ...standing, status: Status.OK, why: '' }
  return { ...standing, status: standing.reason === 'revoked' ? Status.REVOKED : Status.NOT_MEMBER, why: `certificate ${standing.reason}` }
}

/**
 * Exchange rosters when the digests differ: both sides send theirs, then read the other's. Only
 * between accepted members: Roster frames may be large.
 */
async function syncRosters (fed: Federation, small: ReturnType<typeof pbStream>, ours: Uint8Array, theirs: Uint8Array, options: AbortOptions): Promise<void> {
  if (sameBytes(ours, theirs)) return
  const pb = pbStream(small.unwrap(), { maxDataLength: MAX_FEDERATION_FRAME_BYTES })
  await pb.write(rosterOf(fed), Roster, options)
  const roster = await pb.read(Roster, options)
  await fed.acceptCertificates(roster.certificates)
  await fed.acceptRevocations(roster.revocations)
}

/**
 * The dialer's side of HELLO. The dialer names the federation only; the listener shows its
 * chain only to a dialer of the same federation; the dialer shows its own only once the
 * listener proved membership. So a peer that is not a member learns no key, name or role.
 * Resolves once both accepted each other (rosters reconciled); throws MembershipRefusedError
 * when either side refuses. `onAccepted` runs as soon as both accepted.
 */
export async function helloAsDialer (stream: Stream, fed: Federation, remote: string, now: number, onAccepted: () => void, options: AbortOptions): Promise<void> {
  const pb = pbStream(stream, { maxDataLength: MAX_HANDSHAKE_FRAME_BYTES })
  const opening = openingHelloOf(fed, now)
  await pb.write({ type: RequestType.HELLO, hello: opening, inviteSecret: new Uint8Array(0), name: '' }, Request, options)
  const res = await pb.read(Response, options)
  if (res.status !== Status.OK) throw new MembershipRefusedError(res.status, `refused by the peer: ${res.message.slice(0, MAX_MESSAGE_CHARS)}`)
  const checked = await checkHello(fed, res.hello, remote)
  if (!checked.member) throw new MembershipRefusedError(checked.status, checked.why)
  await pb.write(helloOf(fed, now), Hello, options)
  const verdict = await pb.read(Response, options)
  // A revoked node learns it from the first member that refuses it.
  if (verdict.status === Status.REVOKED && verdict.revocation != null) await fed.acceptRevocations([verdict.revocation])
  if (verdict.status !== Status.OK) throw new MembershipRefusedError(verdict.status, `refused by the peer: ${verdict.message.slice(0, MAX_MESSAGE_CHARS)}`)
  onAccepted()
  await syncRosters(fed, pb, opening.rosterDigest, res.hello?.rosterDigest ?? new Uint8Array(0), options)
  await stream.close(options)
}

export interface ListenerDeps {
  fed: Federation
  now: () => number
  /** Is the remote verified on this node already (RENEW needs it)? */
  isVerified: () => boolean
  /** The remote proved membership on this connection (HELLO accepted). */
  onAccepted: () => void
  /** The remote failed HELLO: the connection is refused. */
  onRefused: (why: string) => void
  /** A JOIN or RENEW issued certificates (to spread to the members). */
  onIssued: (chain: ReturnType<Federation['selfChain']>) => void
}

/** The listener's side: one request, one response (and for HELLO, the roster exchange). */
export async function serveFederationStream (stream: Stream, remote: string, deps: ListenerDeps, options: AbortOptions): Promise<void> {
  const { fed } = deps
  const pb = pbStream(stream, { maxDataLength: MAX_HANDSHAKE_FRAME_BYTES })
  const answer = async (status: Status, message: string, extra: Partial<Response> = {}): Promise<void> => {
    await pb.write({ status, message: message.slice(0, MAX_MESSAGE_CHARS), chain: [], rootKey: new Uint8Array(0), federationName: '', ...extra }, Response, options)
  }
  const req = await pb.read(Request, options)
  switch (req.type) {
    case RequestType.HELLO: {
      const refuse = async (status: Status, why: string, extra: Partial<Response> = {}): Promise<void> => {
        await answer(status, why, extra)
        // Closed gracefully first, so the refusal reaches the peer before its connection goes.
        await stream.close(options).catch(() => {})
        deps.onRefused(why)
      }
      // Only a dialer of this federation sees this node's chain.
      if (req.hello == null || !sameBytes(req.hello.federation, fed.identity.hash)) {
        await refuse(Status.NOT_MEMBER, 'a member of another federation (or none)')
        return
      }
      const ours = helloOf(fed, deps.now())
      await answer(Status.OK, '', { hello: ours })
      const theirs = await pb.read(Hello, options)
      const checked = await checkHello(fed, theirs, remote)
      if (!checked.member) {
        const rev = fed.roster.revocation(remote)
        await refuse(checked.status, checked.why, rev == null ? {} : { revocation: revocationWire(rev) })
        return
      }
      await answer(Status.OK, '')
      deps.onAccepted()
      await syncRosters(fed, pb, ours.rosterDigest, req.hello.rosterDigest, options)
      break
    }
    case RequestType.JOIN:
    case RequestType.RENEW: {
      if (!fed.isAdmin()) {
        await answer(Status.NOT_ADMIN, 'this peer cannot issue certificates')
        break
      }
      if (req.type === RequestType.RENEW && !deps.isVerified()) {
        await answer(Status.NOT_MEMBER, 'renewal is for members (say HELLO first)')
        break
      }
      try {
        const chain = req.type === RequestType.JOIN
          ? await fed.redeemInvite(req.inviteSecret, remote, req.name)
          : await fed.renewFor(remote)
        await answer(Status.OK, '', {
          chain: chain.map(certificateWire),
          rootKey: publicKeyToProtobuf(fed.identity.rootKey) as Uint8Array<ArrayBuffer>,
          federationName: fed.identity.name
        })
        deps.onIssued(chain)
      } catch (err) {
        if (err instanceof InvalidCredentialError || (err as Error).name === 'InviteRefusedError' || (err as Error).name === 'NotAdminError') {
          await answer(req.type === RequestType.JOIN ? Status.INVITE_INVALID : Status.REFUSED, (err as Error).message)
        } else {
          throw err
        }
      }
      break
    }
    default:
      await answer(Status.REFUSED, 'unknown request')
  }
  await stream.close(options)
}

/** The asking side of JOIN or RENEW: the new certificate chain, and the federation it is of. */
export async function requestCertificate (stream: Stream, req: { type: RequestType, inviteSecret?: Uint8Array, name?: string }, options: AbortOptions): Promise<Response> {
  const pb = pbStream(stream, { maxDataLength: MAX_HANDSHAKE_FRAME_BYTES })
  await pb.write({ type: req.type, inviteSecret: (req.inviteSecret ?? new Uint8Array(0)) as Uint8Array<ArrayBuffer>, name: req.name ?? '' }, Request, options)
  const res = await pb.read(Response, options)
  await stream.close(options).catch(() => {})
  if (res.status !== Status.OK) throw new MembershipRefusedError(res.status, res.message.slice(0, MAX_MESSAGE_CHARS))
  return res
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((v, i) => v === b[i])
}
