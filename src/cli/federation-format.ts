import { defaultView, duration, formatPeers, renderTable, shortId } from './format.js'
import type { Column, View } from './table.js'
import type { PeerDoc } from '../node/documents.js'
import type { FederationStatusDoc, InviteDoc, JoinDoc, MemberDoc, RevokeDoc } from '../node/federation-api.js'

/** Human output of `fedmesh federation …` (pure, unit-tested with the other formatters). */

export function formatFederationStatus (s: FederationStatusDoc): string {
  if (s.open) return 'open mesh (--open): no federation; any peer that connects takes part'
  return [
    `federation   ${s.federationId} "${s.name}"`,
    `roles        ${s.roles.length > 0 ? s.roles.join(', ') : 'none'}${s.founder ? ' (founder: holds the root key)' : ''}`,
    `certificate  expires ${s.certificateExpiresAt ?? '-'}`,
    `members      ${s.members} known, ${s.connectedMembers} connected`,
    ...(s.problem != null ? [`problem      ${s.problem}`] : [])
  ].join('\n')
}

/** The one line `federation invite` prints is the JSON document: a person copies the token. */
export function formatInvite (i: InviteDoc): string {
  return JSON.stringify(i)
}

export function formatJoin (j: JoinDoc): string {
  return `joined federation ${j.federationId} "${j.name}" as ${j.roles.join(', ')} (certificate expires ${j.certificateExpiresAt})`
}

const MEMBER_COLUMNS: Column[] = [
  { head: 'PEER' },
  { head: 'NAME', flex: true },
  { head: 'ROLES', flex: true, min: 8 },
  { head: 'EXPIRES' },
  { head: 'STANDING', flex: true },
  { head: 'CONN' },
  { head: 'ISSUER', wide: true }
]

export function formatMembers (members: MemberDoc[], view: View = defaultView()): string {
  if (members.length === 0) return 'no members'
  return renderTable(MEMBER_COLUMNS, members.map(m => [
    view.wide ? m.peerId : shortId(m.peerId),
    m.name,
    m.roles.join(',') || '-',
    m.expiresAt === '' ? '-' : m.expiresAt.slice(0, 16).replace('T', ' '),
    m.revoked ? 'revoked' : m.standing,
    m.connected ? 'yes' : 'no',
    m.issuer === 'root' ? 'root' : m.issuer
  ]), view)
}

export function formatRevoke (r: RevokeDoc): string {
  return `${r.peerId} revoked at ${r.revokedAt}; members cut it off as they learn it`
}

/** `peers --all`: the members as `peers` shows them, then the peers refused at the boundary. */
const REFUSED_COLUMNS: Column[] = [
  { head: 'PEER' },
  { head: 'WHY', flex: true, min: 10 },
  { head: 'ATTEMPTS', align: 'right' },
  { head: 'LAST' }
]

export function formatPeersAll (peers: PeerDoc[], view: View = defaultView()): string {
  const refused = peers.filter(p => p.membership === 'refused')
  const members = formatPeers(peers.filter(p => p.membership !== 'refused'), view)
  if (refused.length === 0) return members
  return members + '\nrefused (not members):\n' + renderTable(REFUSED_COLUMNS, refused.map(p => [
    view.wide ? p.peerId : shortId(p.peerId), p.refusal?.reason ?? '-', p.refusal?.count ?? 0, p.lastSeenMs == null ? '-' : `${duration(p.lastSeenMs)} ago`
  ]), view)
}
