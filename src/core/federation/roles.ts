/**
 * What a federation member may do. A certificate carries a set of roles as a bit set; every path
 * that acts for a remote peer checks the one it needs (CONTRACT.md "Federation").
 */

export const Role = {
  /** May ask other members to run tasks. */
  submit: 1,
  /** May be sent tasks and routed to. */
  serve: 2,
  /** May write and delete cache entries. */
  cacheWrite: 4,
  /** May invite, revoke and renew others' certificates. */
  admin: 8
} as const

export type RoleName = 'submit' | 'serve' | 'cache-write' | 'admin'

const BITS: Record<RoleName, number> = {
  submit: Role.submit,
  serve: Role.serve,
  'cache-write': Role.cacheWrite,
  admin: Role.admin
}

export const ALL_ROLES = Role.submit | Role.serve | Role.cacheWrite | Role.admin
/** What an invite grants unless asked otherwise. */
export const DEFAULT_INVITE_ROLES = Role.submit | Role.serve | Role.cacheWrite

export class InvalidRolesError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'InvalidRolesError'
  }
}

/** `submit,serve` → bit set. Unknown or empty names are an error naming them. */
export function parseRoles (text: string): number {
  let bits = 0
  const names = text.split(',').map(s => s.trim()).filter(s => s !== '')
  if (names.length === 0) throw new InvalidRolesError('no roles given (expected some of submit, serve, cache-write, admin)')
  for (const name of names) {
    const bit = BITS[name as RoleName]
    if (bit == null) throw new InvalidRolesError(`unknown role "${name}" (expected submit, serve, cache-write or admin)`)
    bits |= bit
  }
  return bits
}

/** Bit set → role names, in a stable order. */
export function roleNames (bits: number): RoleName[] {
  return (Object.keys(BITS) as RoleName[]).filter(name => (bits & BITS[name]) !== 0)
}

export function hasRole (bits: number, role: number): boolean {
  return (bits & role) === role
}

/** Only known bits: anything else in a certificate is refused. */
export function isValidRoleSet (bits: number): boolean {
  return Number.isInteger(bits) && bits >= 0 && (bits & ~ALL_ROLES) === 0
}
