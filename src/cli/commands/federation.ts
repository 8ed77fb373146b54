import { printResult, withClientOptions } from '../output.js'
import { UsageError } from '../errors.js'
import { formatFederationStatus, formatInvite, formatJoin, formatMembers, formatRevoke } from '../federation-format.js'
import type { CommonOptions } from '../output.js'
import type { FederationStatusDoc, InviteDoc, JoinDoc, MemberDoc, RevokeDoc } from '../../node/federation-api.js'
import type { Command } from 'commander'

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 }

/** `90s`, `15m`, `24h`, `30d` (or plain seconds) → seconds. */
export function parseDuration (text: string, flag: string): number {
  const m = /^(\d+)\s*([smhd]?)$/.exec(text.trim())
  if (m == null || Number(m[1]) === 0) throw new UsageError(`${flag} must be a duration such as 90s, 15m, 24h or 30d`)
  return Number(m[1]) * UNITS[m[2] === '' ? 's' : m[2]]
}

export function registerFederationCommands (program: Command): void {
  const fed = program.command('federation').description('membership: who may take part, with which roles')
  withClientOptions(fed.command('status').description('this node\'s federation, roles and certificate'))
    .action(async (opts: CommonOptions) => {
      await printResult(opts, async c => c.request<FederationStatusDoc>('GET', '/v1/federation'), formatFederationStatus)
    })
  withClientOptions(fed.command('invite').description('create a single-use invite token (admins only); prints {token, expiresAt, roles}'))
    .option('--roles <roles>', 'roles the new member gets: some of submit, serve, cache-write, admin', 'submit,serve,cache-write')
    .option('--ttl <duration>', 'how long the invite may be redeemed (e.g. 30m, 24h)', '24h')
    .option('--cert-ttl <duration>', 'lifetime of the certificate it grants (renewed automatically while an admin is reachable)', '30d')
    .action(async (opts: CommonOptions & { roles: string, ttl: string, certTtl: string }) => {
      const body = { roles: opts.roles, ttlSeconds: parseDuration(opts.ttl, '--ttl'), certificateTtlSeconds: parseDuration(opts.certTtl, '--cert-ttl') }
      await printResult({ ...opts, json: true }, async c => c.request<InviteDoc>('POST', '/v1/federation/invites', body), formatInvite)
    })
  withClientOptions(fed.command('join <token>').description('redeem an invite: this node leaves its own federation and joins the inviter\'s'))
    .option('--force', 'join even if this node founded a federation that has other members (its root key is dropped)')
    .action(async (token: string, opts: CommonOptions & { force?: boolean }) => {
      await printResult(opts, async c => c.request<JoinDoc>('POST', '/v1/federation/join', { token, ...(opts.force === true ? { force: true } : {}) }), formatJoin)
    })
  withClientOptions(fed.command('members').description('every member this node knows: roles, expiry, standing'))
    .action(async (opts: CommonOptions) => {
      await printResult(opts, async c => c.request<MemberDoc[]>('GET', '/v1/federation/members'), formatMembers)
    })
  withClientOptions(fed.command('revoke <peerId>').description('revoke a member for good (admins only); every member cuts it off'))
    .action(async (peerId: string, opts: CommonOptions) => {
      await printResult(opts, async c => c.request<RevokeDoc>('POST', '/v1/federation/revocations', { peerId }), formatRevoke)
    })
}
