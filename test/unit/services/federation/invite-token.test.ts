import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DEFAULT_INVITE_ROLES } from '../../../../src/core/federation/roles.js'
import { InvalidInviteError, decodeInviteToken, encodeInviteToken, newInviteSecret } from '../../../../src/services/federation/invite-token.js'

describe('invite tokens', () => {
  it('round-trip', async () => {
    const inviter = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const t = { federation: 'abcdefghijklmnopqrstuvwxyz', inviter, addrs: [`/ip4/127.0.0.1/tcp/4101/p2p/${inviter}`], secret: newInviteSecret(), roles: DEFAULT_INVITE_ROLES, expiresAt: 1_800_000_000_000 }
    expect(decodeInviteToken(encodeInviteToken(t))).toEqual(t)
    expect(decodeInviteToken(`  ${encodeInviteToken(t)}\n`)).toEqual(t)
  })

  it('anything else is one clear InvalidInviteError (property)', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => {
      expect(() => decodeInviteToken(s)).toThrow(InvalidInviteError)
      expect(() => decodeInviteToken(`fm1.${Buffer.from(s).toString('base64url')}`)).toThrow(InvalidInviteError)
    }), { numRuns: 300 })
  })
})
