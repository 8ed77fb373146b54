/**
 * Who may run an owner-configured command kind (config `tasks.<kind>.allow`). Entries:
 * - `self`: the node owner's own submissions (CLI, API, library) — the default, alone;
 * - `members`: any peer that may submit tasks here;
 * - a role (`submit`, `serve`, `cache-write`, `admin`): members holding it;
 * - a peer id: that peer.
 */
import { Role } from '../../core/federation/roles.js'
import type { RoleName } from '../../core/federation/roles.js'

export const DEFAULT_ALLOW = ['self'] as const

const ROLE_BITS: Record<RoleName, number> = { submit: Role.submit, serve: Role.serve, 'cache-write': Role.cacheWrite, admin: Role.admin }

/** Is `entry` well-formed (`self`, `members`, a role name, or something shaped like a peer id)? */
export function isValidAllowEntry (entry: string): boolean {
  return entry === 'self' || entry === 'members' || entry in ROLE_BITS || /^[1-9A-HJ-NP-Za-km-z]{46,60}$/.test(entry)
}

/** Does `allow` let `origin` ('local' or a peer id) run the kind? */
export function allowedBy (allow: readonly string[], origin: string, hasRole: (peer: string, role: number) => boolean): boolean {
  if (origin === 'local') return allow.includes('self')
  return allow.some(entry => entry === 'members' || entry === origin || (entry in ROLE_BITS && hasRole(origin, ROLE_BITS[entry as RoleName])))
}

/** Only the owner may run it: no peer needs to hear of it (it is not advertised). */
export function isSelfOnly (allow: readonly string[]): boolean {
  return allow.every(e => e === 'self')
}
