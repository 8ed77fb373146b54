/**
 * Invite tokens: what `federation invite` prints and `federation join` takes. A token names the
 * federation and the inviter (peer id and addresses to reach it) and carries a 256-bit secret;
 * the inviter keeps only the secret's hash, marks it used on the first redemption, and the
 * joiner sends the secret only over a Noise channel to the peer id the token names.
 */
import { createHash, randomBytes } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { isValidRoleSet } from '../../core/federation/roles.js'

const PREFIX = 'fm1.'
const MAX_TOKEN_CHARS = 4096
const MAX_ADDRS = 8

export interface InviteToken {
  /** The federation id (federationIdentity().id). */
  federation: string
  /** The inviting admin's peer id. */
  inviter: string
  /** Where the inviter listens (multiaddrs ending in /p2p/<inviter>). */
  addrs: string[]
  /** 32 random bytes. */
  secret: Uint8Array
  roles: number
  expiresAt: number
}

export class InvalidInviteError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'InvalidInviteError'
  }
}

const tokenSchema = z.object({
  v: z.literal(1),
  fed: z.string().regex(/^[a-z2-7]{26}$/),
  inviter: z.string().min(1).max(128),
  addrs: z.array(z.string().max(512)).max(MAX_ADDRS),
  secret: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  roles: z.number().int().refine(isValidRoleSet),
  exp: z.number().int().positive()
}).strict()

export function newInviteSecret (): Uint8Array {
  return new Uint8Array(randomBytes(32))
}

export function secretHash (secret: Uint8Array): string {
  return createHash('sha256').update(secret).digest('hex')
}

export function encodeInviteToken (t: InviteToken): string {
  const json = JSON.stringify({ v: 1, fed: t.federation, inviter: t.inviter, addrs: t.addrs.slice(0, MAX_ADDRS), secret: Buffer.from(t.secret).toString('base64url'), roles: t.roles, exp: t.expiresAt })
  return PREFIX + Buffer.from(json).toString('base64url')
}

/** Parse a token a user pasted; every problem is one sentence. */
export function decodeInviteToken (text: string): InviteToken {
  const trimmed = text.trim()
  if (!trimmed.startsWith(PREFIX) || trimmed.length > MAX_TOKEN_CHARS) throw new InvalidInviteError('not a fedmesh invite token (it starts with "fm1.")')
  let parsed: z.infer<typeof tokenSchema>
  try {
    parsed = tokenSchema.parse(JSON.parse(Buffer.from(trimmed.slice(PREFIX.length), 'base64url').toString('utf8')))
  } catch {
    throw new InvalidInviteError('the invite token is damaged (copy it again, whole)')
  }
  try {
    peerIdFromString(parsed.inviter)
    for (const a of parsed.addrs) multiaddr(a)
  } catch {
    throw new InvalidInviteError('the invite token names an invalid peer id or address')
  }
  return {
    federation: parsed.fed,
    inviter: parsed.inviter,
    addrs: parsed.addrs,
    secret: new Uint8Array(Buffer.from(parsed.secret, 'base64url')),
    roles: parsed.roles,
    expiresAt: parsed.exp
  }
}
